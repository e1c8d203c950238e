package evaluate

import (
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/qegate/qegate/scorer"
)

// criticalModel is threeOutputModel with hter and critical outputs, in the
// manifest order of the v2 recipe.
func criticalModel() *ManifestView {
	m := threeOutputModel()
	m.Outputs = append(m.Outputs,
		scorer.OutputSpec{Name: "hter", Kind: "regression", Transform: "sigmoid"},
		scorer.OutputSpec{Name: "critical", Kind: "critical", Transform: "sigmoid", DefaultThreshold: 0.5, Thresholds: map[string]float32{"en-de": 0.3}},
	)
	return m
}

// cedRows builds rows of one pair whose critical outputs give a chosen
// confusion at threshold th: tp true ERR flagged, fn ERR missed, fp NOT
// flagged, tn NOT passed.
func cedRows(lp string, th float32, tp, fn, fp, tn int) ([]Row, [][]float32) {
	src, tgt, _ := strings.Cut(lp, "-")
	var rows []Row
	var outs [][]float32
	add := func(n int, gold bool, prob float32) {
		for range n {
			rows = append(rows, Row{Src: "s", MT: "m", SrcLang: src, TgtLang: tgt, Critical: bp(gold)})
			outs = append(outs, []float32{0.5, 0.5, 0, 0.2, prob})
		}
	}
	add(tp, true, th)       // exactly at the threshold: flagged (>=)
	add(fn, true, th-0.01)  // just below: passed
	add(fp, false, th+0.2)  // flagged
	add(tn, false, th-0.25) // passed
	return rows, outs
}

func mcc(tp, fn, fp, tn float64) float64 {
	return (tp*tn - fp*fn) / math.Sqrt((tp+fp)*(tp+fn)*(tn+fp)*(tn+fn))
}

func TestEvaluateCritical(t *testing.T) {
	m := criticalModel()
	// en-de uses its own threshold 0.3, en-cs the default 0.5.
	r1, o1 := cedRows("en-de", 0.3, 30, 10, 20, 140)
	r2, o2 := cedRows("en-cs", 0.5, 5, 15, 5, 75)
	rows, outs := append(r1, r2...), append(o1, o2...)
	// A row that was not scored is left out.
	rows = append(rows, Row{Src: "s", MT: "m", SrcLang: "en", TgtLang: "de", Critical: bp(true)})
	outs = append(outs, nil)
	rep, err := EvaluateCritical(m, rows, outs)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lp                 string
		tp, fn, fp, tn     float64
		threshold          float64
		thresholdFromModel bool
	}{
		{"en-de", 30, 10, 20, 140, 0.3, true},
		{"en-cs", 5, 15, 5, 75, 0.5, false},
	} {
		p := rep.Pairs[tc.lp]
		if p == nil {
			t.Fatalf("no report for %s", tc.lp)
		}
		n := int(tc.tp + tc.fn + tc.fp + tc.tn)
		if p.N != n || p.Errors != int(tc.tp+tc.fn) || p.Flagged != int(tc.tp+tc.fp) {
			t.Errorf("%s: n %d errors %d flagged %d", tc.lp, p.N, p.Errors, p.Flagged)
		}
		want := map[string][2]float64{
			"mcc":       {float64(p.MCC), mcc(tc.tp, tc.fn, tc.fp, tc.tn)},
			"precision": {float64(p.Precision), tc.tp / (tc.tp + tc.fp)},
			"recall":    {float64(p.Recall), tc.tp / (tc.tp + tc.fn)},
			"f1":        {float64(p.F1), 2 * tc.tp / (2*tc.tp + tc.fp + tc.fn)},
			"threshold": {float64(p.Threshold), tc.threshold},
		}
		for k, v := range want {
			if math.Abs(v[0]-v[1]) > 1e-9 {
				t.Errorf("%s %s = %v, want %v", tc.lp, k, v[0], v[1])
			}
		}
		if noted := hasCriticalNote(rep, tc.lp+": no critical threshold"); noted == tc.thresholdFromModel {
			t.Errorf("%s: default-threshold note %v", tc.lp, noted)
		}
	}
	if rep.Avg.N != 300 || rep.Avg.Errors != 60 || math.Abs(float64(rep.Avg.MCC)-(float64(rep.Pairs["en-de"].MCC)+float64(rep.Pairs["en-cs"].MCC))/2) > 1e-12 {
		t.Errorf("avg = %+v", rep.Avg)
	}
	if rep.Avg.Threshold.Defined() || rep.Model.Output != "critical" || rep.Task != "critical" {
		t.Errorf("avg threshold %v, model %+v", rep.Avg.Threshold, rep.Model)
	}
}

func hasCriticalNote(r *CriticalReport, sub string) bool {
	for _, n := range r.Notes {
		if strings.Contains(n, sub) {
			return true
		}
	}
	return false
}

func TestEvaluateCriticalDegenerate(t *testing.T) {
	rows, outs := cedRows("en-ja", 0.5, 0, 0, 0, 50) // no ERR rows, nothing flagged
	rep, err := EvaluateCritical(criticalModel(), rows, outs)
	if err != nil {
		t.Fatal(err)
	}
	p := rep.Pairs["en-ja"]
	if p.MCC != 0 || p.F1 != 0 || !hasCriticalNote(rep, "no gold ERR rows") || !hasCriticalNote(rep, "nothing flagged") {
		t.Fatalf("report %+v, notes %q", p, rep.Notes)
	}
}

func TestCheckCriticalData(t *testing.T) {
	ced := []Row{{Critical: bp(true)}, {Critical: bp(false)}}
	da := []Row{{DA: fp(70)}}
	for _, tc := range []struct {
		name     string
		model    *ManifestView
		rows     []Row
		critical bool
		err      string
	}{
		{"da data", threeOutputModel(), da, false, ""},
		{"ced data", criticalModel(), ced, true, ""},
		{"ced data, no critical output", threeOutputModel(), ced, true, "no critical-error output"},
		{"mixed", criticalModel(), append(ced, da...), true, "evaluate them in separate runs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crit, err := CheckCriticalData(tc.model, tc.rows)
			if crit != tc.critical || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("CheckCriticalData = %v, %v; want %v, %q", crit, err, tc.critical, tc.err)
			}
		})
	}
	if _, err := EvaluateCritical(threeOutputModel(), ced, [][]float32{{0, 0, 0}, {0, 0, 0}}); !errors.Is(err, ErrNoCriticalOutput) {
		t.Fatalf("EvaluateCritical without a critical output = %v", err)
	}
}

// TestCorrelationSkipsHTER: hter is a regression output but lower is
// better; Pearson against DA z uses z.
func TestCorrelationSkipsHTER(t *testing.T) {
	m := criticalModel()
	m.Outputs[2], m.Outputs[3] = m.Outputs[3], m.Outputs[2] // hter listed before z
	if got := m.Outputs[m.CorrelationIndex()].Name; got != "z" {
		t.Fatalf("correlation output %q, want z", got)
	}
}

func TestReadCED(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "en-de.tsv", "id\toriginal\ttranslation\tscores\tlabel\n"+
		"1\tYou are \"nice\".\tDu bist \"nett\".\t[0, 0, 0]\tNOT\n"+
		"2\tNot bad.\tSchlecht.\t[1, 1, 0]\tERR\n"+
		"3\tx\ty\t[0, 0, 0]\tMAYBE\n"+
		"4\ta\tb\t[0, 0, 0]\terr\n")
	writeFile(t, dir, "en-cs.jsonl", `{"src":"a","mt":"b","critical":true}`+"\n"+
		`{"src":"a","mt":"b","critical":"yes"}`+"\n"+
		`{"src":"a","mt":"b","critical":false}`+"\n")
	d, err := ReadPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range d.Rows {
		if r.Critical == nil || r.DA != nil || r.Z != nil {
			t.Fatalf("row %+v", r)
		}
		got = append(got, r.LangPair()+":"+map[bool]string{true: "ERR", false: "NOT"}[*r.Critical])
	}
	want := []string{"en-cs:ERR", "en-cs:NOT", "en-de:NOT", "en-de:ERR", "en-de:ERR"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("rows %v, want %v", got, want)
	}
	var bad []string
	for _, b := range d.BadRows {
		bad = append(bad, filepath.Base(b.File)+":"+b.Reason)
	}
	sort.Strings(bad)
	if len(bad) != 2 || !strings.Contains(bad[0], `critical "yes" is not a boolean`) || !strings.Contains(bad[1], `label "MAYBE" is not ERR or NOT`) {
		t.Fatalf("bad rows %q", bad)
	}
	for _, n := range d.Notes {
		if strings.Contains(n, "no labels") {
			t.Fatalf("CED file reported as unlabelled: %q", n)
		}
	}
}

// TestCriticalReportJSONKeys: the --json shape documented on CriticalReport.
func TestCriticalReportJSONKeys(t *testing.T) {
	rows, outs := cedRows("en-de", 0.3, 3, 1, 2, 10)
	rep, err := EvaluateCritical(criticalModel(), rows, outs)
	if err != nil {
		t.Fatal(err)
	}
	rep.BadRows = []BadRow{{File: "x.tsv", Line: 3, Reason: "r"}}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	flattenKeys("", v, keys)
	pair := []string{"n", "errors", "flagged", "mcc", "f1", "precision", "recall", "threshold"}
	want := []string{"task", "model", "model.name", "model.version", "model.dir", "model.output", "pairs", "pairs.<lp>", "avg",
		"pairs_per_s", "skipped_rows", "bad_rows", "bad_rows[].file", "bad_rows[].line", "bad_rows[].reason", "notes"}
	for _, k := range pair {
		want = append(want, "pairs.<lp>."+k, "avg."+k)
	}
	sort.Strings(want)
	got := make([]string, 0, len(keys))
	for k := range keys {
		got = append(got, k)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("keys:\n%v\nwant:\n%v", got, want)
	}
}
