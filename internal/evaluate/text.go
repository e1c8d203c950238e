package evaluate

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

func fmtMetric(m Metric, prec int) string {
	if !m.Defined() {
		return "n/a"
	}
	return fmt.Sprintf("%.*f", prec, float64(m))
}

// WriteText prints the report as a table: one line per language pair and the
// macro average, then bad rows and notes.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "model: %s %s (%s)\n", r.Model.Name, r.Model.Version, r.Model.Dir)
	fmt.Fprintf(&b, "outputs: correlation=%s at51=%s at70=%s\n", r.Model.CorrelationOutput, r.Model.At51Output, r.Model.At70Output)
	fmt.Fprintf(&b, "rows: %d evaluated, %d skipped; scoring rate %s pairs/s\n\n", r.Avg.N, r.SkippedRows, fmtMetric(r.PairsPerS, 1))

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pair\tn\tgold\tpearson\tspearman\t|\t51:f1\tmacroF1\tP\tR\tMCC\tthr\t|\t70:f1\tmacroF1\tP\tR\tMCC\tthr\t|\t")
	line := func(name string, p *PairReport) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t|", name, p.N, orDash(p.CorrelationGold), fmtMetric(p.Pearson, 3), fmtMetric(p.Spearman, 3))
		for _, c := range []*BinaryReport{p.At51, p.At70} {
			fmt.Fprintf(tw, "\t%s\t%s\t%s\t%s\t%s\t%s\t|", fmtMetric(c.F1, 3), fmtMetric(c.MacroF1, 3), fmtMetric(c.Precision, 3),
				fmtMetric(c.Recall, 3), fmtMetric(c.MCC, 3), fmtMetric(c.Threshold, 3))
		}
		fmt.Fprint(tw, "\t\n")
	}
	for _, lp := range r.LangPairs() {
		line(lp, r.Pairs[lp])
	}
	line("avg", r.Avg)
	return finishText(w, &b, tw, len(r.BadRows), r.Notes)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// finishText ends a text report: it flushes the table in tw (writing
// into b), says how many rows were skipped and lists the notes, then
// writes b to w.
func finishText(w io.Writer, b *strings.Builder, tw *tabwriter.Writer, badRows int, notes []string) error {
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if badRows > 0 {
		fmt.Fprintf(b, "\nskipped rows (%d): see stderr\n", badRows)
	}
	if len(notes) > 0 {
		b.WriteString("\nnotes:\n")
		for _, n := range notes {
			fmt.Fprintf(b, "  - %s\n", n)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
