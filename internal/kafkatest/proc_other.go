//go:build !linux

package kafkatest

import (
	"syscall"
	"time"
)

// sysProcAttr puts the broker in its own process group.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// waitStopped cannot see thread states without /proc: Pause stays
// asynchronous there.
func waitStopped(int, time.Duration) error { return nil }
