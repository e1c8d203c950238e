package pipeline

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/pipeline/pipelinetest"
)

// sliceSource sends its items, then, once stopped, waits up to drain for
// their acks, as a Source must; it reports the unacked ones as dropped.
type sliceSource struct {
	values []string
	acked  atomic.Int64
	acks   chan struct{}
}

func (s *sliceSource) Run(stop context.Context, drain time.Duration, out chan<- *Item) (int, error) {
	dec := NewDecoder(DecoderConfig{})
	s.acks = make(chan struct{}, len(s.values))
	for i, v := range s.values {
		it := NewItem(Origin{"in", 0, int64(i)}, nil, []byte(v), nil, func() {
			s.acked.Add(1)
			s.acks <- struct{}{}
		}, nil)
		dec.Decode(it)
		select {
		case out <- it:
		case <-stop.Done():
			return len(s.values) - int(s.acked.Load()), nil
		}
	}
	<-stop.Done()
	deadline := time.After(drain)
	for int(s.acked.Load()) < len(s.values) {
		select {
		case <-s.acks:
		case <-deadline:
			return len(s.values) - int(s.acked.Load()), nil
		}
	}
	return 0, nil
}

// TestGateShutdown: on stop, a gate whose sink works drains as soon as the
// partial batch goes (BatchWait) and reports it; a gate whose sink is stalled waits exactly DrainTimeout (on
// the bubble's clock), then stops the engine, acks nothing it did not
// write and reports what it dropped.
func TestGateShutdown(t *testing.T) {
	values := []string{pairJSON("a", "long enough", "de"), pairJSON("a", "no", "de"), "garbage"}
	tests := []struct {
		name        string
		stalled     bool
		wantDrained bool
		wantDropped int
		wantTook    time.Duration
	}{
		{"sink works: drained once the partial batch is written", false, true, 0, 10 * time.Millisecond},
		{"sink stalled: stopped at the drain timeout", true, false, len(values), 7 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &stalledSink{open: make(chan struct{})}
				if !tc.stalled {
					close(s.open)
				}
				r := NewRouter(RoutesConfig{Publish: "pub", PostEdit: "pe", DeadLetter: "dlq"}, qe.ModelID{Name: "m", Version: "1"})
				src := &sliceSource{values: values}
				g := &Gate{
					Source:       src,
					Engine:       NewEngine(EngineConfig{BatchWait: 10 * time.Millisecond}, &pipelinetest.LengthScorer{}, r, s, nil, nil),
					QueueBytes:   1 << 20,
					DrainTimeout: 7 * time.Second,
				}
				stop, cancel := context.WithCancel(context.Background())
				type result struct {
					rep Report
					err error
				}
				done := make(chan result, 1)
				go func() {
					rep, err := g.Run(stop)
					done <- result{rep, err}
				}()
				synctest.Wait() // everything sent; written, or stuck in the sink
				stoppedAt := time.Now()
				cancel()
				res := <-done
				if took := time.Since(stoppedAt); took != tc.wantTook {
					t.Errorf("shutdown took %s, want %s", took, tc.wantTook)
				}
				if res.err != nil || res.rep.Drained != tc.wantDrained || res.rep.Dropped != tc.wantDropped {
					t.Errorf("report %+v, err %v; want drained %v, dropped %d", res.rep, res.err, tc.wantDrained, tc.wantDropped)
				}
				if got, want := int(src.acked.Load()), len(values)-tc.wantDropped; got != want || len(s.Records()) != want {
					t.Errorf("acked %d, written %d; want %d", got, len(s.Records()), want)
				}
			})
		})
	}
}
