package testutil

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"testing/synctest"
	"time"
)

// recorder is a testing.TB whose Fatalf records the message and ends the
// goroutine, as testing.T's does.
type recorder struct {
	testing.TB
	fatal string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls WaitFor with r in a goroutine of its own (Fatalf ends it) and
// returns the bubble time WaitFor took.
func run(r *recorder, timeout time.Duration, cond func() error) time.Duration {
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		WaitFor(r, timeout, cond)
	}()
	<-done
	return time.Since(start)
}

func TestWaitFor(t *testing.T) {
	t.Run("returns once the condition holds", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r, calls := &recorder{TB: t}, 0
			took := run(r, time.Minute, func() error {
				if calls++; calls < 5 {
					return errors.New("not yet")
				}
				return nil
			})
			if r.fatal != "" || calls != 5 {
				t.Fatalf("fatal %q after %d calls", r.fatal, calls)
			}
			// Checks back off from 1ms: 1+2+4+8ms before the fifth.
			if took != 15*time.Millisecond {
				t.Fatalf("took %s, want 15ms", took)
			}
		})
	})
	t.Run("fails with the last state at the timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r, calls := &recorder{TB: t}, 0
			took := run(r, 10*time.Second, func() error {
				calls++
				return fmt.Errorf("routed %d of 9", calls)
			})
			if want := fmt.Sprintf("after 10s: routed %d of 9", calls); r.fatal != want {
				t.Fatalf("fatal %q, want %q", r.fatal, want)
			}
			if took != 10*time.Second {
				t.Fatalf("gave up after %s, want exactly the timeout", took)
			}
			// Backed off to 100ms: about a hundred checks in 10s, not 10,000.
			if calls > 110 {
				t.Fatalf("%d checks in 10s: no back-off", calls)
			}
		})
	})
	t.Run("a condition may stop the test itself", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r, calls := &recorder{TB: t}, 0
			run(r, time.Minute, func() error {
				if calls++; calls == 3 {
					r.Fatalf("process exited")
				}
				return errors.New("not yet")
			})
			if r.fatal != "process exited" || calls != 3 {
				t.Fatalf("fatal %q after %d calls", r.fatal, calls)
			}
		})
	})
}
