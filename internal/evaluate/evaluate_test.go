package evaluate

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/qegate/qegate/scorer"
)

var update = flag.Bool("update", false, "rewrite golden files")

func threeOutputModel() *ManifestView {
	return &ManifestView{
		Name: "test", Version: "1", Dir: "/m",
		Outputs: []scorer.OutputSpec{
			{Name: "da51", Kind: "classification", DAThreshold: fp(51), DefaultThreshold: 0.5, Thresholds: map[string]float32{"en-de": 0.6}},
			{Name: "da70", Kind: "classification", DAThreshold: fp(70), DefaultThreshold: 0.5},
			{Name: "z", Kind: "regression", DefaultThreshold: 0},
		},
		DefaultOutput: "da51",
	}
}

// fakeScorer derives outputs from the row: da51/da70 from the DA (or acceptable)
// label plus a length-based wobble, z from the z label.
type fakeScorer struct {
	mu      sync.Mutex
	batches [][]Row
	failOn  string // a row whose Src equals this fails its batch
}

func (f *fakeScorer) Score(_ context.Context, rows []Row) ([][]float32, error) {
	f.mu.Lock()
	f.batches = append(f.batches, rows)
	f.mu.Unlock()
	out := make([][]float32, len(rows))
	for i, r := range rows {
		if f.failOn != "" && r.Src == f.failOn {
			return nil, errors.New("bad pair")
		}
		w := float32(len(r.MT)%5) / 10
		p := 0.3 + w
		if r.DA != nil {
			p = float32(*r.DA)/100 + w - 0.2
		} else if r.Acceptable != nil && *r.Acceptable {
			p = 0.7 + w
		}
		z := p
		if r.Z != nil {
			z = float32(*r.Z) + w
		}
		out[i] = []float32{p, p - 0.1, z}
	}
	return out, nil
}

func mkRows(lp string, n int, da, z, acc bool) []Row {
	rows := make([]Row, n)
	for i := range rows {
		s, tg, _ := strings.Cut(lp, "-")
		rows[i] = Row{File: lp + ".tsv", Line: i + 2, Src: strings.Repeat("s", i%7+1), MT: strings.Repeat("m", (i*3)%11+1), SrcLang: s, TgtLang: tg}
		if da {
			rows[i].DA = fp(float64((i * 37) % 101))
		}
		if z {
			rows[i].Z = fp(float64((i*13)%17)/5 - 1.6)
		}
		if acc {
			rows[i].Acceptable = bp(i%3 != 0)
		}
	}
	return rows
}

func scoreAll(t *testing.T, rows []Row) [][]float32 {
	t.Helper()
	sc, err := ScoreRows(context.Background(), &fakeScorer{}, rows, ScoreOptions{BatchSize: 4, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	return sc.Outputs
}

func hasNote(r *Report, sub string) bool {
	for _, n := range r.Notes {
		if strings.Contains(n, sub) {
			return true
		}
	}
	return false
}

func TestEvaluateLabelVariants(t *testing.T) {
	tests := []struct {
		name           string
		rows           []Row
		corrGold       string
		wantPearson    bool
		want51, want70 bool
		notes          []string
	}{
		{"da and z", mkRows("en-de", 40, true, true, false), "z", true, true, true, nil},
		{"only da", mkRows("en-de", 40, true, false, false), "da", true, true, true, nil},
		{"only z", mkRows("et-en", 40, false, true, false), "z", true, false, false,
			[]string{"et-en: no labels for DA >= 51: at51 skipped", "et-en: no labels for DA >= 70: at70 skipped"}},
		{"only acceptable", mkRows("ne-en", 40, false, false, true), "", false, true, false,
			[]string{"no z or da labels: pearson/spearman skipped", "at70 skipped", "only an `acceptable` label count as gold at DA >= 51"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Evaluate(threeOutputModel(), tt.rows, scoreAll(t, tt.rows))
			lp := tt.rows[0].LangPair()
			p := rep.Pairs[lp]
			if p == nil || p.N != len(tt.rows) {
				t.Fatalf("pairs[%s] = %+v", lp, p)
			}
			if p.CorrelationGold != tt.corrGold || p.Pearson.Defined() != tt.wantPearson || p.Spearman.Defined() != tt.wantPearson {
				t.Errorf("gold %q pearson %v spearman %v", p.CorrelationGold, p.Pearson, p.Spearman)
			}
			if p.At51.F1.Defined() != tt.want51 || p.At70.F1.Defined() != tt.want70 {
				t.Errorf("at51 %+v at70 %+v", p.At51, p.At70)
			}
			for _, n := range tt.notes {
				if !hasNote(rep, n) {
					t.Errorf("no note %q in %q", n, rep.Notes)
				}
			}
			if _, err := json.Marshal(rep); err != nil {
				t.Fatalf("marshal: %v", err)
			}
		})
	}
}

func TestEvaluateValues(t *testing.T) {
	rows := append(mkRows("en-de", 30, true, true, false), mkRows("ro-en", 50, true, true, false)...)
	outs := scoreAll(t, rows)
	rep := Evaluate(threeOutputModel(), rows, outs)
	// Recompute en-de at51 by hand: output 0 >= 0.6 (per-pair threshold) vs DA >= 51.
	var g, p []bool
	var zp, zg []float64
	for i, r := range rows[:30] {
		g = append(g, *r.DA >= 51)
		p = append(p, outs[i][0] >= 0.6)
		zp, zg = append(zp, float64(outs[i][2])), append(zg, *r.Z)
	}
	cm := Count(g, p)
	de := rep.Pairs["en-de"]
	if float64(de.At51.F1) != cm.F1() || float64(de.At51.MCC) != cm.MCC() || de.At51.Threshold != 0.6 {
		t.Errorf("en-de at51 = %+v, want f1 %v mcc %v thr 0.6", de.At51, cm.F1(), cm.MCC())
	}
	if float64(de.Pearson) != Pearson(zp, zg) {
		t.Errorf("pearson %v, want %v", de.Pearson, Pearson(zp, zg))
	}
	ro := rep.Pairs["ro-en"]
	if ro.At51.Threshold != 0.5 {
		t.Errorf("ro-en threshold %v, want default 0.5", ro.At51.Threshold)
	}
	// Macro average: plain mean over pairs, n summed.
	if rep.Avg.N != 80 || math.Abs(float64(rep.Avg.Pearson)-(float64(de.Pearson)+float64(ro.Pearson))/2) > 1e-15 ||
		math.Abs(float64(rep.Avg.At70.F1)-(float64(de.At70.F1)+float64(ro.At70.F1))/2) > 1e-15 {
		t.Errorf("avg = %+v", rep.Avg)
	}
	if rep.Avg.At51.Threshold.Defined() {
		t.Errorf("avg threshold should be null")
	}
}

func TestEvaluateUndefinedMetrics(t *testing.T) {
	rows := mkRows("en-de", 20, true, true, false)
	outs := make([][]float32, len(rows))
	for i := range outs {
		outs[i] = []float32{0.1, 0.1, 0.3} // constant: nothing acceptable, flat z
	}
	for i := range rows {
		rows[i].DA = fp(10) // no gold-acceptable rows
	}
	rep := Evaluate(threeOutputModel(), rows, outs)
	p := rep.Pairs["en-de"]
	if p.Pearson.Defined() || p.Spearman.Defined() {
		t.Errorf("pearson %v spearman %v, want NaN", p.Pearson, p.Spearman)
	}
	if p.At51.F1 != 0 || p.At51.MCC != 0 || p.At51.Positives != 0 || p.At51.MacroF1 != 0.5 {
		t.Errorf("at51 = %+v", p.At51)
	}
	for _, n := range []string{"pearson/spearman undefined (constant predictions)", "no gold-acceptable rows", "nothing predicted acceptable"} {
		if !hasNote(rep, n) {
			t.Errorf("no note %q in %q", n, rep.Notes)
		}
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"pearson":null`) {
		t.Errorf("NaN not written as null: %s", b)
	}
	// Rows not scored (nil outputs) are left out; an empty report still marshals.
	empty := Evaluate(threeOutputModel(), rows, make([][]float32, len(rows)))
	if len(empty.Pairs) != 0 || empty.Avg.N != 0 || empty.Avg.Pearson.Defined() {
		t.Errorf("empty report = %+v", empty)
	}
	if _, err := json.Marshal(empty); err != nil {
		t.Fatal(err)
	}
	// A short result (fewer outputs than the manifest lists) is left out, not indexed.
	short := make([][]float32, len(rows))
	for i := range short {
		short[i] = []float32{0.5}
	}
	if r := Evaluate(threeOutputModel(), rows, short); len(r.Pairs) != 0 {
		t.Errorf("short outputs evaluated: %+v", r.Pairs)
	}
}

func TestOutputSelection(t *testing.T) {
	single := &ManifestView{Outputs: []scorer.OutputSpec{{Name: "acc", Kind: "classification", DefaultThreshold: 0.5}}, DefaultOutput: "acc"}
	if single.CorrelationIndex() != 0 || single.ClassifierFor(51) != 0 || single.ClassifierFor(70) != 0 {
		t.Error("single-output model must use its only output everywhere")
	}
	rows := mkRows("en-de", 20, true, false, false)
	rep := Evaluate(single, rows, scoreAll(t, rows))
	if rep.Model.CorrelationOutput != "acc" || !hasNote(rep, "no regression output") || !hasNote(rep, "no classification output for DA >= 70") {
		t.Errorf("model %+v notes %q", rep.Model, rep.Notes)
	}
	m := threeOutputModel()
	if m.CorrelationIndex() != 2 || m.ClassifierFor(51) != 0 || m.ClassifierFor(70) != 1 {
		t.Error("three-output model: wrong output choice")
	}
}

// flattenKeys lists the JSON key paths of v, with language pairs as <lp> and
// array elements as [].
func flattenKeys(prefix string, v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			key := k
			if prefix == "pairs" {
				key = "<lp>"
			}
			p := key
			if prefix != "" {
				p = prefix + "." + key
			}
			out[p] = true
			flattenKeys(p, e, out)
		}
	case []any:
		for _, e := range x {
			flattenKeys(prefix+"[]", e, out)
		}
	}
}

// TestReportJSONKeysGolden freezes the --json shape; run with -update after an
// intended change, and update docs/EVAL.md.
func TestReportJSONKeysGolden(t *testing.T) {
	rows := append(mkRows("en-de", 20, true, true, false), mkRows("si-en", 20, true, true, false)...)
	rep := Evaluate(threeOutputModel(), rows, scoreAll(t, rows))
	rep.BadRows = []BadRow{{File: "x.tsv", Line: 3, Reason: "r"}}
	rep.SkippedRows = 1
	rep.PairsPerS = 10
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
	list := make([]string, 0, len(keys))
	for k := range keys {
		list = append(list, k)
	}
	sort.Strings(list)
	got := strings.Join(list, "\n") + "\n"
	const golden = "testdata/report_keys.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("JSON keys changed (run go test -update and document it):\ngot:\n%s\nwant:\n%s", got, want)
	}
}

func TestScoreRowsBatchesByLength(t *testing.T) {
	rows := mkRows("en-de", 103, true, false, false)
	f := &fakeScorer{}
	sc, err := ScoreRows(context.Background(), f, rows, ScoreOptions{BatchSize: 10, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.batches) != 11 {
		t.Errorf("%d batches, want 11", len(f.batches))
	}
	// Batches hold rows of similar length: their length ranges do not interleave.
	type span struct{ lo, hi int }
	var spans []span
	for _, b := range f.batches {
		s := span{1 << 30, -1}
		for _, r := range b {
			n := len(r.Src) + len(r.MT)
			s.lo, s.hi = min(s.lo, n), max(s.hi, n)
		}
		spans = append(spans, s)
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a].lo < spans[b].lo })
	for i := 1; i < len(spans); i++ {
		if spans[i].lo < spans[i-1].hi {
			t.Errorf("batch length ranges overlap: %v", spans)
			break
		}
	}
	// Outputs are in input order.
	want, _ := (&fakeScorer{}).Score(context.Background(), rows)
	for i := range rows {
		if sc.Outputs[i][0] != want[i][0] {
			t.Fatalf("row %d got %v want %v", i, sc.Outputs[i], want[i])
		}
	}
	if sc.PairsPerSecond() <= 0 {
		t.Error("no rate")
	}
}

func TestScoreRowsIsolatesFailingRow(t *testing.T) {
	rows := mkRows("en-de", 30, true, false, false)
	rows[7].Src = "poison"
	sc, err := ScoreRows(context.Background(), &fakeScorer{failOn: "poison"}, rows, ScoreOptions{BatchSize: 8, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.BadRows) != 1 || sc.BadRows[0].Line != rows[7].Line || !strings.Contains(sc.BadRows[0].Reason, "bad pair") {
		t.Fatalf("bad rows = %v", sc.BadRows)
	}
	for i, o := range sc.Outputs {
		if (o == nil) != (i == 7) {
			t.Errorf("row %d outputs %v", i, o)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ScoreRows(ctx, &fakeScorer{}, rows, ScoreOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: err = %v", err)
	}
}

// measuringScorer reports token lengths that reverse the input order.
type measuringScorer struct{ fakeScorer }

func (m *measuringScorer) Lengths(rows []Row) []int {
	out := make([]int, len(rows))
	for i := range rows {
		out[i] = len(rows) - i
	}
	return out
}

func TestScoreRowsUsesMeasurer(t *testing.T) {
	rows := mkRows("en-de", 20, true, false, false)
	for i := range rows {
		rows[i].Src = fmt.Sprint(i)
	}
	m := &measuringScorer{}
	if _, err := ScoreRows(context.Background(), m, rows, ScoreOptions{BatchSize: 5, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	// One worker: batches arrive in length order, i.e. rows 19..15, 14..10, ...
	if got := m.batches[0][0].Src; got != "19" {
		t.Errorf("first row scored %q, want 19", got)
	}
	if got := m.batches[3][4].Src; got != "0" {
		t.Errorf("last row scored %q, want 0", got)
	}
}

func TestScoreRowsKeepsPairsApart(t *testing.T) {
	rows := append(mkRows("en-de", 7, true, false, false), mkRows("si-en", 5, true, false, false)...)
	rows = append(rows, mkRows("en-de", 3, true, false, false)...)
	f := &fakeScorer{}
	if _, err := ScoreRows(context.Background(), f, rows, ScoreOptions{BatchSize: 4, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	// en-de: 10 rows -> 4+4+2; si-en: 5 -> 4+1.
	if len(f.batches) != 5 {
		t.Errorf("%d batches, want 5", len(f.batches))
	}
	for _, b := range f.batches {
		for _, r := range b {
			if r.LangPair() != b[0].LangPair() {
				t.Fatalf("batch mixes pairs: %+v", b)
			}
		}
	}
}
