package evaluate

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// CriticalReport is `qegate eval` on critical-error data (WMT21 CED: rows
// labelled ERR or NOT). The positive class is ERR: a pair is predicted ERR
// when the model's critical probability is >= the pair's threshold from
// model.json, as the gate flags it. Its JSON form has these keys, all
// always present (undefined numbers are null):
//
//	task                        "critical"
//	model                       object: name, version, dir, output (the critical output's name)
//	pairs.<lp>                  per language pair, see CriticalPairReport
//	avg                         macro average over the pairs (n, errors, flagged summed)
//	pairs_per_s, skipped_rows, bad_rows, notes   as in the DA report
//
// CriticalPairReport keys:
//
//	n, errors, flagged          rows, gold ERR rows, rows the model flags
//	mcc                         Matthews correlation (the WMT21 task 3 metric)
//	f1, precision, recall       of the ERR class
//	threshold                   the critical threshold used (null in avg)
type CriticalReport struct {
	Task        string                         `json:"task"`
	Model       CriticalModelReport            `json:"model"`
	Pairs       map[string]*CriticalPairReport `json:"pairs"`
	Avg         *CriticalPairReport            `json:"avg"`
	PairsPerS   Metric                         `json:"pairs_per_s"`
	SkippedRows int                            `json:"skipped_rows"`
	BadRows     []BadRow                       `json:"bad_rows"`
	Notes       []string                       `json:"notes"`
}

// CriticalModelReport names the model and its critical output.
type CriticalModelReport struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Dir     string `json:"dir"`
	Output  string `json:"output"`
}

// CriticalPairReport holds the critical-error metrics of one language pair
// (or their average).
type CriticalPairReport struct {
	N         int    `json:"n"`
	Errors    int    `json:"errors"`
	Flagged   int    `json:"flagged"`
	MCC       Metric `json:"mcc"`
	F1        Metric `json:"f1"`
	Precision Metric `json:"precision"`
	Recall    Metric `json:"recall"`
	Threshold Metric `json:"threshold"`
}

// ErrNoCriticalOutput is returned for critical-error data and a model that
// has no critical output (models before 2.0.0).
var ErrNoCriticalOutput = errors.New("the model has no critical-error output (kind \"critical\" in model.json): " +
	"critical-error data (WMT21 CED, label ERR/NOT) needs a model trained with the recipe's critical-error head")

// CriticalIndex returns the manifest position of the critical output, or -1.
func (m *ManifestView) CriticalIndex() int {
	for i, o := range m.Outputs {
		if o.Kind == "critical" {
			return i
		}
	}
	return -1
}

// LabelKinds says which gold labels the rows carry: critical counts rows
// with a critical-error label, quality rows with a DA, z or acceptable one.
func LabelKinds(rows []Row) (critical, quality int) {
	for _, r := range rows {
		if r.Critical != nil {
			critical++
		}
		if r.DA != nil || r.Z != nil || r.Acceptable != nil {
			quality++
		}
	}
	return critical, quality
}

// CheckCriticalData reports whether rows are critical-error data, and an
// error when they cannot be evaluated as labelled: quality and
// critical-error labels mixed in one run, or critical-error data with a
// model that has no critical output.
func CheckCriticalData(m *ManifestView, rows []Row) (bool, error) {
	crit, quality := LabelKinds(rows)
	switch {
	case crit == 0:
		return false, nil
	case quality > 0:
		return true, fmt.Errorf("the data mixes critical-error labels (%d rows) with DA/z/acceptable labels (%d rows): evaluate them in separate runs", crit, quality)
	case m.CriticalIndex() < 0:
		return true, fmt.Errorf("model %s %s: %w", m.Name, m.Version, ErrNoCriticalOutput)
	}
	return true, nil
}

// EvaluateCritical computes the critical-error report for scored rows;
// outputs[i] holds row i's outputs in manifest order (nil: not scored).
// Rows without a critical label are left out with a note.
func EvaluateCritical(m *ManifestView, rows []Row, outputs [][]float32) (*CriticalReport, error) {
	ci := m.CriticalIndex()
	if ci < 0 {
		return nil, fmt.Errorf("model %s %s: %w", m.Name, m.Version, ErrNoCriticalOutput)
	}
	o := m.Outputs[ci]
	rep := &CriticalReport{
		Task:      "critical",
		Model:     CriticalModelReport{Name: m.Name, Version: m.Version, Dir: m.Dir, Output: o.Name},
		Pairs:     map[string]*CriticalPairReport{},
		PairsPerS: NaN,
		BadRows:   []BadRow{},
		Notes:     []string{},
	}
	note := func(format string, args ...any) { rep.Notes = append(rep.Notes, fmt.Sprintf(format, args...)) }
	scored := m.Scored(outputs)
	unlabelled := 0
	groups := Group(rows, func(i int) bool {
		if rows[i].Critical == nil {
			unlabelled++
			return false
		}
		return scored(i)
	})
	if unlabelled > 0 {
		note("%d rows without a critical-error label left out", unlabelled)
	}
	lps := make([]string, 0, len(groups))
	for lp := range groups {
		lps = append(lps, lp)
	}
	sort.Strings(lps)
	for _, lp := range lps {
		th := o.Threshold(lp)
		var g, p []bool
		for _, i := range groups[lp] {
			g = append(g, *rows[i].Critical)
			p = append(p, outputs[i][ci] >= th)
		}
		cm := Count(g, p)
		pr := &CriticalPairReport{
			N: len(g), Errors: cm.TP + cm.FN, Flagged: cm.TP + cm.FP,
			MCC: Metric(cm.MCC()), F1: Metric(cm.F1()), Precision: Metric(cm.Precision()), Recall: Metric(cm.Recall()),
			Threshold: F32(th),
		}
		rep.Pairs[lp] = pr
		if _, ok := o.Thresholds[lp]; !ok {
			note("%s: no critical threshold for the pair in model.json: default_threshold %g used", lp, th)
		}
		switch {
		case pr.Errors == 0:
			note("%s: no gold ERR rows: recall and f1 are 0, mcc 0", lp)
		case pr.Errors == pr.N:
			note("%s: every gold row is ERR: mcc 0", lp)
		}
		switch pr.Flagged {
		case 0:
			note("%s: nothing flagged (threshold %g): precision 0, mcc 0", lp, th)
		case pr.N:
			note("%s: everything flagged (threshold %g): mcc 0", lp, th)
		}
	}
	avg := &CriticalPairReport{MCC: NaN, F1: NaN, Precision: NaN, Recall: NaN, Threshold: NaN}
	var mcc, f1, pr, rc []Metric
	for _, lp := range lps {
		p := rep.Pairs[lp]
		avg.N += p.N
		avg.Errors += p.Errors
		avg.Flagged += p.Flagged
		mcc, f1, pr, rc = append(mcc, p.MCC), append(f1, p.F1), append(pr, p.Precision), append(rc, p.Recall)
	}
	avg.MCC, avg.F1, avg.Precision, avg.Recall = meanDefined(mcc), meanDefined(f1), meanDefined(pr), meanDefined(rc)
	rep.Avg = avg
	return rep, nil
}

// LangPairs returns the report's language pairs in sorted order.
func (r *CriticalReport) LangPairs() []string {
	lps := make([]string, 0, len(r.Pairs))
	for lp := range r.Pairs {
		lps = append(lps, lp)
	}
	sort.Strings(lps)
	return lps
}

// WriteCriticalText prints the critical-error report as a table: one line
// per language pair and the macro average, then bad rows and notes.
func WriteCriticalText(w io.Writer, r *CriticalReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "model: %s %s (%s)\n", r.Model.Name, r.Model.Version, r.Model.Dir)
	fmt.Fprintf(&b, "critical-error detection (WMT21 CED): output=%s, positive class ERR (probability >= threshold)\n", r.Model.Output)
	fmt.Fprintf(&b, "rows: %d evaluated, %d skipped; scoring rate %s pairs/s\n\n", r.Avg.N, r.SkippedRows, fmtMetric(r.PairsPerS, 1))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pair\tn\tERR\tflagged\t|\tMCC\tF1(ERR)\tP\tR\tthr\t|\t")
	line := func(name string, p *CriticalPairReport) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t|\t%s\t%s\t%s\t%s\t%s\t|\t\n", name, p.N, p.Errors, p.Flagged,
			fmtMetric(p.MCC, 3), fmtMetric(p.F1, 3), fmtMetric(p.Precision, 3), fmtMetric(p.Recall, 3), fmtMetric(p.Threshold, 3))
	}
	for _, lp := range r.LangPairs() {
		line(lp, r.Pairs[lp])
	}
	line("avg", r.Avg)
	return finishText(w, &b, tw, len(r.BadRows), r.Notes)
}
