package evaluate

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
)

// Verdict is a rule prefilter's answer for one row: the rule that rejected
// it, or "" (pipeline/rules.Checker.Check(...).Rule).
type Verdict func(r Row) (rule string)

// RulesReport is the effect of the rule prefilters on labelled data: what
// each rule rejects, how often rightly, and the metrics of the whole gate
// (rules first, then the model) beside the model's alone.
type RulesReport struct {
	// Rejected counts the rows a rule rejected, of Rows scored.
	Rejected int `json:"rejected"`
	Rows     int `json:"rows"`
	// ByRule is per rule: rejected rows, how many are below DA 51
	// (rightly rejected), precision against DA < 51, and how many good
	// rows (DA >= 70) it wrongly rejected.
	ByRule map[string]*RuleReport `json:"by_rule"`
	// Gate is the average over language pairs of the gate's metrics: a
	// rejected row counts as predicted unacceptable at both cuts.
	Gate *PairReport `json:"gate_avg"`
}

// RuleReport is one rule's line of a RulesReport.
type RuleReport struct {
	Rejected  int    `json:"rejected"`
	Below51   int    `json:"below51"`
	Good70    int    `json:"good70_rejected"`
	Precision Metric `json:"precision"`
}

// EvaluateRules runs verdict on every scored row and reports the rules'
// effect; outputs are the model's, as for Evaluate.
func EvaluateRules(m *ManifestView, rows []Row, outputs [][]float32, verdict Verdict) *RulesReport {
	rep := &RulesReport{ByRule: map[string]*RuleReport{}}
	i51, i70 := m.ClassifierFor(Cut51), m.ClassifierFor(Cut70)
	gated := make([][]float32, len(outputs))
	scored := m.Scored(outputs)
	for i := range outputs {
		gated[i] = outputs[i]
		if !scored(i) {
			continue
		}
		rep.Rows++
		rule := verdict(rows[i])
		if rule == "" {
			continue
		}
		rep.Rejected++
		rr := rep.ByRule[rule]
		if rr == nil {
			rr = &RuleReport{}
			rep.ByRule[rule] = rr
		}
		rr.Rejected++
		if da := rows[i].DA; da != nil {
			if *da < Cut51 {
				rr.Below51++
			}
			if *da >= Cut70 {
				rr.Good70++
			}
		}
		g := append([]float32(nil), outputs[i]...)
		g[i51], g[i70] = -math.MaxFloat32, -math.MaxFloat32 // below any threshold
		gated[i] = g
	}
	for _, rr := range rep.ByRule {
		rr.Precision = Metric(ratio(rr.Below51, rr.Rejected))
	}
	rep.Gate = Evaluate(m, rows, gated).Avg
	return rep
}

// WriteRulesText prints the rules' effect after the model's report.
func WriteRulesText(w io.Writer, model *PairReport, r *RulesReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nrule prefilters: %d of %d rows rejected before the model\n", r.Rejected, r.Rows)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rule\trejected\tDA<51\tprecision\tDA>=70 rejected\t")
	names := make([]string, 0, len(r.ByRule))
	for n := range r.ByRule {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rr := r.ByRule[n]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t\n", n, rr.Rejected, rr.Below51, fmtMetric(rr.Precision, 3), rr.Good70)
	}
	_ = tw.Flush()
	fmt.Fprintf(&b, "avg F1 at 51: model %s, rules+model %s; at 70: model %s, rules+model %s\n",
		fmtMetric(model.At51.F1, 3), fmtMetric(r.Gate.At51.F1, 3), fmtMetric(model.At70.F1, 3), fmtMetric(r.Gate.At70.F1, 3))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
