package scorer

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// criticalDir is the tiny model with the v2 outputs (z, da51, da70, hter,
// critical), built by `python -m qegate_train tiny-critical`.
const criticalDir = "testdata/critical"

func criticalManifestJSON(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(criticalDir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// outputNamed finds an output of a decoded model.json by name.
func outputNamed(t *testing.T, m map[string]any, name string) map[string]any {
	t.Helper()
	for _, o := range outputsOf(m) {
		if o := o.(map[string]any); o["name"] == name {
			return o
		}
	}
	t.Fatalf("model.json has no output %q", name)
	return nil
}

func TestParseManifestCritical(t *testing.T) {
	m, err := LoadManifest(criticalDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Outputs) != 5 || m.DefaultOutput != "da51" {
		t.Fatalf("outputs %d, default %q", len(m.Outputs), m.DefaultOutput)
	}
	c := m.Critical()
	if c == nil || c.Name != "critical" || c.Index != 4 || c.Kind != KindCritical || c.Transform != TransformSigmoid {
		t.Fatalf("Critical() = %+v", c)
	}
	if _, ok := c.Thresholds["en-de"]; !ok || c.Threshold("en-de") == c.Threshold("fr-en") {
		t.Fatalf("critical thresholds: en-de %v, default %v", c.Threshold("en-de"), c.Threshold("fr-en"))
	}
	if h := m.Output("hter"); h == nil || h.Index != 3 || h.Kind != KindRegression || h.Transform != TransformSigmoid {
		t.Fatalf("hter = %+v", h)
	}
	tiny, err := LoadManifest(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	if tiny.Critical() != nil {
		t.Fatal("the 3-output tiny model reports a critical output")
	}
}

func TestManifestCriticalValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(t *testing.T, m map[string]any)
		want   string
	}{
		{"second critical output", func(t *testing.T, m map[string]any) { outputNamed(t, m, "hter")["kind"] = "critical" },
			`a second output of kind "critical"`},
		{"critical without sigmoid", func(t *testing.T, m map[string]any) { outputNamed(t, m, "critical")["transform"] = "identity" },
			`kind "critical" needs transform "sigmoid"`},
		{"critical decides", func(t *testing.T, m map[string]any) { m["default_output"] = "critical"; m["head"] = "critical" },
			`default_output "critical" is the critical-error output`},
		{"critical threshold missing", func(t *testing.T, m map[string]any) { delete(outputNamed(t, m, "critical"), "default_threshold") },
			`("critical"): default_threshold is missing`},
		{"critical index out of range", func(t *testing.T, m map[string]any) { outputNamed(t, m, "critical")["index"] = 5 },
			`index 5 out of range [0, 5)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := criticalManifestJSON(t)
			tc.mutate(t, m)
			_, err := ParseManifest(mustJSON(t, m))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseManifest = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestScoreCritical: every result of a model with a critical output carries
// the sigmoid of its critical column (as onnxruntime computed it in Python),
// the pair's threshold from model.json, and Flagged = prob >= threshold;
// the reference pairs fall on both sides, so a constant verdict fails.
func TestScoreCritical(t *testing.T) {
	recs := readReference(t, filepath.Join(criticalDir, "reference.jsonl"))
	s := newScorer(t, Config{ModelDir: criticalDir})
	spec, ok := s.CriticalOutput()
	if !ok || spec.Name != "critical" {
		t.Fatalf("CriticalOutput() = %+v, %v", spec, ok)
	}
	res, err := s.Score(bg, refPairs(recs))
	if err != nil {
		t.Fatal(err)
	}
	flagged := 0
	for i, r := range res {
		c := r.Critical
		if c == nil {
			t.Fatalf("pair %d: no critical verdict", i)
		}
		want := float32(1 / (1 + math.Exp(-recs[i].Scores[4])))
		if !near(c.Prob, want, 1e-4) || c.Prob != r.Outputs[4] {
			t.Fatalf("pair %d: prob %v, reference %v, outputs[4] %v", i, c.Prob, want, r.Outputs[4])
		}
		if th := spec.Threshold(recs[i].LP); c.Threshold != th {
			t.Fatalf("pair %d (%s): threshold %v, model.json %v", i, recs[i].LP, c.Threshold, th)
		}
		if th, _ := s.CriticalThreshold(recs[i].LP); c.Threshold != th {
			t.Fatalf("pair %d: CriticalThreshold %v, result %v", i, th, c.Threshold)
		}
		if c.Flagged != (c.Prob >= c.Threshold) {
			t.Fatalf("pair %d: flagged %v with prob %v, threshold %v", i, c.Flagged, c.Prob, c.Threshold)
		}
		if c.Flagged {
			flagged++
		}
		// The decision is untouched by the critical output.
		if r.Acceptable != (r.Score >= r.Threshold) || r.Score != r.Outputs[0] {
			t.Fatalf("pair %d: decision %+v", i, r)
		}
	}
	if flagged == 0 || flagged == len(res) {
		t.Fatalf("%d of %d reference pairs flagged: want both verdicts", flagged, len(res))
	}

	// A model without a critical output gives no verdict.
	tiny := newScorer(t, Config{})
	if _, ok := tiny.CriticalOutput(); ok {
		t.Fatal("tiny model: CriticalOutput reports one")
	}
	if _, ok := tiny.CriticalThreshold("en-de"); ok {
		t.Fatal("tiny model: CriticalThreshold reports one")
	}
	tr, err := tiny.Score(bg, tinyPairs(t)[:3])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tr {
		if r.Critical != nil {
			t.Fatalf("tiny model: critical verdict %+v", r.Critical)
		}
	}
}

func TestCriticalThresholdOverride(t *testing.T) {
	pairs := refPairs(readReference(t, filepath.Join(criticalDir, "reference.jsonl")))[:8]
	for _, tc := range []struct {
		name string
		th   Thresholds
		want bool
	}{
		{"zero flags all", Thresholds{Default: 0}, true},
		{"above one flags none", Thresholds{Default: 1.01}, false},
		{"per pair beats default", Thresholds{Default: 1.01, ByLangPair: map[string]float32{"en-de": 0, "en-zh": 0, "et-en": 0, "ne-en": 0, "ro-en": 0, "ru-en": 0, "si-en": 0}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScorer(t, Config{ModelDir: criticalDir, CriticalThresholds: &tc.th})
			res, err := s.Score(bg, pairs)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.Critical.Flagged != tc.want {
					t.Fatalf("pair %d: flagged %v, want %v (%+v)", i, r.Critical.Flagged, tc.want, r.Critical)
				}
			}
		})
	}
}

func TestCriticalCannotDecide(t *testing.T) {
	requireORT(t)
	_, err := New(Config{ModelDir: criticalDir, Output: "critical"})
	if err == nil || !strings.Contains(err.Error(), "cannot decide acceptability") {
		t.Fatalf("New(Output: critical) = %v", err)
	}
}

// TestCriticalThresholdOverrides: model.critical_thresholds replaces single
// critical thresholds ("default" the default), leaving the others.
func TestCriticalThresholdOverrides(t *testing.T) {
	s := newScorer(t, Config{ModelDir: criticalDir, CriticalThresholdOverrides: map[string]float64{"EN-CS": 0.25, "default": 0.75}})
	th, ok := s.CriticalThresholds()
	man, err := LoadManifest(criticalDir)
	if err != nil {
		t.Fatal(err)
	}
	if !ok || th.For("en-cs") != 0.25 || th.For("fr-en") != 0.75 || th.For("en-de") != man.Critical().Threshold("en-de") {
		t.Fatalf("thresholds %+v, %v", th, ok)
	}
	if got, _ := s.CriticalThreshold("en-cs"); got != 0.25 {
		t.Fatalf("CriticalThreshold(en-cs) = %v", got)
	}
	if _, ok := newScorer(t, Config{CriticalThresholdOverrides: map[string]float64{"default": 0.1}}).CriticalThresholds(); ok {
		t.Fatal("the 3-output model reports critical thresholds")
	}
}
