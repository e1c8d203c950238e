package scorer

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// parityTol is the largest allowed |Go - Python| on an output.
const parityTol = 1e-3

// TestParity checks the Go encoding and ONNX Runtime outputs against
// reference.jsonl, written by the Python recipe with onnxruntime: token ids
// must be identical and every raw output within 1e-3. The tiny test model
// and its 5-output sibling (testdata/critical) must always be present.
// models/default is checked once it exists: a
// default model without reference.jsonl, or one that disagrees, fails.
func TestParity(t *testing.T) {
	t.Run("tiny", func(t *testing.T) { checkParity(t, tinyDir) })
	t.Run("critical", func(t *testing.T) { checkParity(t, criticalDir) })
	for _, name := range shippedModels {
		t.Run(name, func(t *testing.T) {
			dir := shippedModelDir(name)
			if dir == "" {
				t.Skip("repository root not found")
			}
			_, errModel := os.Stat(filepath.Join(dir, ManifestFile))
			_, errRef := os.Stat(filepath.Join(dir, "reference.jsonl"))
			switch {
			case errors.Is(errModel, fs.ErrNotExist) && errors.Is(errRef, fs.ErrNotExist):
				t.Skipf("%s: no model yet", dir)
			case errors.Is(errRef, fs.ErrNotExist):
				t.Fatalf("%s holds a model but no reference.jsonl to check it against", dir)
			}
			checkParity(t, dir)
		})
	}
}

func checkParity(t *testing.T, dir string) {
	recs := readReference(t, filepath.Join(dir, "reference.jsonl"))
	// The recipe scores the reference at batch 1 (train/qegate_train/
	// reference.py): with dynamic int8 quantization, activation scales span
	// the whole padded batch, so only batch 1 is comparable (a
	// batch-invariant model is held to more in TestBatchInvariance).
	s := newScorer(t, Config{ModelDir: dir, MaxBatch: 1})
	problems, worst, err := parityProblems(s, recs)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range problems {
		if i == 10 {
			t.Errorf("... and %d more", len(problems)-10)
			break
		}
		t.Error(p)
	}
	t.Logf("%s: %d records, %d problems, max |d| = %.3g (ORT %s)", dir, len(recs), len(problems), worst, ortEnv.lib)

	// Not a parity criterion, but worth seeing: how far batch-16 scores (as
	// the pipeline's micro-batches produce) drift from batch-1 scores.
	s16 := newScorer(t, Config{ModelDir: dir, MaxBatch: 16})
	pairs := refPairs(recs)
	b1, err1 := s.Score(bg, pairs)
	b16, err16 := s16.Score(bg, pairs)
	if err := errors.Join(err1, err16); err != nil {
		t.Fatal(err)
	}
	var drift float64
	for i := range b1 {
		for j := range b1[i].Outputs {
			drift = max(drift, math.Abs(float64(b1[i].Outputs[j]-b16[i].Outputs[j])))
		}
	}
	t.Logf("%s: batch-16 vs batch-1 max |d| on transformed outputs = %.3g", dir, drift)
}

// parityProblems compares s with the reference records and describes every
// disagreement; worst is the largest raw-output difference.
func parityProblems(s *Scorer, recs []refRecord) (problems []string, worst float64, err error) {
	m := s.Manifest()
	pairs := refPairs(recs)
	b, err := s.Encode(pairs)
	if err != nil {
		return nil, 0, err
	}
	raw, err := s.infer(bg, b, false)
	if err != nil {
		return nil, 0, err
	}
	res, err := s.Score(bg, pairs)
	if err != nil {
		return nil, 0, err
	}
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for i, r := range recs {
		if got := b.TokenIDs(i); !slices.Equal(got, r.InputIDs) {
			bad("record %d (%s): input_ids differ\n go: %v\n py: %v", i, r.LP, got, r.InputIDs)
		}
		if len(r.Scores) != len(m.Outputs) {
			bad("record %d: %d scores, model.json lists %d outputs", i, len(r.Scores), len(m.Outputs))
			continue
		}
		for c, want := range r.Scores {
			d := math.Abs(float64(raw[i][c]) - want)
			if math.IsNaN(d) {
				d = math.Inf(1)
			}
			worst = max(worst, d)
			if d > parityTol {
				bad("record %d (%s): column %d: go %v, py %v (|d| = %.2g)", i, r.LP, c, raw[i][c], want, d)
			}
		}
		// Score must apply the manifest's transforms to those columns.
		for j, o := range m.Outputs {
			want := float32(r.Scores[o.Index])
			if o.Transform == TransformSigmoid {
				want = sigmoid(want)
			}
			if !near(res[i].Outputs[j], want, parityTol) {
				bad("record %d: output %s = %v, want %v", i, o.Name, res[i].Outputs[j], want)
			}
		}
	}
	return problems, worst, nil
}

// TestParityDetectsMismatch makes sure a disagreeing reference is reported.
func TestParityDetectsMismatch(t *testing.T) {
	s := newScorer(t, Config{})
	recs := readReference(t, filepath.Join(tinyDir, "reference.jsonl"))[:4]
	for _, tc := range []struct {
		name   string
		mutate func(r []refRecord)
	}{
		{"one id", func(r []refRecord) { r[1].InputIDs[3]++ }},
		{"one id dropped", func(r []refRecord) { r[2].InputIDs = r[2].InputIDs[:len(r[2].InputIDs)-1] }},
		{"score off by 2e-3", func(r []refRecord) { r[0].Scores[2] += 2e-3 }},
		{"score NaN", func(r []refRecord) { r[3].Scores[0] = math.NaN() }},
		{"too few scores", func(r []refRecord) { r[0].Scores = r[0].Scores[:2] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := make([]refRecord, len(recs))
			for i, r := range recs {
				r.InputIDs = slices.Clone(r.InputIDs)
				r.Scores = slices.Clone(r.Scores)
				c[i] = r
			}
			tc.mutate(c)
			problems, _, err := parityProblems(s, c)
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) == 0 {
				t.Fatal("mismatch not reported")
			}
		})
	}
	if problems, _, _ := parityProblems(s, recs); len(problems) != 0 {
		t.Fatalf("unmodified reference: %v", problems)
	}
}
