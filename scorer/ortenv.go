package scorer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/qegate/qegate/internal/native"
)

// The ONNX Runtime environment is process-wide. It is created by the first
// successful New and kept for the life of the process: ORT environments are
// cheap to keep, and tearing one down while another package (or a later
// Scorer) still needs it is a hazard. A failed attempt is not remembered, so
// a later New with a correct library path can still succeed.
var ortEnv struct {
	sync.Mutex
	lib string // library the environment was created from ("" = foreign)
}

// initORT initializes the environment from lib (or the default location).
func initORT(lib string) error {
	ortEnv.Lock()
	defer ortEnv.Unlock()
	if lib == "" {
		lib = native.ORTLibrary()
	}
	if ort.IsInitialized() {
		if lib != "" && ortEnv.lib != "" && !sameFile(lib, ortEnv.lib) {
			return fmt.Errorf("scorer: onnxruntime already initialized from %s, cannot switch to %s", ortEnv.lib, lib)
		}
		return nil
	}
	if lib == "" {
		return fmt.Errorf("scorer: onnxruntime library not found: set Config.ORTLibrary or $%s, or run `make native` (expects .cache/native/lib/libonnxruntime.so)", native.EnvORTLibrary)
	}
	if _, err := os.Stat(lib); err != nil {
		return fmt.Errorf("scorer: onnxruntime library: %w (set Config.ORTLibrary or $%s, or run `make native`)", err, native.EnvORTLibrary)
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("scorer: initialize onnxruntime from %s: %w", lib, err)
	}
	ortEnv.lib = lib
	return nil
}

func sameFile(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errors.Join(errA, errB) == nil && os.SameFile(sa, sb)
}
