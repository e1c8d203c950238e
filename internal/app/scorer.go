package app

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/scorer"
)

// GateScorer is what Build needs of a model: it scores, and its manifest
// and pool size name and size the gate. *scorer.Scorer and
// *scorer.Reloading are one.
type GateScorer interface {
	Score(ctx context.Context, pairs []qe.Pair) ([]qe.Result, error)
	Manifest() *scorer.Manifest
	Model() qe.ModelID
	PoolSize() (sessions, intraOpThreads int)
}

// OpenScorer loads the configured model once (its threshold overrides
// applied).
func OpenScorer(mc ModelConfig) (*scorer.Scorer, error) {
	sc, err := scorer.New(mc.Config)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
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
