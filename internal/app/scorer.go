package app

import (
	"fmt"
	"sort"
	"strings"

	"github.com/qegate/qegate/scorer"
)

// OpenScorer loads the configured model once and applies the configured
// threshold overrides to it.
func OpenScorer(mc ModelConfig) (*scorer.Scorer, error) {
	sc, err := scorer.New(mc.Config)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if len(mc.Thresholds) > 0 {
		t := sc.Thresholds()
		for lp, v := range mc.Thresholds {
			if lp == "default" {
				t.Default = float32(v)
				continue
			}
			t.ByLangPair[strings.ToLower(lp)] = float32(v)
		}
		sc.SetThresholds(t)
	}
	return sc, nil
}

// LangPairs lists the language pairs the model has quality thresholds for
// plus the configured allow-list: the pairs whose output topics must exist.
// The critical output's pairs (the WMT21 CED pairs, e.g. en-cs, en-ja) are
// not among them: a threshold for catching critical errors there does not
// make the pair one the deployment serves.
func LangPairs(sc GateScorer, extra []string) []string {
	seen := map[string]bool{}
	for _, o := range sc.Manifest().Outputs {
		if o.Kind == scorer.KindCritical {
			continue
		}
		for lp := range o.Thresholds {
			seen[lp] = true
		}
	}
	for _, lp := range extra {
		seen[strings.ToLower(lp)] = true
	}
	out := make([]string, 0, len(seen))
	for lp := range seen {
		out = append(out, lp)
	}
	sort.Strings(out)
	return out
}
