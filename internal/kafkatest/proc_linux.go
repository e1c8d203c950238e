package kafkatest

import "syscall"

// sysProcAttr puts the broker in its own process group and has the kernel
// kill it if the test binary dies first (a panic or `go test -timeout`), so
// no JVM outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
