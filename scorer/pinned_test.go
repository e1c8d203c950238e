package scorer

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// A model.onnx renamed over the checked file between the check and ONNX
// Runtime's read must not be what loads: the session reads the pinned file.
func TestPinnedPathReadsTheCheckedFile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/self/fd is Linux's")
	}
	dir := t.TempDir()
	name := filepath.Join(dir, ModelFile)
	if err := os.WriteFile(name, []byte("checked"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	swap := filepath.Join(dir, "new.onnx")
	if err := os.WriteFile(swap, []byte("swapped in"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(swap, name); err != nil {
		t.Fatal(err)
	}
	p := pinnedPath(f, name)
	if p == name {
		t.Fatalf("pinnedPath returned the name %q, not the open file", p)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "checked" {
		t.Errorf("read %q through %s, want the checked file's bytes", got, p)
	}
}
