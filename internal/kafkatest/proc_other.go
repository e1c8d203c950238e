//go:build !linux

package kafkatest

import "syscall"

// sysProcAttr puts the broker in its own process group.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
