//go:build integration

package kafkatest

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestStalledNodeDoesNotFenceItself: a single node whose JVM gets no CPU
// for longer than 3s (here paused for 5s, as a loaded CI machine can
// starve it) must not fence itself on resuming. A fenced node takes every
// partition and the group coordinator offline: consumer members are
// evicted and their commits refused, which the fault suite's scenario 7
// once counted as 289 duplicates of a clean SIGTERM.
func TestStalledNodeDoesNotFenceItself(t *testing.T) {
	b := Start(t, Options{})
	b.Pause()
	time.Sleep(5 * time.Second) // scenario: the JVM is starved for 5s
	b.Resume()
	// After the resume the controller's session check and the node's own
	// heartbeat run; a produce that needs a leader proves the node is up.
	b.KcatProduce(t, "after-stall", []string{"a\t1"}, "-K", "\t")
	time.Sleep(3 * time.Second) // scenario: the node keeps running; a fencing would be logged by now
	log, err := os.ReadFile(b.logPath)
	if err != nil {
		t.Fatal(err)
	}
	if i := strings.Index(string(log), "Fencing broker"); i >= 0 {
		end := min(len(log), i+300)
		t.Fatalf("a 5s stall fenced the node: %s", log[i:end])
	}
}
