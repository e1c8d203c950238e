// Package sink provides the destinations routed records are written to:
// Kafka topics and JSON-lines files.
package sink

import "github.com/qegate/qegate/internal/qe"

// Record is one routed output. Topic is the already-expanded destination
// name: a Kafka topic for the Kafka sink, a file name stem for the file sink.
type Record struct {
	Topic   string
	Key     []byte
	Value   []byte
	Headers []qe.Header
	// Seq is the input item's feed position (pipeline.Item.Seq), so a sink
	// can write records in input order; the Kafka sink ignores it.
	Seq int64
}

// Header returns the value of the first header named key, or nil.
func (r Record) Header(key string) []byte {
	for _, h := range r.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}
