package scorer

import (
	"bufio"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qegate/qegate/internal/qe"
)

// glassManifest is a three-output manifest shaped like the default model's
// (outputs da51, da70, z at ONNX columns 1, 2, 0).
func glassManifest(t *testing.T) *Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tinyDir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGlassboxCombine checks the linear layer on hand-computable cases:
// features are the raw columns of Inputs (here z, da51, da70) and the MT
// score standardised with the fit's mean and std.
func TestGlassboxCombine(t *testing.T) {
	m := glassManifest(t)
	inputs := []string{"z", "da51", "da70"}
	// raw ONNX columns: index 0 = z, 1 = da51 logit, 2 = da70 logit
	raw := []float32{-0.5, 0.25, -1.0}
	sig := func(v float64) float32 { return float32(1 / (1 + math.Exp(-v))) }
	tests := []struct {
		name     string
		outputs  map[string]GlassboxLinear
		mt       float64
		decision int // position in m.Outputs: 0 da51, 1 da70, 2 z
		want     []float32
		wantUsed bool
		wantTh   float32
	}{
		{
			name:    "identity weights reproduce the model",
			outputs: map[string]GlassboxLinear{"da51": {Weights: []float64{0, 1, 0, 0}, Threshold: 0.4}},
			mt:      -3, decision: 0,
			want:     []float32{sig(0.25), 0.7, 0.8},
			wantUsed: true, wantTh: 0.4,
		},
		{
			// 0.5 + 2*0.25 - 1*((-1 - -3) / 1) = -1
			name:    "logit plus standardised mt score",
			outputs: map[string]GlassboxLinear{"da51": {Weights: []float64{0, 2, 0, -1}, Bias: 0.5, Threshold: 0.3}},
			mt:      -1, decision: 0,
			want:     []float32{sig(-1), 0.7, 0.8},
			wantUsed: true, wantTh: 0.3,
		},
		{
			// z: identity transform; 0.1 + 1*(-0.5) + 0.5*((-2 - -3) / 1) = 0.1
			name:    "regression output stays linear",
			outputs: map[string]GlassboxLinear{"z": {Weights: []float64{1, 0, 0, 0.5}, Bias: 0.1}},
			mt:      -2, decision: 2,
			want:     []float32{0.6, 0.7, 0.1},
			wantUsed: true, wantTh: 0,
		},
		{
			name:    "decision output not covered",
			outputs: map[string]GlassboxLinear{"da70": {Weights: []float64{0, 0, 1, 0}, Threshold: 0.2}},
			mt:      -3, decision: 0,
			want:     []float32{0.6, sig(-1), 0.8},
			wantUsed: false,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &GlassboxFit{MTMean: -3, MTStd: 1, Outputs: tc.outputs}
			out := []float32{0.6, 0.7, 0.8} // the model's transformed outputs
			used, th := f.combine(m, inputs, raw, tc.mt, out, tc.decision)
			if used != tc.wantUsed || (used && th != tc.wantTh) {
				t.Fatalf("used %v threshold %v, want %v %v", used, th, tc.wantUsed, tc.wantTh)
			}
			for j := range out {
				if !near(out[j], tc.want[j], 1e-6) {
					t.Fatalf("outputs %v, want %v", out, tc.want)
				}
			}
		})
	}
}

// TestGlassboxValidation: a block that does not fit the manifest is refused
// when the model loads, not discovered on the first scored message.
func TestGlassboxValidation(t *testing.T) {
	ok := GlassboxFit{MTMean: -1, MTStd: 0.5, Outputs: map[string]GlassboxLinear{"da51": {Weights: []float64{0, 1, 0, 0}}}}
	tests := []struct {
		name    string
		g       Glassbox
		wantErr string
	}{
		{"valid", Glassbox{Inputs: []string{"z", "da51", "da70"}, Pairs: map[string]GlassboxFit{"en-de": ok}, Default: &ok}, ""},
		{"no inputs", Glassbox{Pairs: map[string]GlassboxFit{"en-de": ok}}, "inputs is empty"},
		{"unknown input", Glassbox{Inputs: []string{"z", "da51", "bleu"}}, `input "bleu" names no output`},
		{"wrong weight count", Glassbox{Inputs: []string{"z", "da51"}, Pairs: map[string]GlassboxFit{"en-de": ok}}, "has 4 weights, want 3"},
		{"zero std", Glassbox{Inputs: []string{"z", "da51", "da70"}, Default: &GlassboxFit{MTStd: 0, Outputs: ok.Outputs}}, "mt_std must be positive"},
		{"unknown output", Glassbox{Inputs: []string{"z", "da51", "da70"}, Pairs: map[string]GlassboxFit{"en-de": {MTStd: 1,
			Outputs: map[string]GlassboxLinear{"da90": {Weights: []float64{0, 0, 0, 1}}}}}}, `output "da90" names no output`},
		{"nan weight", Glassbox{Inputs: []string{"z", "da51", "da70"}, Pairs: map[string]GlassboxFit{"en-de": {MTStd: 1,
			Outputs: map[string]GlassboxLinear{"da51": {Weights: []float64{0, math.NaN(), 0, 1}}}}}}, "non-finite"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := glassManifest(t)
			m.Glassbox = &tc.g
			err := m.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// glassTinyDir copies the tiny model with a glassbox block for en-de (and,
// with pooled, a default fit) into a temporary model directory.
func glassTinyDir(t *testing.T, pooled bool) (string, *Glassbox) {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{ModelFile, TokenizerFile} {
		b, err := os.ReadFile(filepath.Join(tinyDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var doc map[string]any
	b, err := os.ReadFile(filepath.Join(tinyDir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	fit := GlassboxFit{MTMean: -0.8, MTStd: 0.4, Outputs: map[string]GlassboxLinear{
		"da51": {Weights: []float64{0.3, 1.2, -0.4, 0.9}, Bias: 0.2, Threshold: 0.55},
		"da70": {Weights: []float64{0.1, 0.2, 1.1, 0.7}, Bias: -0.3, Threshold: 0.35},
		"z":    {Weights: []float64{0.8, 0.1, 0.1, 0.3}, Bias: 0.05},
	}}
	g := &Glassbox{Feature: "mt_score", Inputs: []string{"z", "da51", "da70"}, Pairs: map[string]GlassboxFit{"en-de": fit}}
	if pooled {
		def := fit
		def.MTMean = -1.5
		g.Default = &def
	}
	doc["glassbox"] = g
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), mustJSON(t, doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, g
}

// TestScoreGlassbox scores real pairs with the tiny ONNX model with and
// without MT scores: without one (or without a fit for the pair) results
// are exactly the plain model's; with one they are the fit applied to the
// model's raw columns.
func TestScoreGlassbox(t *testing.T) {
	pairs := tinyPairs(t)
	plain := newScorer(t, Config{})
	want, err := plain.Score(bg, pairs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := plain.Encode(pairs)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := plain.infer(bg, b, false)
	if err != nil {
		t.Fatal(err)
	}
	mt := func(f float64) *float64 { return &f }
	for _, pooled := range []bool{false, true} {
		dir, g := glassTinyDir(t, pooled)
		s := newScorer(t, Config{ModelDir: dir})
		tests := []struct {
			name  string
			score func(i int) *float64
		}{
			{"no mt scores", func(int) *float64 { return nil }},
			{"every pair", func(i int) *float64 { return mt(-0.1 * float64(i)) }},
			{"non-finite mt scores are ignored", func(i int) *float64 {
				return mt([]float64{math.NaN(), math.Inf(1), math.Inf(-1)}[i%3])
			}},
			{"mixed batch", func(i int) *float64 {
				if i%2 == 0 {
					return nil
				}
				return mt(-2 + 0.05*float64(i))
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name+map[bool]string{false: "", true: " pooled"}[pooled], func(t *testing.T) {
				in := make([]qe.Pair, len(pairs))
				for i, p := range pairs {
					p.MTScore = tc.score(i)
					in[i] = p
				}
				got, err := s.Score(bg, in)
				if err != nil {
					t.Fatal(err)
				}
				for i, r := range got {
					fit := g.fit(in[i].LangPair())
					if !usableMT(in[i].MTScore) || fit == nil {
						if r.Glassbox || r.Score != want[i].Score || r.Threshold != want[i].Threshold {
							t.Fatalf("pair %d (%s, mt %v): %+v, want the plain model's %+v", i, in[i].LangPair(), in[i].MTScore, r, want[i])
						}
						continue
					}
					x := []float64{float64(raw[i][0]), float64(raw[i][1]), float64(raw[i][2]), (*in[i].MTScore - fit.MTMean) / fit.MTStd}
					l := fit.Outputs["da51"]
					v := l.Bias
					for k, w := range l.Weights {
						v += w * x[k]
					}
					if p := float32(1 / (1 + math.Exp(-v))); !r.Glassbox || !near(r.Score, p, 1e-6) || r.Threshold != l.Threshold {
						t.Fatalf("pair %d: glassbox %v score %v threshold %v, want true %v %v", i, r.Glassbox, r.Score, r.Threshold, p, l.Threshold)
					}
					if r.Acceptable != (r.Score >= l.Threshold) {
						t.Fatalf("pair %d: acceptable %v at score %v threshold %v", i, r.Acceptable, r.Score, l.Threshold)
					}
					if r.Outputs[0] != r.Score {
						t.Fatalf("pair %d: Outputs[0] %v differs from Score %v", i, r.Outputs[0], r.Score)
					}
				}
			})
		}
	}
}

// glassRef is one line of glassbox_reference.jsonl, written by
// `qegate-train glassbox --reference`: a dev pair, its MT score, the raw
// int8 outputs Python computed (batch 1) and the glass-box outputs.
type glassRef struct {
	Src      string             `json:"src"`
	MT       string             `json:"mt"`
	LP       string             `json:"lp"`
	MTScore  float64            `json:"mt_score"`
	Raw      []float64          `json:"raw"`
	Glassbox map[string]float64 `json:"glassbox"`
}

// TestGlassboxParity checks the Go scorer against the Python fit on the
// shipped model: the same pairs with their MT scores must give the outputs
// the recipe computed, and without MT scores the model's own.
func TestGlassboxParity(t *testing.T) {
	dir := defaultModelDir()
	if dir == "" {
		t.Skip("repository root not found")
	}
	path := filepath.Join(dir, "glassbox_reference.jsonl")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		if m, merr := LoadManifest(dir); merr == nil && m.Glassbox != nil {
			t.Fatalf("%s: model.json has a glassbox block but no glassbox_reference.jsonl to check it against", dir)
		}
		t.Skipf("%s: no glass-box block and no reference", dir)
	} else if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var refs []glassRef
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r glassRef
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		refs = append(refs, r)
	}
	if len(refs) == 0 {
		t.Fatalf("%s: no records", path)
	}
	s := newScorer(t, Config{ModelDir: dir, MaxBatch: 1})
	if s.Manifest().Glassbox == nil {
		t.Fatalf("%s has a glass-box reference but model.json has no glassbox block", dir)
	}
	pairs := make([]qe.Pair, len(refs))
	for i, r := range refs {
		src, tgt, _ := strings.Cut(r.LP, "-")
		mt := r.MTScore
		pairs[i] = qe.Pair{Src: r.Src, MT: r.MT, SrcLang: src, TgtLang: tgt, MTScore: &mt}
	}
	got, err := s.Score(bg, pairs)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, r := range got {
		if !r.Glassbox {
			t.Fatalf("record %d (%s): glassbox not applied", i, refs[i].LP)
		}
		for j, o := range s.Manifest().Outputs {
			want, ok := refs[i].Glassbox[o.Name]
			if !ok {
				continue
			}
			d := math.Abs(float64(r.Outputs[j]) - want)
			worst = max(worst, d)
			if d > 1e-4 {
				t.Errorf("record %d (%s) %s: Go %v, Python %v", i, refs[i].LP, o.Name, r.Outputs[j], want)
			}
		}
	}
	// The same pairs without an MT score: the model's own outputs.
	for i := range pairs {
		pairs[i].MTScore = nil
	}
	plain, err := s.Score(bg, pairs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range plain {
		o := s.Manifest().Outputs[s.decision]
		if want := float32(1 / (1 + math.Exp(-refs[i].Raw[o.Index]))); r.Glassbox || !near(r.Score, want, 1e-5) {
			t.Errorf("record %d without mt score: glassbox %v score %v, want false %v", i, r.Glassbox, r.Score, want)
		}
	}
	t.Logf("%s: %d glass-box records, max |Go - Python| = %.3g", dir, len(refs), worst)
}
