package pipeline

import (
	"context"
	"sync"
)

// byteBudget is a counting semaphore over bytes: it bounds the bytes of
// items between the source and the sink, so memory under a stalled sink
// follows the configured size rather than a message count (1024 messages
// of 1 MiB are a GiB).
type byteBudget struct {
	mu   sync.Mutex
	cap  int64
	used int64
	wake chan struct{} // closed and replaced on every release
}

func newByteBudget(capacity int) *byteBudget {
	return &byteBudget{cap: int64(capacity), wake: make(chan struct{})}
}

// acquire waits until n bytes fit, or ctx ends. An item larger than the
// whole budget is admitted once nothing else is held, so it cannot wait
// forever.
func (b *byteBudget) acquire(ctx context.Context, n int64) error {
	for {
		b.mu.Lock()
		if b.used == 0 || b.used+n <= b.cap {
			b.used += n
			b.mu.Unlock()
			return nil
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}

// inUse returns the bytes held.
func (b *byteBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// admit returns the channel a source sends on and its close func: each item
// first takes its size from budget, which it gives back when the engine is
// done with it (written, dead-lettered or abandoned), then goes on to
// queue. The source blocks while the budget is spent. After a hard stop
// (ctx) items are dropped unacked, as the engine drops them then.
func admit(ctx context.Context, budget *byteBudget, queue chan<- *Item) (chan<- *Item, func()) {
	in := make(chan *Item)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(queue)
		for it := range in {
			n := int64(it.Size())
			if budget.acquire(ctx, n) != nil {
				continue
			}
			var once sync.Once
			it.release = func() { once.Do(func() { budget.release(n) }) }
			select {
			case queue <- it:
			case <-ctx.Done():
			}
		}
	}()
	return in, func() {
		close(in)
		<-done
	}
}
