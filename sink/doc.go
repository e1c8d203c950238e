// Package sink provides the destinations routed records (qe.Record) are
// written to: Kafka topics and JSON-lines files.
package sink
