package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qegate/qegate/internal/bench"
)

// TestBenchQuickJSON runs the bench command on the tiny model in quick mode
// and checks the JSON shape, the report files and the peer handling. It
// asserts nothing about speed.
func TestBenchQuickJSON(t *testing.T) {
	evalNeedScorer(t)
	data := evalData(t)
	out := t.TempDir()
	md, png := filepath.Join(out, "BENCHMARKS.md"), filepath.Join(out, "bench.png")
	if err := os.WriteFile(md, []byte("old generated part\n"+bench.NotesMarker+"\nhand-written, keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := evalRun(t, newBenchCmd(), "--model", evalTinyModel, "--data", data, "--quick", "--json",
		"--peers", "unquantized,python_ort", "--unquantized", filepath.Join(evalTinyModel, "model.onnx"),
		"--python", filepath.Join(out, "no-such-python"), "--markdown", md, "--plot", png)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, stdout)
	}
	for _, k := range []string{"latency_ms_p50_batch1", "pairs_per_s", "e2e_pairs_per_s", "peak_rss_mb"} {
		if v, ok := r[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number", k, r[k])
		}
	}
	b1, _ := r["batch1"].(map[string]any)
	for _, k := range []string{"tokenize_ms_mean", "infer_ms_mean"} {
		if v, ok := b1[k].(float64); !ok || v <= 0 {
			t.Errorf("batch1.%s = %v, want a positive number", k, b1[k])
		}
	}
	if g, _ := r["grid"].([]any); len(g) < 2 {
		t.Errorf("grid has %d points, want several", len(g))
	}
	peers, _ := r["peers"].(map[string]any)
	uq, _ := peers["unquantized"].(map[string]any)
	if v, ok := uq["ratio"].(float64); !ok || v <= 0 {
		t.Errorf("peers.unquantized.ratio = %v, want a positive number (peer: %v)", uq["ratio"], uq)
	}
	py, _ := peers["python_ort"].(map[string]any)
	if py == nil || py["ratio"] != nil || !strings.Contains(py["error"].(string), "not available") {
		t.Errorf("peers.python_ort = %v, want ratio null and a 'not available' error", py)
	}
	b, err := os.ReadFile(md)
	if err != nil || !strings.Contains(string(b), "# Benchmarks") || !strings.Contains(string(b), "bench.png") ||
		!strings.Contains(string(b), "hand-written, keep me") || strings.Contains(string(b), "old generated part") {
		t.Errorf("markdown report: %v\n%s", err, b)
	}
	if st, err := os.Stat(png); err != nil || st.Size() == 0 {
		t.Errorf("plot: %v", err)
	}
}
