// Package native locates the native pieces qegate runs on: the ONNX Runtime
// shared library and the default model directory. `make build` bakes absolute
// paths in with -ldflags -X, so bin/qegate works without flags; tests and
// `go run` fall back to the repository's git-ignored .cache.
package native

import (
	"os"
	"path/filepath"
)

// Baked at build time with -ldflags "-X github.com/qegate/qegate/internal/native.ortLibrary=...".
// Empty when built without the Makefile.
var (
	ortLibrary      string
	defaultModelDir string
)

// Env names that override the baked paths.
const (
	EnvORTLibrary = "QEGATE_ORT_LIBRARY"
	EnvModelDir   = "QEGATE_MODEL_DIR"
)

// ORTLibrary returns the path of libonnxruntime.so: $QEGATE_ORT_LIBRARY, else
// the path baked in at build time, else .cache/native/lib/libonnxruntime.so
// in the enclosing repository. It returns "" when none exists.
func ORTLibrary() string {
	if p := os.Getenv(EnvORTLibrary); p != "" {
		return p
	}
	if ortLibrary != "" {
		if _, err := os.Stat(ortLibrary); err == nil {
			return ortLibrary
		}
	}
	if root := RepoRoot(); root != "" {
		p := filepath.Join(root, ".cache", "native", "lib", "libonnxruntime.so")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// DefaultModelDir returns the default model directory: $QEGATE_MODEL_DIR, else
// the path baked in at build time, else models/default in the enclosing
// repository. It returns "" when none exists.
func DefaultModelDir() string {
	if p := os.Getenv(EnvModelDir); p != "" {
		return p
	}
	if defaultModelDir != "" {
		if _, err := os.Stat(defaultModelDir); err == nil {
			return defaultModelDir
		}
	}
	if root := RepoRoot(); root != "" {
		p := filepath.Join(root, "models", "default")
		if _, err := os.Stat(filepath.Join(p, "model.json")); err == nil {
			return p
		}
	}
	return ""
}

// RepoRoot walks up from the working directory, then from the executable, to
// the first directory holding go.mod and models/; "" when there is none. It
// lets tests and `go run` find the cache without baked paths.
func RepoRoot() string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for d := dir; ; {
			if isRepo(d) {
				return d
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	return ""
}

func isRepo(d string) bool {
	if _, err := os.Stat(filepath.Join(d, "go.mod")); err != nil {
		return false
	}
	_, err := os.Stat(filepath.Join(d, "scorer"))
	return err == nil
}
