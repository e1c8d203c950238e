package scorer

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qegate/qegate/internal/native"
	"github.com/qegate/qegate/internal/qe"
)

const tinyDir = "testdata/tiny"

// refRecord is one line of reference.jsonl, written by the Python recipe
// with onnxruntime: the pair, its encoding and the raw ONNX output row.
type refRecord struct {
	LP       string    `json:"lp"`
	Src      string    `json:"src"`
	MT       string    `json:"mt"`
	InputIDs []int64   `json:"input_ids"`
	Scores   []float64 `json:"scores"` // raw ONNX columns, before transforms
}

func (r refRecord) pair() qe.Pair {
	src, tgt, _ := strings.Cut(r.LP, "-")
	return qe.Pair{Src: r.Src, MT: r.MT, SrcLang: src, TgtLang: tgt}
}

func readReference(t testing.TB, path string) []refRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []refRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields() // a renamed field must not pass silently
		var r refRecord
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		if r.LP == "" || r.Src == "" || r.MT == "" || len(r.InputIDs) == 0 || len(r.Scores) == 0 {
			t.Fatalf("%s:%d: record lacks lp, src, mt, input_ids or scores", path, line)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s: no records", path)
	}
	return recs
}

func refPairs(recs []refRecord) []qe.Pair {
	ps := make([]qe.Pair, len(recs))
	for i, r := range recs {
		ps[i] = r.pair()
	}
	return ps
}

// defaultModelDir is models/default of this repository ("" when absent);
// QEGATE_MODEL_DIR is deliberately ignored so the test checks the shipped one.
func defaultModelDir() string { return shippedModelDir("default") }

// shippedModels are the model directories under models/ that the tests hold
// to their reference.jsonl and their batch_invariant promise.
var shippedModels = []string{"default", "l4"}

// shippedModelDir is models/<name> of this repository ("" when the root is
// not found).
func shippedModelDir(name string) string {
	root := native.RepoRoot()
	if root == "" {
		return ""
	}
	return filepath.Join(root, "models", name)
}

func requireORT(t testing.TB) {
	t.Helper()
	if native.ORTLibrary() == "" {
		t.Fatalf("libonnxruntime.so not found: run `make native` or set $%s", native.EnvORTLibrary)
	}
}

func newScorer(t testing.TB, cfg Config) *Scorer {
	t.Helper()
	requireORT(t)
	if cfg.ModelDir == "" {
		cfg.ModelDir = tinyDir
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func tinyPairs(t testing.TB) []qe.Pair {
	t.Helper()
	return refPairs(readReference(t, filepath.Join(tinyDir, "reference.jsonl")))
}

var bg = context.Background()

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
