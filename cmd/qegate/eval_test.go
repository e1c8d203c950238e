package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/qegate/qegate/internal/evaluate"
	"github.com/qegate/qegate/internal/native"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/scorer"
)

// evalTinyModel is the random-weight test model of the scorer package.
const evalTinyModel = "../../scorer/testdata/tiny"

func evalNeedScorer(t *testing.T) {
	t.Helper()
	if native.ORTLibrary() == "" {
		t.Skip("libonnxruntime.so not found (make native)")
	}
	if _, err := os.Stat(filepath.Join(evalTinyModel, "model.onnx")); err != nil {
		t.Skip("tiny model missing")
	}
}

func evalRun(t *testing.T, cmd *cobra.Command, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&o)
	cmd.SetErr(&e)
	err = cmd.ExecuteContext(context.Background())
	return o.String(), e.String(), err
}

// evalData writes a small synthetic MLQE-PE style dev set: two pairs, quotes in
// the text, and two bad rows.
func evalData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	hdr := "index\toriginal\ttranslation\tscores\tmean\tz_scores\tz_mean\tmodel_scores\n"
	for _, lp := range []string{"en-de", "si-en"} {
		var b strings.Builder
		b.WriteString(hdr)
		for i := range 40 {
			fmt.Fprintf(&b, "%d\tThe \"%d\" cats sat on mat number %d.\tDie %d Katzen sassen auf \"Matte\" %d.\t[]\t%d\t[]\t%.2f\t0\n",
				i, i, i*7, i, i%9, (i*37)%101, float64((i*13)%17)/5-1.6)
		}
		if lp == "si-en" {
			b.WriteString("40\tonly\tthree\n")
			b.WriteString("41\tx\ty\t[]\tgood\t[]\t0.1\t0\n")
		}
		if err := os.WriteFile(filepath.Join(dir, lp+".tsv"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestEvalCommandJSON(t *testing.T) {
	evalNeedScorer(t)
	data := evalData(t)
	plots := filepath.Join(t.TempDir(), "plots")
	out, errOut, err := evalRun(t, newEvalCmd(), "--data", data, "--model", evalTinyModel, "--json", "--plot", plots, "--batch", "8")
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, errOut)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	pairs := rep["pairs"].(map[string]any)
	if len(pairs) != 2 || pairs["en-de"].(map[string]any)["n"] != 40.0 {
		t.Errorf("pairs = %v", pairs)
	}
	if rep["skipped_rows"] != 2.0 || len(rep["bad_rows"].([]any)) != 2 {
		t.Errorf("skipped %v bad %v", rep["skipped_rows"], rep["bad_rows"])
	}
	for _, want := range []string{"si-en.tsv:42: 3 columns, header has 8", `si-en.tsv:43: mean "good" is not a number`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	m := rep["model"].(map[string]any)
	if m["correlation_output"] != "z" || m["at51_output"] != "da51" || m["at70_output"] != "da70" {
		t.Errorf("model = %v", m)
	}
	if thr := pairs["en-de"].(map[string]any)["at51"].(map[string]any)["threshold"]; thr != 0.6 {
		t.Errorf("en-de at51 threshold %v, want 0.6 from model.json", thr)
	}
	if r, _ := rep["pairs_per_s"].(float64); r <= 0 {
		t.Errorf("pairs_per_s = %v", rep["pairs_per_s"])
	}
	files, _ := filepath.Glob(filepath.Join(plots, "*.png"))
	if len(files) != 4 {
		t.Errorf("plots = %v", files)
	}

	// The text form prints the same pairs and the average.
	out, _, err = evalRun(t, newEvalCmd(), "--data", data, "--model", evalTinyModel)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"en-de", "si-en", "avg", "pearson"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

func TestEvalCommandErrors(t *testing.T) {
	evalNeedScorer(t)
	if _, _, err := evalRun(t, newEvalCmd(), "--model", evalTinyModel); err == nil {
		t.Error("missing --data: no error")
	}
	if _, _, err := evalRun(t, newEvalCmd(), "--data", filepath.Join(t.TempDir(), "nope.tsv"), "--model", evalTinyModel); err == nil {
		t.Error("missing file: no error")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "en-de.tsv")
	_ = os.WriteFile(p, []byte("original\ttranslation\tmean\n\tx\t50\n"), 0o644)
	if _, _, err := evalRun(t, newEvalCmd(), "--data", p, "--model", evalTinyModel); err == nil || !strings.Contains(err.Error(), "no usable rows") {
		t.Errorf("only bad rows: err = %v", err)
	}
}

func TestCalibrateCommand(t *testing.T) {
	evalNeedScorer(t)
	data := evalData(t)
	model := t.TempDir()
	for _, f := range []string{"model.json", "model.onnx", "tokenizer.json"} {
		b, err := os.ReadFile(filepath.Join(evalTinyModel, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(model, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, errOut, err := evalRun(t, newCalibrateCmd(), "--data", data, "--model", model, "--goal", "max-f1", "--output", "da70", "--write")
	if err != nil {
		t.Fatalf("calibrate: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "<- chosen") || !strings.Contains(out, "gold DA >= 70") {
		t.Errorf("output:\n%s", out)
	}
	b, _ := os.ReadFile(filepath.Join(model, "model.json"))
	var m struct {
		Outputs []struct {
			Name       string
			Thresholds map[string]float32
		}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, o := range m.Outputs {
		switch o.Name {
		case "da70":
			if len(o.Thresholds) != 2 {
				t.Errorf("da70 thresholds = %v", o.Thresholds)
			}
		case "da51":
			if o.Thresholds["en-de"] != 0.6 || o.Thresholds["si-en"] != 0.4 {
				t.Errorf("da51 thresholds changed: %v", o.Thresholds)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(model, "model.json.bak")); err != nil {
		t.Error(err)
	}
	if _, _, err := evalRun(t, newCalibrateCmd(), "--data", data, "--model", model, "--goal", "recall=0.9"); err == nil {
		t.Error("bad goal: no error")
	}
	if _, _, err := evalRun(t, newCalibrateCmd(), "--data", data, "--model", model, "--goal", "max-f1", "--output", "nope"); err == nil {
		t.Error("unknown output: no error")
	}
	out, _, err = evalRun(t, newCalibrateCmd(), "--data", data, "--model", model, "--goal", "precision=0.99")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "dry run") {
		t.Errorf("no dry-run note:\n%s", out)
	}
}

// evalCriticalModel is the 5-output test model (z, da51, da70, hter, critical).
const evalCriticalModel = "../../scorer/testdata/critical"

// cedData writes a small synthetic WMT21 CED style dev set (header id,
// original, translation, scores, label): two pairs, one bad label.
func cedData(t *testing.T) (dir string, errors map[string]int) {
	t.Helper()
	dir = t.TempDir()
	errors = map[string]int{}
	for _, lp := range []string{"en-cs", "en-de"} {
		var b strings.Builder
		b.WriteString("id\toriginal\ttranslation\tscores\tlabel\n")
		for i := range 30 {
			label := "NOT"
			if i%3 == 0 {
				label = "ERR"
				errors[lp]++
			}
			fmt.Fprintf(&b, "%d\tThe %d \"cats\" did not sit on mat %d.\tDie %d Katzen sassen auf Matte %d.\t[0, 0, 0]\t%s\n", i, i, i*7, i, i%9, label)
		}
		if lp == "en-de" {
			b.WriteString("30\ta\tb\t[0, 0, 0]\tBAD\n")
		}
		if err := os.WriteFile(filepath.Join(dir, lp+".tsv"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, errors
}

// TestEvalCritical: CED data is evaluated against the model's critical
// output at its model.json thresholds, and the flagged counts are those
// the scorer itself flags (the gate's decision).
func TestEvalCritical(t *testing.T) {
	evalNeedScorer(t)
	data, errs := cedData(t)
	out, errOut, err := evalRun(t, newEvalCmd(), "--data", data, "--model", evalCriticalModel, "--json")
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, `en-de.tsv:32: label "BAD" is not ERR or NOT`) {
		t.Errorf("stderr lacks the bad label:\n%s", errOut)
	}
	var rep evaluate.CriticalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not a critical report: %v\n%s", err, out)
	}
	sc, err := scorer.New(scorer.Config{ModelDir: evalCriticalModel})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	d, err := evaluate.ReadPath(data)
	if err != nil {
		t.Fatal(err)
	}
	flagged := map[string]int{}
	for _, r := range d.Rows {
		res, err := sc.Score(context.Background(), []qe.Pair{{Src: r.Src, MT: r.MT, SrcLang: r.SrcLang, TgtLang: r.TgtLang}})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Critical.Flagged {
			flagged[r.LangPair()]++
		}
	}
	if rep.Task != "critical" || rep.Model.Output != "critical" || len(rep.Pairs) != 2 || rep.SkippedRows != 1 {
		t.Fatalf("report %+v", rep)
	}
	var sum float64
	for _, lp := range []string{"en-cs", "en-de"} {
		p := rep.Pairs[lp]
		th, _ := sc.CriticalThreshold(lp)
		if p.N != 30 || p.Errors != errs[lp] || p.Flagged != flagged[lp] || p.Threshold != evaluate.F32(th) {
			t.Errorf("%s: %+v; want n 30, errors %d, flagged %d, threshold %v", lp, p, errs[lp], flagged[lp], th)
		}
		sum += float64(p.MCC)
	}
	if math.Abs(float64(rep.Avg.MCC)-sum/2) > 1e-12 {
		t.Errorf("avg mcc %v, want the mean %v", rep.Avg.MCC, sum/2)
	}

	// The text form names the metric, each pair and the average.
	out, _, err = evalRun(t, newEvalCmd(), "--data", data, "--model", evalCriticalModel)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MCC", "F1(ERR)", "en-cs", "en-de", "avg"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

// TestEvalCriticalNeedsCriticalOutput: a model without a critical output
// cannot be evaluated on CED data, and says so before scoring anything.
func TestEvalCriticalNeedsCriticalOutput(t *testing.T) {
	evalNeedScorer(t)
	data, _ := cedData(t)
	_, _, err := evalRun(t, newEvalCmd(), "--data", data, "--model", evalTinyModel)
	if err == nil || !strings.Contains(err.Error(), "has no critical-error output") {
		t.Fatalf("eval with the 3-output model: %v", err)
	}
}

// TestCalibrateRefusesCritical: calibrate fits acceptability thresholds on
// DA labels; neither the critical output nor CED data can be calibrated.
func TestCalibrateRefusesCritical(t *testing.T) {
	evalNeedScorer(t)
	ced, _ := cedData(t)
	for _, args := range [][]string{
		{"--data", evalData(t), "--model", evalCriticalModel, "--goal", "max-f1", "--output", "critical"},
		{"--data", ced, "--model", evalCriticalModel, "--goal", "max-f1"},
	} {
		_, _, err := evalRun(t, newCalibrateCmd(), args...)
		if err == nil || !strings.Contains(err.Error(), "critical output's thresholds come from the recipe") {
			t.Errorf("calibrate %v: %v", args, err)
		}
	}
}

// TestEvalParagraphs: the subcommand writes the clean and bad sets from a
// data directory, the same files for the same seed.
func TestEvalParagraphs(t *testing.T) {
	data := evalData(t)
	var files [2]map[string]string
	for run := range files {
		out := t.TempDir()
		stdout, stderr, err := evalRun(t, newEvalCmd(), "paragraphs", "--data", data, "-o", out, "--min-da", "1")
		if err != nil {
			t.Fatalf("eval paragraphs: %v\n%s", err, stderr)
		}
		if !strings.Contains(stdout, "wrote ") || !strings.Contains(stderr, "si-en.tsv:43: ") {
			t.Fatalf("stdout %q, stderr %q: want the counts and the bad rows", stdout, stderr)
		}
		files[run] = map[string]string{}
		for name, lines := range map[string]int{"clean.jsonl": 5, "bad.jsonl": 5, "replaced.jsonl": 1} {
			b, err := os.ReadFile(filepath.Join(out, name))
			if err != nil {
				t.Fatal(err)
			}
			files[run][name] = string(b)
			var p evaluate.Paragraph
			first, _, _ := strings.Cut(string(b), "\n")
			if err := json.Unmarshal([]byte(first), &p); err != nil || p.Src == "" || p.MT == "" || len(p.Lines) != lines {
				t.Fatalf("%s: first line %q: %v", name, first, err)
			}
		}
	}
	if !reflect.DeepEqual(files[0], files[1]) {
		t.Fatal("two runs with the same seed wrote different sets")
	}
	if _, _, err := evalRun(t, newEvalCmd(), "paragraphs", "--data", data, "-o", t.TempDir(), "--min-da", "101"); err == nil {
		t.Fatal("no qualifying rows: want an error")
	}
}
