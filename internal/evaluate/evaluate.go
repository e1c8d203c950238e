package evaluate

import (
	"fmt"
	"sort"
)

// The DA cuts that eval reports: acceptable when mean DA >= 51 (understandable,
// conveys the meaning) and the stricter >= 70.
const (
	Cut51 = 51.0
	Cut70 = 70.0
)

// GoldAt returns a row's gold decision at a DA cut: DA >= cut when the row has a
// DA label, else its `acceptable` boolean when boolCut equals cut (the cut that the
// booleans are taken to mean). ok is false when the row has no usable label.
func GoldAt(r Row, cut, boolCut float64) (acceptable, ok bool) {
	if r.DA != nil {
		return *r.DA >= cut, true
	}
	if r.Acceptable != nil && cut == boolCut {
		return *r.Acceptable, true
	}
	return false, false
}

// BoolCut is the DA cut that `acceptable` booleans are compared at: the
// decision output's da_threshold when it is 51 or 70, else 51.
func (m *ManifestView) BoolCut() float64 {
	if t := m.Outputs[m.DecisionIndex()].DAThreshold; t != nil && (*t == Cut51 || *t == Cut70) {
		return *t
	}
	return Cut51
}

// Group splits row indices by language pair.
func Group(rows []Row, keep func(i int) bool) map[string][]int {
	g := map[string][]int{}
	for i, r := range rows {
		if keep == nil || keep(i) {
			g[r.LangPair()] = append(g[r.LangPair()], i)
		}
	}
	return g
}

// Evaluate computes the report for scored rows; outputs[i] holds row i's model
// outputs in manifest order (nil rows were not scored and are left out). It never
// fails: metrics without labels are skipped with a note and undefined metrics
// (constant predictions, a single row) are NaN with a note.
func Evaluate(m *ManifestView, rows []Row, outputs [][]float32) *Report {
	corrIdx, i51, i70 := m.CorrelationIndex(), m.ClassifierFor(Cut51), m.ClassifierFor(Cut70)
	rep := &Report{
		Model: ModelReport{
			Name: m.Name, Version: m.Version, Dir: m.Dir,
			CorrelationOutput: m.Outputs[corrIdx].Name,
			At51Output:        m.Outputs[i51].Name,
			At70Output:        m.Outputs[i70].Name,
		},
		Pairs:     map[string]*PairReport{},
		PairsPerS: NaN,
		BadRows:   []BadRow{},
		Notes:     []string{},
	}
	note := func(format string, args ...any) { rep.Notes = append(rep.Notes, fmt.Sprintf(format, args...)) }
	if m.Outputs[corrIdx].Kind != "regression" {
		note("model has no regression output: pearson/spearman use the decision output %q", m.Outputs[corrIdx].Name)
	}
	for _, c := range []struct {
		cut float64
		idx int
	}{{Cut51, i51}, {Cut70, i70}} {
		o := m.Outputs[c.idx]
		if o.DAThreshold == nil || *o.DAThreshold != c.cut {
			note("model has no classification output for DA >= %g: at%g uses the decision output %q", c.cut, c.cut, o.Name)
		}
	}
	boolCut := m.BoolCut()
	usedBool := false

	groups := Group(rows, m.Scored(outputs))
	lps := make([]string, 0, len(groups))
	for lp := range groups {
		lps = append(lps, lp)
	}
	sort.Strings(lps)
	for _, lp := range lps {
		idx := groups[lp]
		pr := &PairReport{N: len(idx), Pearson: NaN, Spearman: NaN}
		rep.Pairs[lp] = pr

		// Correlation: against z when the pair has z labels, else DA.
		var nz, nda int
		for _, i := range idx {
			if rows[i].Z != nil {
				nz++
			}
			if rows[i].DA != nil {
				nda++
			}
		}
		var pred, gold []float64
		switch {
		case nz > 0:
			pr.CorrelationGold = "z"
			for _, i := range idx {
				if rows[i].Z != nil {
					pred = append(pred, float64(outputs[i][corrIdx]))
					gold = append(gold, *rows[i].Z)
				}
			}
		case nda > 0:
			pr.CorrelationGold = "da"
			for _, i := range idx {
				if rows[i].DA != nil {
					pred = append(pred, float64(outputs[i][corrIdx]))
					gold = append(gold, *rows[i].DA)
				}
			}
		}
		if pr.CorrelationGold == "" {
			note("%s: no z or da labels: pearson/spearman skipped", lp)
		} else {
			if len(gold) < len(idx) {
				note("%s: pearson/spearman over the %d of %d rows with a %s label", lp, len(gold), len(idx), pr.CorrelationGold)
			}
			pr.Pearson, pr.Spearman = Metric(Pearson(pred, gold)), Metric(Spearman(pred, gold))
			if !pr.Pearson.Defined() {
				note("%s: pearson/spearman undefined (%s): reported as null", lp, whyUndefined(pred, gold))
			}
		}

		// Classification at each cut.
		for _, c := range []struct {
			cut float64
			idx int
			dst **BinaryReport
		}{{Cut51, i51, &pr.At51}, {Cut70, i70, &pr.At70}} {
			o := m.Outputs[c.idx]
			th := o.Threshold(lp)
			var g, p []bool
			for _, i := range idx {
				a, ok := GoldAt(rows[i], c.cut, boolCut)
				if !ok {
					continue
				}
				if rows[i].DA == nil {
					usedBool = true
				}
				g = append(g, a)
				p = append(p, outputs[i][c.idx] >= th)
			}
			if len(g) == 0 {
				*c.dst = undefinedBinary()
				note("%s: no labels for DA >= %g: at%g skipped", lp, c.cut, c.cut)
				continue
			}
			cm := Count(g, p)
			b := &BinaryReport{
				N: len(g), Positives: cm.TP + cm.FN,
				F1: Metric(cm.F1()), MacroF1: Metric(cm.MacroF1()),
				Precision: Metric(cm.Precision()), Recall: Metric(cm.Recall()),
				MCC: Metric(cm.MCC()), Threshold: F32(th),
			}
			*c.dst = b
			if len(g) < len(idx) {
				note("%s: at%g over the %d of %d rows with a label for it", lp, c.cut, len(g), len(idx))
			}
			switch {
			case b.Positives == 0:
				note("%s: at%g: no gold-acceptable rows: recall and f1 are 0, mcc 0", lp, c.cut)
			case b.Positives == b.N:
				note("%s: at%g: every gold row is acceptable: mcc 0, unacceptable-class f1 0", lp, c.cut)
			}
			switch cm.TP + cm.FP {
			case 0:
				note("%s: at%g: nothing predicted acceptable (threshold %g): precision 0, mcc 0", lp, c.cut, th)
			case b.N:
				note("%s: at%g: everything predicted acceptable (threshold %g): mcc 0", lp, c.cut, th)
			}
		}
	}
	if usedBool {
		note("rows with only an `acceptable` label count as gold at DA >= %g (the decision output's cut)", boolCut)
	}
	rep.Avg = average(rep, lps)
	return rep
}

func whyUndefined(pred, gold []float64) string {
	if len(pred) < 2 {
		return "fewer than 2 rows"
	}
	switch {
	case isConstant(pred) && isConstant(gold):
		return "constant predictions and gold"
	case isConstant(pred):
		return "constant predictions"
	default:
		return "constant gold"
	}
}

// meanDefined averages the defined values; NaN when none is.
func meanDefined(v []Metric) Metric {
	var s float64
	n := 0
	for _, x := range v {
		if x.Defined() {
			s += float64(x)
			n++
		}
	}
	if n == 0 {
		return NaN
	}
	return Metric(s / float64(n))
}

// average is the macro average over pairs (each pair weighs the same).
func average(rep *Report, lps []string) *PairReport {
	avg := &PairReport{Pearson: NaN, Spearman: NaN, At51: undefinedBinary(), At70: undefinedBinary()}
	var pe, sp []Metric
	gold := map[string]bool{}
	for _, lp := range lps {
		p := rep.Pairs[lp]
		avg.N += p.N
		pe, sp = append(pe, p.Pearson), append(sp, p.Spearman)
		if p.CorrelationGold != "" {
			gold[p.CorrelationGold] = true
		}
	}
	avg.Pearson, avg.Spearman = meanDefined(pe), meanDefined(sp)
	switch {
	case len(gold) == 1:
		for g := range gold {
			avg.CorrelationGold = g
		}
	case len(gold) > 1:
		avg.CorrelationGold = "mixed"
		rep.Notes = append(rep.Notes, "avg: pearson/spearman mix pairs measured against z and against da")
	}
	if k := countDefined(pe); k > 0 && k < len(lps) {
		rep.Notes = append(rep.Notes, fmt.Sprintf("avg: pearson/spearman over the %d of %d pairs where defined", k, len(lps)))
	}
	for _, c := range []struct {
		name string
		get  func(*PairReport) *BinaryReport
		dst  *BinaryReport
	}{
		{"at51", func(p *PairReport) *BinaryReport { return p.At51 }, avg.At51},
		{"at70", func(p *PairReport) *BinaryReport { return p.At70 }, avg.At70},
	} {
		var f1, mf1, pr, rc, mcc []Metric
		for _, lp := range lps {
			b := c.get(rep.Pairs[lp])
			if b == nil || b.N == 0 {
				continue
			}
			c.dst.N += b.N
			c.dst.Positives += b.Positives
			f1, mf1, pr, rc, mcc = append(f1, b.F1), append(mf1, b.MacroF1), append(pr, b.Precision), append(rc, b.Recall), append(mcc, b.MCC)
		}
		if len(f1) > 0 && len(f1) < len(lps) {
			rep.Notes = append(rep.Notes, fmt.Sprintf("avg: %s over the %d of %d pairs with labels", c.name, len(f1), len(lps)))
		}
		c.dst.F1, c.dst.MacroF1, c.dst.Precision, c.dst.Recall, c.dst.MCC = meanDefined(f1), meanDefined(mf1), meanDefined(pr), meanDefined(rc), meanDefined(mcc)
	}
	return avg
}

func countDefined(v []Metric) int {
	n := 0
	for _, x := range v {
		if x.Defined() {
			n++
		}
	}
	return n
}
