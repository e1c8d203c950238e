package ruleeval

import (
	"github.com/qegate/qegate/pipeline/rules"

	"fmt"
	"io"
	"math"
	"strings"
)

// RuleStats is what one rule, run alone, does on labelled pairs.
type RuleStats struct {
	// Rule is the rule's name, or "all" for the whole chain.
	Rule string
	// Flagged counts the pairs rejected.
	Flagged int
	// Bad counts the rejected pairs with DA < 51 (correct rejections).
	Bad int
	// Good70 counts the rejected pairs with DA >= 70 (wrongful rejections).
	Good70 int
	// AdvCaught counts the adversarial cases the rule rejects, by kind.
	AdvCaught map[string]int
}

// Precision is Bad/Flagged against the DA >= 51 labels; NaN when nothing
// was flagged.
func (s RuleStats) Precision() float64 {
	if s.Flagged == 0 {
		return math.NaN()
	}
	return float64(s.Bad) / float64(s.Flagged)
}

// Report is the rules' effect on a labelled set and an adversarial one.
type Report struct {
	// Pairs, BadPairs and Good70Pairs count the labelled pairs, those with
	// DA < 51 and those with DA >= 70.
	Pairs, BadPairs, Good70Pairs int
	// Rules holds each enabled rule run alone, then "all" (the chain).
	Rules []RuleStats
	// Cases counts the adversarial cases by kind.
	Cases map[string]int
	// CaughtBy counts, per kind, the cases the chain rejected, by the rule
	// that rejected them ("" = passed).
	CaughtBy map[string]map[string]int
	// NoReason counts chain rejections with an empty reason (must be 0).
	NoReason int
}

// Measure runs c over the labelled pairs and the adversarial cases.
func Measure(c *rules.Checker, pairs []Pair, adv []Case) Report {
	rep := Report{Cases: map[string]int{}, CaughtBy: map[string]map[string]int{}}
	names := append(c.Rules(), "all")
	stats := make([]RuleStats, len(names))
	for i, n := range names {
		stats[i] = RuleStats{Rule: n, AdvCaught: map[string]int{}}
	}
	run := func(i int, p Pair) bool {
		if names[i] == "all" {
			v := c.Check(p.Src, p.MT, p.SrcLang, p.TgtLang)
			if !v.Passed() && v.Reason == "" {
				rep.NoReason++
			}
			return !v.Passed()
		}
		return !c.CheckRule(names[i], p.Src, p.MT, p.SrcLang, p.TgtLang).Passed()
	}
	for _, p := range pairs {
		rep.Pairs++
		if p.DA < 51 {
			rep.BadPairs++
		}
		if p.DA >= 70 {
			rep.Good70Pairs++
		}
		for i := range names {
			if run(i, p) {
				stats[i].Flagged++
				if p.DA < 51 {
					stats[i].Bad++
				}
				if p.DA >= 70 {
					stats[i].Good70++
				}
			}
		}
	}
	for _, a := range adv {
		rep.Cases[a.Kind]++
		for i := range names {
			if run(i, a.Pair) {
				stats[i].AdvCaught[a.Kind]++
			}
		}
		if rep.CaughtBy[a.Kind] == nil {
			rep.CaughtBy[a.Kind] = map[string]int{}
		}
		rep.CaughtBy[a.Kind][c.Check(a.Pair.Src, a.Pair.MT, a.Pair.SrcLang, a.Pair.TgtLang).Rule]++
	}
	rep.Rules = stats
	return rep
}

// Stats returns the row of one rule ("all" for the chain).
func (r Report) Stats(rule string) (RuleStats, bool) {
	for _, s := range r.Rules {
		if s.Rule == rule {
			return s, true
		}
	}
	return RuleStats{}, false
}

// Caught is the share of the adversarial cases of kind the chain rejects.
func (r Report) Caught(kind string) float64 {
	n := r.Cases[kind]
	if n == 0 {
		return math.NaN()
	}
	return 1 - float64(r.CaughtBy[kind][""])/float64(n)
}

// WriteMarkdown prints the report's tables.
func (r Report) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "Labelled pairs: %d (DA < 51: %d, %.1f%%; DA >= 70: %d)\n\n", r.Pairs, r.BadPairs,
		100*float64(r.BadPairs)/float64(max(r.Pairs, 1)), r.Good70Pairs)
	fmt.Fprintln(w, "| rule (alone) | dev flagged | precision (DA < 51) | wrongly rejected DA >= 70 | adversarial caught |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: |")
	total := 0
	for _, n := range r.Cases {
		total += n
	}
	for _, s := range r.Rules {
		caught := 0
		for _, n := range s.AdvCaught {
			caught += n
		}
		fmt.Fprintf(w, "| %s | %d | %s | %d | %d / %d |\n", s.Rule, s.Flagged, pct(s.Precision()), s.Good70, caught, total)
	}
	fmt.Fprintln(w)
	rules := make([]string, 0, len(r.Rules))
	for _, s := range r.Rules {
		if s.Rule != "all" {
			rules = append(rules, s.Rule)
		}
	}
	fmt.Fprintf(w, "| failure kind | cases | caught | by rule (first in chain) |\n| --- | ---: | ---: | --- |\n")
	for _, k := range Kinds {
		n := r.Cases[k]
		if n == 0 {
			continue
		}
		var by []string
		for _, rule := range rules {
			if m := r.CaughtBy[k][rule]; m > 0 {
				by = append(by, fmt.Sprintf("%s %d", rule, m))
			}
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s |\n", k, n, pct(r.Caught(k)), strings.Join(by, ", "))
	}
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*x)
}
