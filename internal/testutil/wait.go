// Package testutil holds what the tests of several packages share: the
// one way to wait for a condition (WaitFor) instead of hand-rolled
// deadline-and-sleep loops.
package testutil

import (
	"testing"
	"time"
)

// maxPoll bounds the wait between two checks: conditions that ask a
// broker or a server are not asked more than ten times a second.
const maxPoll = 100 * time.Millisecond

// WaitFor checks cond until it returns nil, and fails t with cond's last
// error once timeout has passed without that. cond runs on the calling
// goroutine, so it may itself call t.Fatal (e.g. when the process it
// watches has died). Checks start 1ms apart and back off to 100ms, so a
// condition that holds soon is seen soon. The timeout is a bound for a
// hung test, not a performance claim: pick it generous.
//
// Inside a testing/synctest bubble the waits are on the bubble's clock.
func WaitFor(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	poll := time.Millisecond
	for {
		err := cond()
		if err == nil {
			return
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
			return
		}
		timer := time.NewTimer(min(poll, time.Until(deadline)))
		<-timer.C
		poll = min(2*poll, maxPoll)
	}
}
