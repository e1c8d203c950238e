package scorer

import (
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// TestGraphIOMatchesORT compares the protobuf walk with ONNX Runtime's own
// view of the models' inputs and outputs.
func TestGraphIOMatchesORT(t *testing.T) {
	newScorer(t, Config{}) // initializes ONNX Runtime
	dirs := []string{tinyDir, criticalDir}
	if d := defaultModelDir(); d != "" {
		dirs = append(dirs, d)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, ModelFile))
			if err != nil {
				t.Fatal(err)
			}
			ins, outs, err := graphIO(b)
			if err != nil {
				t.Fatal(err)
			}
			wantIns, wantOuts, err := ort.GetInputOutputInfoWithONNXData(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what string
				got  []valueInfo
				want []ort.InputOutputInfo
			}{{"inputs", ins, wantIns}, {"outputs", outs, wantOuts}} {
				if len(c.got) != len(c.want) {
					t.Fatalf("%s: %v, ORT %v", c.what, c.got, c.want)
				}
				for i, w := range c.want {
					g := c.got[i]
					if g.name != w.Name || g.elemType != uint64(w.DataType) || len(g.dims) != len(w.Dimensions) {
						t.Fatalf("%s %d: %v, ORT %v", c.what, i, g, w)
					}
					for j := range g.dims {
						if g.dims[j] != w.Dimensions[j] {
							t.Errorf("%s %d dim %d: %d, ORT %d", c.what, i, j, g.dims[j], w.Dimensions[j])
						}
					}
				}
			}
		})
	}
	if _, _, err := graphIO([]byte("not onnx")); err == nil {
		t.Error("graphIO(not onnx) succeeded")
	}
}
