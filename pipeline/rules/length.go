package rules

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"unicode"
)

//go:generate go run ../../internal/evaluate/ruleeval/genbounds -o length_bounds.json

// WideWeight is how many Latin characters one CJK character counts as in
// lengths. Chosen so that the median en-zh ratio on MLQE-PE train is close
// to the other pairs' (about 1), which lets a single fallback serve pairs
// that are not in the table.
const WideWeight = 3

// Units is the length used by the length-ratio rule: characters that are
// not space or control, CJK ones weighted WideWeight.
func Units(s string) float64 {
	n := 0
	for _, r := range s {
		switch {
		case r < 0x80:
			if r > ' ' && r != 0x7f {
				n++
			}
		case isWide(r):
			n += WideWeight
		case !unicode.IsSpace(r) && !unicode.IsControl(r) && !unicode.Is(unicode.Cf, r):
			n++
		}
	}
	return float64(n)
}

// BoundsTable is the embedded length_bounds.json: per quantile level, the
// ratio bounds per language pair and a fallback fitted on all pairs.
type BoundsTable struct {
	// Source says what the table was fitted on.
	Source string `json:"source"`
	// MinDA is the DA threshold of the pairs it was fitted on.
	MinDA float64 `json:"min_da"`
	// WideWeight is the weight of CJK characters it was fitted with.
	WideWeight int `json:"wide_weight"`
	// Pairs is how many pairs each language pair contributed.
	Pairs map[string]int `json:"pairs"`
	// Levels maps a quantile level ("0.005") to its bounds.
	Levels map[string]LevelBounds `json:"levels"`
}

// LevelBounds are [q, 1-q] quantiles of mt/src length.
type LevelBounds struct {
	// ByPair holds the bounds per language pair ("en-de").
	ByPair map[string][2]float64 `json:"by_pair"`
	// Fallback holds the bounds of all pairs pooled.
	Fallback [2]float64 `json:"fallback"`
}

//go:embed length_bounds.json
var boundsJSON []byte

// shippedTable decodes the embedded table once. An error (a table from an
// older WideWeight) is reported by New rather than panicking at start-up,
// so that genbounds (internal/evaluate/ruleeval), which imports this
// package, can still regenerate it.
var shippedTable = sync.OnceValues(func() (BoundsTable, error) {
	var t BoundsTable
	if err := json.Unmarshal(boundsJSON, &t); err != nil {
		return t, fmt.Errorf("rules: embedded length_bounds.json: %w", err)
	}
	if t.WideWeight != WideWeight {
		return t, fmt.Errorf("rules: length_bounds.json was fitted with wide_weight %d, the code uses %d: run go generate ./pipeline/rules", t.WideWeight, WideWeight)
	}
	return t, nil
})

// Levels are the quantile levels of the bounds table (ruleeval.FitBounds
// fits each).
var Levels = []float64{0.001, 0.005, 0.01, 0.025}

// LevelKey is the key of quantile level q in BoundsTable.Levels ("0.005").
func LevelKey(q float64) string { return strconv.FormatFloat(q, 'f', -1, 64) }

// ShippedBounds returns a copy of the embedded table's bounds at level q.
func ShippedBounds(q float64) (LevelBounds, bool) {
	t, err := shippedTable()
	if err != nil {
		return LevelBounds{}, false
	}
	lb, ok := t.Levels[LevelKey(q)]
	return lb, ok
}

func loadBounds(cfg LengthRatioConfig) (map[string][2]float64, [2]float64, error) {
	t, err := shippedTable()
	if err != nil {
		return nil, [2]float64{}, err
	}
	lb, ok := t.Levels[LevelKey(cfg.Quantile)]
	if !ok {
		return nil, [2]float64{}, fmt.Errorf("rules.length_ratio.quantile: %v: not in the table", cfg.Quantile)
	}
	widen := func(b [2]float64) [2]float64 { return [2]float64{b[0] / cfg.Slack, b[1] * cfg.Slack} }
	m := make(map[string][2]float64, len(lb.ByPair)+len(cfg.Bounds))
	for lp, b := range lb.ByPair {
		m[lp] = widen(b)
	}
	fb := widen(lb.Fallback)
	for lp, b := range cfg.Bounds {
		if lp == "*" {
			fb = [2]float64{b[0], b[1]}
			continue
		}
		m[lp] = [2]float64{b[0], b[1]}
	}
	return m, fb, nil
}

// checkLength rejects MT too short or too long for its source.
func (c *Checker) checkLength(src, mt, lp, _ string) (string, bool) {
	su := Units(src)
	if su < float64(c.cfg.LengthRatio.MinSrcChars) || su == 0 {
		return "", false
	}
	b, ok := c.bounds[lp]
	if !ok {
		b = c.fallbk
	}
	r := Units(mt) / su
	if r >= b[0] && r <= b[1] {
		return "", false
	}
	which := "MT too short"
	if r > b[1] {
		which = "MT too long"
	}
	return fmt.Sprintf("length ratio: %s (%.2f of the source, bounds [%.2f, %.2f] for %s)", which, r, b[0], b[1], short(lp)), true
}
