package pipeline

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/pipeline/pipelinetest"
)

// TestByteBudgetWakesOnRelease: an acquire that does not fit waits, is not
// woken by a release that still leaves too little, gets its bytes once
// enough are released, and gives up when its context ends.
func TestByteBudgetWakesOnRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newByteBudget(1000)
		ctx := context.Background()
		if b.acquire(ctx, 600) != nil || b.acquire(ctx, 300) != nil {
			t.Fatal("acquire within the budget failed")
		}
		got := make(chan error, 1)
		go func() { got <- b.acquire(ctx, 500) }()
		waiting := func() bool {
			synctest.Wait() // the waiter has run as far as it can
			select {
			case err := <-got:
				if err != nil {
					t.Fatalf("acquire: %v", err)
				}
				return false
			default:
				return true
			}
		}
		if !waiting() {
			t.Fatal("acquired 500 bytes with 100 free")
		}
		b.release(300)
		if !waiting() {
			t.Fatal("acquired 500 bytes with 400 free")
		}
		b.release(600)
		if waiting() {
			t.Fatal("still waiting with the whole budget free")
		}
		if n := b.inUse(); n != 500 {
			t.Fatalf("in use %d, want 500", n)
		}

		cctx, cancel := context.WithCancel(ctx)
		go func() { got <- b.acquire(cctx, 600) }()
		synctest.Wait()
		cancel()
		if err := <-got; err != context.Canceled {
			t.Fatalf("cancelled acquire returned %v", err)
		}
		if n := b.inUse(); n != 500 {
			t.Fatalf("in use %d after a cancelled acquire, want 500", n)
		}
	})
}

// stalledSink blocks every Write until open is closed, as a broker that
// stopped answering does.
type stalledSink struct {
	pipelinetest.MemSink
	open chan struct{}
}

func (s *stalledSink) Write(ctx context.Context, recs []qe.Record) error {
	select {
	case <-s.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.MemSink.Write(ctx, recs)
}

// TestAdmitBoundsBytesInFlight: with the sink stalled, the source can hand
// over only what fits in the byte budget (three items of ~960 bytes in
// 3000), then blocks; once the sink recovers everything is written and the
// budget is empty again.
func TestAdmitBoundsBytesInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &stalledSink{open: make(chan struct{})}
		r := NewRouter(RoutesConfig{Publish: "pub", PostEdit: "pe", DeadLetter: "dlq"}, qe.ModelID{Name: "m", Version: "1"})
		e := NewEngine(EngineConfig{BatchSize: 2, Workers: 4}, &pipelinetest.LengthScorer{}, r, s, nil, nil)
		queue := make(chan *Item, 64)
		budget := newByteBudget(3000)
		out, closeOut := admit(context.Background(), budget, queue)
		engineDone := make(chan struct{})
		go func() {
			defer close(engineDone)
			e.Run(context.Background(), queue)
		}()
		const n = 10
		var sent atomic.Int64
		fed := make(chan struct{})
		go func() {
			defer close(fed)
			dec := NewDecoder(DecoderConfig{})
			for i := 0; i < n; i++ {
				it := NewItem(Origin{"in", 0, int64(i)}, nil, []byte(pairJSON(strings.Repeat("a", 900), "long enough", "de")), nil, nil, nil)
				dec.Decode(it)
				out <- it
				sent.Add(1)
			}
		}()
		// Also on a failure: a goroutine left blocked fails the bubble.
		finish := sync.OnceFunc(func() {
			close(s.open)
			<-fed
			closeOut()
			<-engineDone
		})
		defer finish()
		synctest.Wait()
		// Three items hold 2,880 bytes; the fourth waits in admit for
		// room, so the source is blocked handing over the fifth.
		if got, used := sent.Load(), budget.inUse(); got != 4 || used > 3000 || used < 2000 {
			t.Fatalf("sink stalled: the source handed over %d items, %d bytes admitted; want 4 and at most 3000", got, used)
		}
		finish()
		if got := len(s.Records()); got != n {
			t.Fatalf("%d records written, want %d", got, n)
		}
		if used := budget.inUse(); used != 0 {
			t.Fatalf("%d bytes still held", used)
		}
	})
}
