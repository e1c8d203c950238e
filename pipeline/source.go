package pipeline

import (
	"context"
	"time"
)

// Source feeds input items to a [Gate]. source.Kafka (a consumer group) and
// source.File (JSONL/TSV files) implement it.
//
// Run is called once. It sends items on out until stop is cancelled or its
// input ends. Then it drains: it waits, up to drain after stop (without a
// bound when the input simply ended), for the items it sent to be acked,
// records its progress (commits offsets, writes a checkpoint), and returns
// how many sent items were still unacked. Those were not recorded as done
// and are delivered again by the next run, so dropped never means lost.
// The engine keeps consuming out while Run drains; Run must not close out.
// Acks arrive from the engine's goroutines, so a source's ack funcs must be
// safe for concurrent use. A non-nil error means the source could not start
// or failed for good (not a stop).
type Source interface {
	Run(stop context.Context, drain time.Duration, out chan<- *Item) (dropped int, err error)
}
