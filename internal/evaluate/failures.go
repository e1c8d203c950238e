package evaluate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// FailureOptions say how BuildFailures draws its sets.
type FailureOptions struct {
	// GoodDA is the least mean DA of a pair in the Good set: translations
	// humans rated good, which the gate should publish. Zero means 70.
	GoodDA float64
	// Seed makes the draw reproducible; the same data and seed give the
	// same sets.
	Seed uint64
}

// Case is one evaluation pair as `qegate filter` reads JSONL (id, src, mt,
// src_lang, tgt_lang; the other fields are carried through to its
// outputs).
type Case struct {
	ID      string `json:"id"`
	Src     string `json:"src"`
	MT      string `json:"mt"`
	SrcLang string `json:"src_lang"`
	TgtLang string `json:"tgt_lang"`
	// Set is "unrelated", "cut" or "good".
	Set string `json:"set"`
	// Line is the source row's line in its data file; for an unrelated
	// case MTLine is the line whose MT it carries.
	Line   int `json:"line"`
	MTLine int `json:"mt_line,omitempty"`
}

// FailureSets are the sets of MT failures users fear most, built from
// labelled pairs, and the good pairs a gate must not lose to catch them.
type FailureSets struct {
	// Unrelated pairs a source with the MT of another sentence of its
	// language pair: a fluent translation of something else (a
	// hallucination, or a misaligned pair of a mined corpus). Should be
	// rejected.
	Unrelated []Case
	// Cut pairs a source with the first third of its MT (at a word
	// boundary; by characters for text without spaces): a truncated
	// translation. Should be rejected.
	Cut []Case
	// Good holds the pairs rated at least GoodDA, unchanged. Should be
	// published.
	Good []Case
}

// BuildFailures makes the three sets from every row with a source and an
// MT (Good needs a DA label too). Within each language pair the MTs are
// moved along a seeded random cycle, so every source gets the MT of
// another sentence and every MT is used once; a pair whose new MT is
// textually its own (a duplicated sentence) is left out of Unrelated.
// Output is ordered by language pair, then file and line.
func BuildFailures(rows []Row, opt FailureOptions) FailureSets {
	if opt.GoodDA == 0 {
		opt.GoodDA = 70
	}
	byLP := map[string][]Row{}
	for _, r := range rows {
		byLP[r.LangPair()] = append(byLP[r.LangPair()], r)
	}
	lps := make([]string, 0, len(byLP))
	for lp := range byLP {
		lps = append(lps, lp)
	}
	slices.Sort(lps)
	var sets FailureSets
	rng := splitMix(opt.Seed)
	for _, lp := range lps {
		pool := byLP[lp]
		slices.SortStableFunc(pool, func(a, b Row) int {
			return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
		})
		// next[i] is the row whose MT row i gets: the successor on one
		// random cycle through all rows, so no row keeps its own.
		next := make([]int, len(pool))
		if len(pool) > 1 {
			order := rng.perm(len(pool))
			for k, i := range order {
				next[i] = order[(k+1)%len(order)]
			}
		}
		for i, r := range pool {
			c := Case{Src: r.Src, MT: r.MT, SrcLang: r.SrcLang, TgtLang: r.TgtLang, Line: r.Line}
			id := fmt.Sprintf("%s-%d", lp, r.Line)
			if o := pool[next[i]]; len(pool) > 1 && o.MT != r.MT {
				u := c
				u.ID, u.Set, u.MT, u.MTLine = id+"-unrelated", "unrelated", o.MT, o.Line
				sets.Unrelated = append(sets.Unrelated, u)
			}
			cut := c
			cut.ID, cut.Set, cut.MT = id+"-cut", "cut", firstThird(r.MT)
			sets.Cut = append(sets.Cut, cut)
			if r.DA != nil && *r.DA >= opt.GoodDA {
				g := c
				g.ID, g.Set = id+"-good", "good"
				sets.Good = append(sets.Good, g)
			}
		}
	}
	return sets
}

// firstThird is the first third of a text: whole words when it has at
// least three space-separated words (rounded, at least one), else
// characters, the way the training recipe cuts (train/qegate_train/
// augment.py _cut).
func firstThird(s string) string {
	if words := strings.Split(s, " "); len(words) >= 3 {
		return strings.Join(words[:max(1, roundDiv(len(words), 3))], " ")
	}
	r := []rune(s)
	return string(r[:max(1, roundDiv(len(r), 3))])
}

// roundDiv is n/d rounded half to even, as Python's round does.
func roundDiv(n, d int) int {
	q, rem := n/d, n%d
	switch {
	case 2*rem > d, 2*rem == d && q%2 == 1:
		return q + 1
	}
	return q
}
