package pipeline

import (
	"context"
	"time"
)

// batch groups items by size or deadline, whichever comes first.
func (e *Engine) batch(ctx context.Context, in <-chan *Item, out chan<- []*Item) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var cur []*Item
	flush := func() bool {
		if len(cur) == 0 {
			return true
		}
		select {
		case out <- cur:
			cur = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case it, ok := <-in:
			if !ok {
				timer.Stop()
				flush()
				return
			}
			if len(cur) == 0 {
				cur = make([]*Item, 0, e.cfg.BatchSize)
				timer.Reset(e.cfg.BatchWait)
			}
			cur = append(cur, it)
			if len(cur) >= e.cfg.BatchSize {
				timer.Stop()
				if !flush() {
					return
				}
			}
		case <-timer.C:
			if !flush() {
				return
			}
		}
	}
}
