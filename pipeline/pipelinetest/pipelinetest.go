// Package pipelinetest provides deterministic stand-ins for the model and a
// sink, for tests of the pipeline, the sources and the wiring that must not
// depend on ONNX Runtime. The real scorer is tested in package scorer and
// end to end in cmd/qegate.
package pipelinetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/qegate/qegate/internal/qe"
)

// FailSrc is the source text that makes LengthScorer fail the whole call,
// as a tokenizer or ORT error on one input would.
const FailSrc = "boom"

// LengthScorer scores a pair len(MT)/10 (capped at 1) against threshold
// 0.5, so tests choose the route with the MT's length: 5 bytes or more is
// acceptable. A call holding a pair whose Src is FailSrc fails as a whole.
// It is safe for concurrent use.
type LengthScorer struct {
	calls atomic.Int64
}

// Score implements pipeline.Scorer.
func (s *LengthScorer) Score(ctx context.Context, pairs []qe.Pair) ([]qe.Result, error) {
	s.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]qe.Result, len(pairs))
	for i, p := range pairs {
		if p.Src == FailSrc {
			return nil, errors.New("pipelinetest: bad input")
		}
		sc := min(float32(len(p.MT))/10, 1)
		out[i] = qe.Result{Score: sc, Threshold: 0.5, Acceptable: sc >= 0.5, Outputs: []float32{sc}}
	}
	return out, nil
}

// Calls returns how many Score calls were made.
func (s *LengthScorer) Calls() int64 { return s.calls.Load() }

// MemSink keeps written records in memory. FailFirst makes the first n
// writes fail as a whole (a broker outage); records for the topic Permanent
// fail with a *qe.PermanentError (a topic that refuses them). Records for
// the topic Missing fail with a *qe.MissingTopicError, the first
// MissingFor times when MissingFor > 0 (metadata lag), else always (a
// deleted topic). Records larger than MaxRecordBytes (key, value and
// headers, when > 0) fail permanently, as a topic's max.message.bytes
// does. It is safe for concurrent use.
type MemSink struct {
	FailFirst      int
	Permanent      string
	Missing        string
	MissingFor     int
	MaxRecordBytes int

	mu      sync.Mutex
	recs    []qe.Record
	refused int
}

func recordBytes(r qe.Record) int {
	n := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// Refused returns how many records MaxRecordBytes refused.
func (m *MemSink) Refused() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refused
}

// Write implements pipeline.Sink.
func (m *MemSink) Write(ctx context.Context, recs []qe.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.FailFirst > 0 {
		m.FailFirst--
		return errors.New("pipelinetest: broker unavailable")
	}
	errs := make(qe.WriteErrors, len(recs))
	failed := false
	for i, r := range recs {
		if m.Permanent != "" && r.Topic == m.Permanent {
			errs[i] = &qe.PermanentError{Err: errors.New("pipelinetest: record refused")}
			failed = true
			continue
		}
		if m.Missing != "" && r.Topic == m.Missing {
			if m.MissingFor <= 0 {
				errs[i] = &qe.MissingTopicError{Topic: r.Topic, Err: errors.New("pipelinetest: unknown topic")}
				failed = true
				continue
			}
			m.MissingFor--
			if m.MissingFor == 0 {
				m.Missing = "" // it exists from now on
			}
			errs[i] = &qe.MissingTopicError{Topic: r.Topic, Err: errors.New("pipelinetest: unknown topic")}
			failed = true
			continue
		}
		if n := recordBytes(r); m.MaxRecordBytes > 0 && n > m.MaxRecordBytes {
			errs[i] = &qe.PermanentError{Err: fmt.Errorf("pipelinetest: record of %d bytes too large", n)}
			m.refused++
			failed = true
			continue
		}
		m.recs = append(m.recs, r)
	}
	if failed {
		return errs
	}
	return nil
}

// Close implements pipeline.Sink.
func (m *MemSink) Close() error { return nil }

// Records returns a copy of what was written, in write order.
func (m *MemSink) Records() []qe.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]qe.Record(nil), m.recs...)
}

// ByTopic counts written records per destination.
func (m *MemSink) ByTopic() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for _, r := range m.recs {
		out[r.Topic]++
	}
	return out
}
