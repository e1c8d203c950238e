package pipeline

import (
	"fmt"
	"time"

	"github.com/qegate/qegate/internal/qe"
)

// Origin says where an input message came from; it travels to the outputs
// as the qe-source header so downstream consumers can deduplicate.
type Origin struct {
	Topic     string
	Partition int
	Offset    int64
}

// String renders the origin as topic:partition:offset.
func (o Origin) String() string { return fmt.Sprintf("%s:%d:%d", o.Topic, o.Partition, o.Offset) }

// Item is one input message on its way through the pipeline. Its ack
// travels with it: the sink stage calls Ack only after the routed output
// is durably written, and only acked offsets are ever committed.
type Item struct {
	Origin  Origin
	Key     []byte
	Value   []byte
	Headers []qe.Header
	// Time is when the input was produced (the Kafka record's timestamp);
	// zero when unknown (files). It feeds the end-to-end latency metric.
	Time time.Time
	// Seq is the source's feed position (0, 1, 2, ... in input order) for
	// sinks that restore input order (the filter's ordered file sink); the
	// engine's workers finish items out of order. Kafka leaves it zero.
	Seq int64

	// ID is the message's id field as text ("" when absent).
	ID string
	// Pair is the decoded translation pair; valid only when Err is nil.
	Pair qe.Pair
	// Err is why the message is invalid; invalid messages go to the
	// dead-letter route unscored.
	Err error

	// langPair is the input's language pair for counting outputs
	// (qe.Record.LangPair), read even when the input is invalid.
	langPair string
	ack      func()
	alive    func() bool
	// release gives the item's bytes back to the gate's queue budget.
	release func()
}

// Size is what the item counts against pipeline.queue_bytes: key, value
// and headers as fetched.
func (it *Item) Size() int {
	n := len(it.Key) + len(it.Value)
	for _, h := range it.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// done tells the queue budget the engine is finished with the item.
func (it *Item) done() {
	if it.release != nil {
		it.release()
	}
}

// NewItem wraps a raw message with its ack; alive reports whether the
// message's partition is still owned (nil means always).
func NewItem(o Origin, key, value []byte, headers []qe.Header, ack func(), alive func() bool) *Item {
	return &Item{Origin: o, Key: key, Value: value, Headers: headers, ack: ack, alive: alive}
}

// Ack marks the item done. Safe to call more than once and from any
// goroutine.
func (it *Item) Ack() {
	if it.ack != nil {
		it.ack()
	}
}

// Alive reports whether the item's partition is still owned by this
// process; work for revoked partitions is abandoned, not written, because
// the new owner will process it again from the committed watermark.
func (it *Item) Alive() bool { return it.alive == nil || it.alive() }

// InputError is why a message cannot be scored; its text becomes the
// dead letter's qe-error header.
type InputError struct{ Reason string }

func (e *InputError) Error() string { return e.Reason }
