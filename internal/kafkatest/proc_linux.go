package kafkatest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// sysProcAttr puts the broker in its own process group and has the kernel
// kill it if the test binary dies first (a panic or `go test -timeout`), so
// no JVM outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// waitStopped waits until every thread of process pid is stopped (state T
// in /proc/<pid>/task/*/stat), or has exited, or the timeout passes.
func waitStopped(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		running, err := runningThreads(pid)
		if err != nil || running == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d: %d threads still running %s after SIGSTOP", pid, running, timeout)
		}
		time.Sleep(5 * time.Millisecond) // polling the kernel's view; nothing to wait on
	}
}

// runningThreads counts the threads of pid that are neither stopped nor
// exited. A process that is gone has none.
func runningThreads(pid int) (int, error) {
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread exited in between
		}
		if state, ok := threadState(b); ok && strings.IndexByte("TtZX", state) < 0 {
			n++
		}
	}
	return n, nil
}

// threadState is the state letter of a /proc stat line: the field after the
// command name, which is in parentheses and may itself hold ") ".
func threadState(stat []byte) (byte, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return 0, false
	}
	return stat[i+2], true
}
