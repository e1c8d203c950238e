//go:build integration && linux

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFilterDiskFull fills a small tmpfs (root only; skipped otherwise):
// the filter exits non-zero saying so, every output ends with a whole
// line, and once there is room --resume completes the run.
func TestFilterDiskFull(t *testing.T) {
	dir := t.TempDir()
	inputs := filterCorpus(t, dir, 2000)
	mnt := filepath.Join(dir, "small")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v", err)
	}
	defer syscall.Unmount(mnt, 0)
	out := filepath.Join(mnt, "out")
	o, err := exec.Command(qegateBin, filterArgs(t, out, inputs)...).CombinedOutput()
	if err == nil || !strings.Contains(string(o), "no space left on device") || !strings.Contains(string(o), "--resume") {
		t.Fatalf("full disk: err %v\n%s", err, o)
	}
	for name, b := range dirBytes(t, out) {
		if strings.HasSuffix(name, ".jsonl") && len(b) > 0 && b[len(b)-1] != '\n' {
			t.Fatalf("%s ends with a torn line", name)
		}
	}
	// Make room: move the outputs to a real disk and resume there.
	moved := filepath.Join(dir, "moved")
	if err := os.Mkdir(moved, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range dirBytes(t, out) {
		if err := os.WriteFile(filepath.Join(moved, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if o, err := exec.Command(qegateBin, filterArgs(t, moved, inputs, "--resume")...).CombinedOutput(); err != nil {
		t.Fatalf("resume after the full disk: %v\n%s", err, o)
	}
	want := filepath.Join(dir, "want")
	if o, err := exec.Command(qegateBin, filterArgs(t, want, inputs)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted: %v\n%s", err, o)
	}
	exp, got := dirBytes(t, want), dirBytes(t, moved)
	for name, b := range exp {
		if !bytes.Equal(got[name], b) {
			t.Fatalf("%s differs after disk full + resume", name)
		}
	}
}
