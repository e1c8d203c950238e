// Package pipeline moves translation pairs from a [Source] through the QE
// [Scorer] to routed [Sink]s: message decoding, size-or-deadline batching,
// the worker pool ([Engine]), routing ([Router]) and the two-step shutdown
// ([Gate]).
//
// It depends on no cgo: the scorer and the Kafka source and sink are
// supplied through the small interfaces declared here, so this package, the
// sources and the sinks build and test with CGO_ENABLED=0.
//
// Ownership: whoever builds a Gate owns its Source, Engine and Sink and
// closes the Sink after Gate.Run returns; the Gate closes nothing. Each
// Item's ack travels with it from the source to the sink stage, which calls
// it only once the item's output is durably written.
package pipeline
