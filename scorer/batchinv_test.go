package scorer

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/qegate/qegate/internal/qe"
)

// batchInvTol bounds how far a pair's transformed outputs may move between
// its own run and a run of 32 rows, for a model marked batch_invariant:
// the int8 activation scales are fixed, so only float rounding in the
// kernels that depend on the run's shape remains (9.5e-7 on the raw outputs
// over 7,000 dev pairs, docs/compression.md section 4). A dynamically
// quantized model moves by ~0.3 here.
const batchInvTol = 1e-5

// TestBatchInvariance checks the promise of a model marked batch_invariant
// (both shipped models are): a pair scored inside a padded run of 32 rows,
// or in length-bucketed runs of up to 8, gets the outputs and the decision
// it gets alone.
func TestBatchInvariance(t *testing.T) {
	for _, name := range shippedModels {
		t.Run(name, func(t *testing.T) { checkBatchInvariance(t, shippedModelDir(name)) })
	}
}

func checkBatchInvariance(t *testing.T, dir string) {
	if dir == "" {
		t.Skip("repository root not found")
	}
	if _, err := os.Stat(filepath.Join(dir, ModelFile)); err != nil {
		t.Skipf("%s: no model yet", dir)
	}
	man, err := LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !man.BatchInvariant {
		t.Fatalf("%s: model.json is not batch_invariant (run qegate-train static-int8)", dir)
	}
	pairs := refPairs(readReference(t, filepath.Join(dir, "reference.jsonl")))
	alone := newScorer(t, Config{ModelDir: dir, Sessions: 1, IntraOpThreads: 1, MaxBatch: 1})
	// One run per 32 pairs, each padded to its longest row: nothing but
	// the row limit cuts the runs.
	wide := newScorer(t, Config{ModelDir: dir, Sessions: 1, IntraOpThreads: 1, MaxBatch: 32, MaxBatchTokens: -1})
	// Length-bucketed runs within the default token bound, as a gate
	// with model.max_batch 8 makes them.
	bucketed := newScorer(t, Config{ModelDir: dir, Sessions: 2, IntraOpThreads: 1, MaxBatch: 8})
	base, err := alone.Score(bg, pairs)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*Scorer{"32 rows per run": wide, "8 rows, 256 tokens per run": bucketed} {
		var got []qe.Result
		for i := 0; i < len(pairs); i += 32 { // the engine's batch
			res, err := s.Score(bg, pairs[i:min(i+32, len(pairs))])
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, res...)
		}
		worst := 0.0
		for i := range got {
			for j := range got[i].Outputs {
				d := math.Abs(float64(got[i].Outputs[j] - base[i].Outputs[j]))
				worst = max(worst, d)
				if d > batchInvTol {
					t.Errorf("%s: pair %d output %s: %v, alone %v", name, i, man.Outputs[j].Name, got[i].Outputs[j], base[i].Outputs[j])
				}
			}
			flagged := func(r qe.Result) bool { return r.Critical != nil && r.Critical.Flagged }
			if got[i].Acceptable != base[i].Acceptable || flagged(got[i]) != flagged(base[i]) {
				t.Errorf("%s: pair %d decided differently than alone", name, i)
			}
		}
		t.Logf("%s: %d pairs, max |d| on transformed outputs = %.3g", name, len(got), worst)
	}
}
