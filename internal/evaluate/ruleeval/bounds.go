package ruleeval

import (
	"math"
	"sort"

	"github.com/qegate/qegate/pipeline/rules"
)

// FitBounds computes the length-ratio bounds table of pipeline/rules from
// labelled pairs: for each language pair and level of rules.Levels, the q
// and 1-q quantiles of the length ratio (rules.Units) of the pairs with
// DA >= minDA whose source is at least minSrc units long.
func FitBounds(pairs []Pair, minDA, minSrc float64, source string) rules.BoundsTable {
	by := map[string][]float64{}
	var all []float64
	for _, p := range pairs {
		su := rules.Units(p.Src)
		if p.DA < minDA || su < minSrc || su == 0 {
			continue
		}
		r := rules.Units(p.MT) / su
		lp := langPair(p.SrcLang, p.TgtLang)
		by[lp] = append(by[lp], r)
		all = append(all, r)
	}
	t := rules.BoundsTable{Source: source, MinDA: minDA, WideWeight: rules.WideWeight, Pairs: map[string]int{}, Levels: map[string]rules.LevelBounds{}}
	for lp, v := range by {
		sort.Float64s(v)
		t.Pairs[lp] = len(v)
	}
	sort.Float64s(all)
	for _, q := range rules.Levels {
		lb := rules.LevelBounds{ByPair: map[string][2]float64{}}
		for lp, v := range by {
			lb.ByPair[lp] = [2]float64{round3(quantile(v, q)), round3(quantile(v, 1-q))}
		}
		lb.Fallback = [2]float64{round3(quantile(all, q)), round3(quantile(all, 1-q))}
		t.Levels[rules.LevelKey(q)] = lb
	}
	return t
}

// quantile of sorted v, linear interpolation.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(v)-1)
	i := int(pos)
	if i+1 >= len(v) {
		return v[len(v)-1]
	}
	f := pos - float64(i)
	return v[i]*(1-f) + v[i+1]*f
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
