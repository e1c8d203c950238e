package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qegate/qegate/internal/qe"
)

// maxRetryBackoff caps the wait between delivery rounds: a sink that is
// down for minutes is retried every few seconds, not ever more rarely.
const maxRetryBackoff = 5 * time.Second

// write delivers every record: each round writes what is pending, and each
// record that failed is classified (classify) and either retried as it is,
// escalated (recover), or stops the engine. Rounds are separated by a
// doubling backoff. ok is false only on a hard stop, in which case nothing
// of the batch is acked.
func (e *Engine) write(ctx context.Context, outs []routed) bool {
	pending := make([]int, len(outs))
	for i := range pending {
		pending[i] = i
	}
	wait := backoff{next: e.cfg.RetryBackoff, max: maxRetryBackoff}
	// missingSince is when each record's topic was first reported unknown.
	missingSince := map[int]time.Time{}
	for len(pending) > 0 {
		recs := make([]qe.Record, len(pending))
		for j, i := range pending {
			recs[j] = outs[i].rec
		}
		err := e.sink.Write(ctx, recs)
		if err == nil {
			e.markKnown(recs)
			return true
		}
		e.metrics.SinkErrors.Inc()
		if ctx.Err() != nil {
			return false
		}
		werrs := perRecord(err, len(pending))
		next := pending[:0:0]
		for j, i := range pending {
			if werrs[j] == nil {
				e.markKnown([]qe.Record{outs[i].rec})
				continue
			}
			retry, ok := e.recover(ctx, outs, i, werrs[j], missingSince)
			if !ok {
				return false
			}
			if retry {
				next = append(next, i)
			}
		}
		e.log.Warn("sink write failed; retrying", "records", len(pending), "retrying", len(next), "err", err, "backoff", wait.next)
		pending = next
		if !wait.wait(ctx) {
			return false
		}
	}
	return true
}

// perRecord spreads a Write error over the n records written: the sink's
// own qe.WriteErrors when it returned them, else err for every record.
func perRecord(err error, n int) qe.WriteErrors {
	var werrs qe.WriteErrors
	if errors.As(err, &werrs) && len(werrs) == n {
		return werrs
	}
	werrs = make(qe.WriteErrors, n)
	for j := range werrs {
		werrs[j] = err
	}
	return werrs
}

// failure is what a failed write means for its record.
type failure int

const (
	// recoverable: a retry of the same record can succeed (a broker
	// restart, a leader election, a full queue).
	recoverable failure = iota
	// missingTopic: the broker does not know the topic
	// (qe.MissingTopicError); retried for MissingTopicTimeout.
	missingTopic
	// permanent: no retry of this record can succeed (qe.PermanentError,
	// e.g. too large); it is escalated.
	permanent
)

// classify sorts a record's write error.
func classify(err error) failure {
	switch {
	case qe.IsMissingTopic(err):
		return missingTopic
	case qe.IsPermanent(err):
		return permanent
	}
	return recoverable
}

// recover decides what becomes of record i after its write failed with
// err: retry it (as it is, or escalated to a dead letter), or consider it
// written (confirmed alone); ok is false when the engine must stop.
//
// A broker rejects a whole record batch (kafka-go fails a whole call for
// one unknown topic; a batch larger than message.max.bytes fails its
// batch-mates, with kafka-go also records of other workers' concurrent
// writes), so a missing topic or a permanent error is first confirmed on
// the record written alone.
func (e *Engine) recover(ctx context.Context, outs []routed, i int, err error, missingSince map[int]time.Time) (retry, ok bool) {
	class := classify(err)
	if class == recoverable {
		return true, true
	}
	alone := e.writeAlone(ctx, outs[i].rec)
	switch {
	case alone == nil:
		if class == missingTopic {
			e.markKnown([]qe.Record{outs[i].rec})
			delete(missingSince, i)
		}
		return false, true
	case ctx.Err() != nil:
		return false, false
	case classify(alone) != class:
		return true, true // anything else: the next round sorts it out
	case class == missingTopic:
		return true, e.missingTopic(outs, i, missingSince, alone)
	}
	return e.escalate(&outs[i], alone)
}

// escalate takes a record no retry can deliver one step down: to the
// dead-letter topic, then without its value, then without key and headers;
// when even that is refused the engine stops (ok false), unacked.
func (e *Engine) escalate(o *routed, cause error) (retry, ok bool) {
	switch {
	case o.rec.Route != qe.RouteDeadLetter:
		o.rec = e.router.DeadLetter(o.it, "cannot deliver to "+o.rec.Topic+": "+qe.Reason(cause))
	case !o.valueDropped && o.rec.Value != nil:
		// The dead-letter topic refuses the original value (a message
		// the input topic accepted can exceed the dead-letter topic's
		// max.message.bytes or the writer's batch size). Retrying it
		// forever would stall the partition: keep key, headers and
		// reason, drop the value, say so.
		reason := string(o.rec.Header(qe.HeaderError)) + fmt.Sprintf("; value of %d bytes dropped: ", len(o.rec.Value)) + qe.Reason(cause)
		o.rec = e.router.DeadLetter(o.it, reason)
		o.rec.Value, o.rec.Input = nil, nil
		o.valueDropped = true
	case !o.keyDropped:
		// Still refused without its value: the key or the headers are
		// too large (a record's size counts all three). Keep reason and
		// position, which identify the input message.
		o.rec = bareDeadLetter(o.rec, cause)
		o.valueDropped, o.keyDropped = true, true
	default:
		// The dead-letter topic refuses even a bare record of a few
		// hundred bytes (not authorised, invalid): no retry changes
		// that, and retrying forever would stall the partition unseen.
		// Stop, unacked: the input is redelivered once fixed.
		e.fail(fmt.Errorf("dead-letter topic %q refuses a bare record (%s); stopping with the record unacked", o.rec.Topic, qe.Reason(cause)))
		return false, false
	}
	return true, true
}

// backoff is the wait between delivery rounds, doubling up to max.
type backoff struct{ next, max time.Duration }

// wait sleeps the current backoff and doubles it; false when ctx ended.
func (b *backoff) wait(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(b.next):
	}
	b.next = min(2*b.next, b.max)
	return true
}

// oneWriter is a sink that can write a record in a request of its own
// (*sink.Kafka): its Write may batch records of concurrent calls together.
type oneWriter interface {
	WriteOne(ctx context.Context, rec qe.Record) error
}

// writeAlone writes rec so that an error concerns rec alone.
func (e *Engine) writeAlone(ctx context.Context, rec qe.Record) error {
	if ow, ok := e.sink.(oneWriter); ok {
		return unwrapOne(ow.WriteOne(ctx, rec))
	}
	return unwrapOne(e.sink.Write(ctx, []qe.Record{rec}))
}

// unwrapOne returns the error of a one-record Write, unwrapping the
// per-record qe.WriteErrors a sink may return.
func unwrapOne(err error) error {
	var werrs qe.WriteErrors
	if errors.As(err, &werrs) && len(werrs) == 1 {
		return werrs[0]
	}
	return err
}

// bareDeadLetter keeps only the reason and the input position of a dead
// letter, saying what was dropped.
func bareDeadLetter(rec qe.Record, cause error) qe.Record {
	hb := 0
	for _, h := range rec.Headers {
		if h.Key != qe.HeaderError && h.Key != qe.HeaderSource {
			hb += len(h.Key) + len(h.Value)
		}
	}
	reason := string(rec.Header(qe.HeaderError)) + fmt.Sprintf("; key of %d bytes and %d header bytes dropped: ", len(rec.Key), hb) + qe.Reason(cause)
	return qe.Record{Topic: rec.Topic, Seq: rec.Seq, Route: qe.RouteDeadLetter, LangPair: rec.LangPair,
		Verdict: qe.Verdict{Route: rec.Verdict.Route, Reason: reason, Source: rec.Verdict.Source},
		Headers: []qe.Header{
			{Key: qe.HeaderError, Value: []byte(reason)},
			{Key: qe.HeaderSource, Value: rec.Header(qe.HeaderSource)},
		}}
}
