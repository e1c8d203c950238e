package evaluate

import (
	"strings"
	"testing"
)

// TestEvaluateRules: a rule that rejects a bad row the model accepted
// lifts the gate's F1 above the model's; a good row it rejects counts as
// wrongly rejected and lowers its precision.
func TestEvaluateRules(t *testing.T) {
	m := threeOutputModel()
	z := 0.0
	row := func(src string, da float64) Row {
		return Row{Src: src, MT: "x", SrcLang: "en", TgtLang: "de", DA: fp(da), Z: &z}
	}
	rows := []Row{row("good", 90), row("good2", 80), row("copy-bad", 20), row("copy-good", 75), row("bad", 10)}
	// The model accepts everything except "bad": da51 0.9 >= 0.6, da70 0.9.
	outputs := [][]float32{{0.9, 0.9, 1}, {0.9, 0.9, 0.8}, {0.9, 0.9, 0.7}, {0.9, 0.9, 0.2}, {0.1, 0.1, -1}}
	rep := EvaluateRules(m, rows, outputs, func(r Row) string {
		if strings.HasPrefix(r.Src, "copy") {
			return "copy"
		}
		return ""
	})
	rr := rep.ByRule["copy"]
	if rep.Rejected != 2 || rep.Rows != 5 || rr == nil || rr.Rejected != 2 || rr.Below51 != 1 || rr.Good70 != 1 || rr.Precision != 0.5 {
		t.Fatalf("rules report %+v, copy %+v", rep, rr)
	}
	model := Evaluate(m, rows, outputs).Avg
	// At 51: the model has TP 3 (good, good2, copy-good), FP 1 (copy-bad);
	// the gate TP 2, FP 0, FN 1.
	if float64(model.At51.F1) != 6.0/7 || float64(rep.Gate.At51.F1) != 0.8 {
		t.Fatalf("F1 at 51: model %v (want 6/7), gate %v (want 0.8)", model.At51.F1, rep.Gate.At51.F1)
	}
	var b strings.Builder
	if err := WriteRulesText(&b, model, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "2 of 5 rows rejected") || !strings.Contains(b.String(), "rules+model 0.800") {
		t.Fatalf("text report:\n%s", b.String())
	}
}
