package kafkatest

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestThreadState(t *testing.T) {
	tests := []struct {
		stat string
		want byte
		ok   bool
	}{
		{"1234 (java) S 1 1234 1234 0 -1", 'S', true},
		{"1234 (java) T 1 1234", 'T', true},
		{"77 (a) b) (c) R 1 77", 'R', true}, // a command name holding ") "
		{"1234 (java)", 0, false},
		{"garbage", 0, false},
	}
	for _, tt := range tests {
		got, ok := threadState([]byte(tt.stat))
		if got != tt.want || ok != tt.ok {
			t.Errorf("threadState(%q) = %q, %v; want %q, %v", tt.stat, got, ok, tt.want, tt.ok)
		}
	}
}

// TestWaitStopped: waitStopped returns once a SIGSTOPped process has
// stopped, and reports a process that was never stopped.
func TestWaitStopped(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep binary: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := cmd.Process.Pid

	if err := waitStopped(pid, 20*time.Millisecond); err == nil {
		t.Error("a sleeping, never stopped process passed for stopped")
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := waitStopped(pid, 30*time.Second); err != nil {
		t.Fatalf("stopped process: %v", err)
	}
	if n, err := runningThreads(pid); err != nil || n != 0 {
		t.Errorf("after waitStopped: %d threads running, err %v", n, err)
	}
}
