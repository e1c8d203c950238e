package evaluate

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// fixture is metrics_fixture.json, written by testdata/gen_fixture.py with scipy
// and scikit-learn; null stands for NaN.
type fixture struct {
	Sklearn string `json:"sklearn"`
	Cases   []struct {
		Name        string    `json:"name"`
		Pred        []float64 `json:"pred"`
		Gold        []float64 `json:"gold"`
		DA          []float64 `json:"da"`
		Threshold   float64   `json:"threshold"`
		DAThreshold float64   `json:"da_threshold"`
		Pearson     *float64  `json:"pearson"`
		Spearman    *float64  `json:"spearman"`
		F1          float64   `json:"f1"`
		Precision   float64   `json:"precision"`
		Recall      float64   `json:"recall"`
		MacroF1     float64   `json:"macro_f1"`
		MCC         float64   `json:"mcc"`
	} `json:"cases"`
}

func TestMetricsMatchScipySklearn(t *testing.T) {
	b, err := os.ReadFile("testdata/metrics_fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx fixture
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Cases) < 5 {
		t.Fatalf("fixture has %d cases", len(fx.Cases))
	}
	const tol = 1e-9
	check := func(t *testing.T, name string, got float64, want *float64) {
		t.Helper()
		switch {
		case want == nil:
			if !math.IsNaN(got) {
				t.Errorf("%s = %v, want NaN (scipy: undefined)", name, got)
			}
		case math.IsNaN(got) || math.Abs(got-*want) > tol:
			t.Errorf("%s = %.17g, want %.17g", name, got, *want)
		}
	}
	rows := 0
	for _, c := range fx.Cases {
		t.Run(c.Name, func(t *testing.T) {
			rows += len(c.Pred)
			check(t, "pearson", Pearson(c.Pred, c.Gold), c.Pearson)
			check(t, "spearman", Spearman(c.Pred, c.Gold), c.Spearman)
			gold := make([]bool, len(c.DA))
			for i, d := range c.DA {
				gold[i] = d >= c.DAThreshold
			}
			cm := Count(gold, Threshold(c.Pred, c.Threshold))
			check(t, "f1", cm.F1(), &c.F1)
			check(t, "precision", cm.Precision(), &c.Precision)
			check(t, "recall", cm.Recall(), &c.Recall)
			check(t, "macro_f1", cm.MacroF1(), &c.MacroF1)
			check(t, "mcc", cm.MCC(), &c.MCC)
		})
	}
	t.Logf("%d cases, %d rows checked against scikit-learn %s", len(fx.Cases), rows, fx.Sklearn)
}

func TestRanksAverageTies(t *testing.T) {
	got := Ranks([]float64{3, 1, 3, 2, 3})
	want := []float64{4, 1, 4, 2, 4}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Ranks = %v, want %v", got, want)
		}
	}
}

func TestMetricEdgeCases(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name     string
		x, y     []float64
		pearson  float64
		spearman float64
	}{
		{"empty", nil, nil, nan, nan},
		{"one row", []float64{1}, []float64{2}, nan, nan},
		{"length mismatch", []float64{1, 2}, []float64{1, 2, 3}, nan, nan},
		{"constant prediction", []float64{5, 5, 5}, []float64{1, 2, 3}, nan, nan},
		{"constant gold", []float64{1, 2, 3}, []float64{0, 0, 0}, nan, nan},
		{"perfect", []float64{1, 2, 3}, []float64{2, 4, 6}, 1, 1},
		{"reversed", []float64{1, 2, 3}, []float64{3, 2, 1}, -1, -1},
	}
	same := func(a, b float64) bool {
		return (math.IsNaN(a) && math.IsNaN(b)) || math.Abs(a-b) < 1e-12
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p := Pearson(tt.x, tt.y); !same(p, tt.pearson) {
				t.Errorf("Pearson = %v, want %v", p, tt.pearson)
			}
			if s := Spearman(tt.x, tt.y); !same(s, tt.spearman) {
				t.Errorf("Spearman = %v, want %v", s, tt.spearman)
			}
		})
	}

	bin := []struct {
		name                 string
		c                    Confusion
		p, r, f1, macro, mcc float64
	}{
		{"no positives, none predicted", Confusion{TN: 10}, 0, 0, 0, 0.5, 0},
		{"no positives, some predicted", Confusion{TN: 8, FP: 2}, 0, 0, 0, 8.0 / 9 / 2, 0},
		{"all predicted acceptable", Confusion{TP: 6, FP: 4}, 0.6, 1, 0.75, 0.375, 0},
		{"nothing predicted acceptable", Confusion{FN: 6, TN: 4}, 0, 0, 0, 4.0 / 7 / 2, 0},
		{"perfect", Confusion{TP: 3, TN: 7}, 1, 1, 1, 1, 1},
		{"empty", Confusion{}, 0, 0, 0, 0, 0},
	}
	for _, tt := range bin {
		t.Run(tt.name, func(t *testing.T) {
			got := []float64{tt.c.Precision(), tt.c.Recall(), tt.c.F1(), tt.c.MacroF1(), tt.c.MCC()}
			want := []float64{tt.p, tt.r, tt.f1, tt.macro, tt.mcc}
			for i := range got {
				if !same(got[i], want[i]) {
					t.Errorf("precision, recall, f1, macro_f1, mcc = %v, want %v", got, want)
					break
				}
			}
		})
	}
}
