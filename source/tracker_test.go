package source

import (
	"math/rand"
	"sync"
	"testing"
)

func TestTrackerOutOfOrderCompletion(t *testing.T) {
	tests := []struct {
		name    string
		offsets []int64
		done    []int64 // completion order
		want    []int64 // committable next offset after each completion
	}{
		{"in order", []int64{0, 1, 2}, []int64{0, 1, 2}, []int64{1, 2, 3}},
		{"reverse", []int64{0, 1, 2}, []int64{2, 1, 0}, []int64{0, 0, 3}},
		{"middle first", []int64{5, 6, 7, 8}, []int64{7, 5, 8, 6}, []int64{0, 6, 6, 9}},
		{"gaps from compaction", []int64{10, 14, 15, 20}, []int64{14, 10, 20, 15}, []int64{0, 15, 15, 21}},
		{"duplicate ack ignored", []int64{0, 1}, []int64{1, 1, 0}, []int64{0, 0, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker()
			acks := map[int64]func(){}
			for _, o := range tc.offsets {
				acks[o] = tr.Add(o)
			}
			for i, o := range tc.done {
				acks[o]()
				got, _ := tr.Committable()
				if got != tc.want[i] {
					t.Fatalf("after done(%d): committable = %d, want %d", o, got, tc.want[i])
				}
			}
			if n := tr.InFlight(); n != 0 {
				t.Fatalf("in flight after all done = %d", n)
			}
		})
	}
}

func TestTrackerCommitAdvance(t *testing.T) {
	tr := NewTracker()
	if _, adv := tr.Committable(); adv {
		t.Fatal("fresh tracker must have nothing to commit")
	}
	a := tr.Add(3)
	tr.Add(4)
	a()
	next, adv := tr.Committable()
	if next != 4 || !adv {
		t.Fatalf("got %d %v, want 4 true", next, adv)
	}
	tr.MarkCommitted(next)
	if _, adv := tr.Committable(); adv {
		t.Fatal("nothing new after MarkCommitted")
	}
}

func TestTrackerCancelAndClose(t *testing.T) {
	tr := NewTracker()
	a := tr.Add(1)
	tr.Add(2)
	tr.Cancel(2)
	select {
	case <-tr.Idle():
		t.Fatal("idle with offset 1 in flight")
	default:
	}
	a()
	select {
	case <-tr.Idle():
	default:
		t.Fatal("not idle after last ack")
	}
	b := tr.Add(3)
	if n := tr.Close(); n != 1 {
		t.Fatalf("Close returned %d in flight, want 1", n)
	}
	b() // after Close: no-op, no panic
	if !tr.Closed() {
		t.Fatal("Closed() false after Close")
	}
	if next, _ := tr.Committable(); next != 2 {
		t.Fatalf("watermark moved after close: %d", next)
	}
}

func TestTrackerRejectsOutOfOrderAdd(t *testing.T) {
	tr := NewTracker()
	tr.Add(5)
	ack := tr.Add(4) // caller bug: must not corrupt the watermark
	ack()
	if next, adv := tr.Committable(); adv || next != 0 {
		t.Fatalf("committable = %d %v after bogus ack", next, adv)
	}
}

// TestTrackerConcurrent acks from many goroutines in random order and checks
// the watermark never passes an unfinished offset.
func TestTrackerConcurrent(t *testing.T) {
	tr := NewTracker()
	const n = 5000
	acks := make([]func(), n)
	for i := range acks {
		acks[i] = tr.Add(int64(i))
	}
	order := rand.New(rand.NewSource(1)).Perm(n)
	var mu sync.Mutex
	doneSet := map[int]bool{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for k := w; k < n; k += 8 {
				i := order[k]
				mu.Lock()
				doneSet[i] = true
				mu.Unlock()
				acks[i]()
				next, _ := tr.Committable()
				mu.Lock()
				for o := int64(0); o < next; o++ {
					if !doneSet[int(o)] {
						mu.Unlock()
						t.Errorf("watermark %d passes unfinished offset %d", next, o)
						return
					}
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	if next, _ := tr.Committable(); next != n {
		t.Fatalf("final watermark %d, want %d", next, n)
	}
}

// FuzzTracker drives a tracker with a random sequence of adds (with gaps),
// acks in any order, repeated acks and cancels, and checks the committable
// watermark against a model: it never passes an unfinished offset and it
// covers every offset below the first unfinished one.
//
//	go test -run=^$ -fuzz=FuzzTracker -fuzztime=10s ./source
func FuzzTracker(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7})
	f.Add([]byte{0, 0, 0, 0x41, 0x42, 0x40, 0x80, 0x43})
	f.Add([]byte{0x10, 0x20, 0xc0, 0x30, 0x41, 0x41, 0x42, 0x43})
	f.Fuzz(func(t *testing.T, ops []byte) {
		tr := NewTracker()
		type entry struct {
			off        int64
			done, gone bool
			ack        func()
		}
		var es []*entry
		next := int64(100)
		for _, op := range ops {
			switch op >> 6 {
			case 0: // add, skipping op&7 offsets (compaction gaps)
				next += int64(op & 7)
				es = append(es, &entry{off: next, ack: tr.Add(next)})
				next++
			case 1, 2: // ack (maybe again)
				if len(es) > 0 {
					e := es[int(op&63)%len(es)]
					e.ack()
					if !e.gone {
						e.done = true
					}
				}
			case 3: // cancel the newest, if it was never acked
				if n := len(es); n > 0 && !es[n-1].done && !es[n-1].gone {
					tr.Cancel(es[n-1].off)
					es[n-1].gone = true
					es = es[:n-1]
				}
			}
			// Model: the watermark is the last offset of the done prefix.
			want := int64(-1)
			for _, e := range es {
				if !e.done {
					break
				}
				want = e.off
			}
			got, _ := tr.Committable()
			if want >= 0 && got != want+1 {
				t.Fatalf("after op %#x: committable %d, model %d", op, got, want+1)
			}
			for _, e := range es {
				if !e.done && got > e.off {
					t.Fatalf("watermark %d passes unfinished offset %d", got, e.off)
				}
			}
			inflight := 0
			for _, e := range es {
				if e.off >= got {
					inflight++
				}
			}
			if tr.InFlight() != inflight {
				t.Fatalf("in flight %d, model %d", tr.InFlight(), inflight)
			}
		}
	})
}

func TestTrackerHighWaterMark(t *testing.T) {
	tr := NewTracker()
	if tr.HighWaterMark() != -1 {
		t.Fatalf("high watermark %d before any fetch", tr.HighWaterMark())
	}
	for _, h := range []int64{10, 7, 12} { // a late, older answer never moves it back
		tr.SetHighWaterMark(h)
	}
	if tr.HighWaterMark() != 12 {
		t.Fatalf("high watermark %d, want 12", tr.HighWaterMark())
	}
}
