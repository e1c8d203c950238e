package ruleeval

import (
	"github.com/qegate/qegate/pipeline/rules"

	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"
)

// Failure kinds of the synthetic adversarial set.
const (
	KindCopy          = "copy"
	KindNearCopy      = "near_copy"
	KindWrongScript   = "wrong_script"
	KindWrongLanguage = "wrong_language"
	KindNumberEdit    = "number_edit"
	KindPlaceholder   = "placeholder_drop"
	KindTagDrop       = "tag_drop"
	KindURLDrop       = "url_email_drop"
	KindTruncation    = "truncation"
	KindLoop          = "loop"
	KindUnrelated     = "unrelated"
	KindEmpty         = "empty"
)

// Kinds lists the failure kinds in report order.
var Kinds = []string{KindEmpty, KindCopy, KindNearCopy, KindWrongScript, KindWrongLanguage,
	KindNumberEdit, KindPlaceholder, KindTagDrop, KindURLDrop, KindTruncation, KindLoop, KindUnrelated}

// Case is one synthetic bad pair built from a good one.
type Case struct {
	// Kind is the failure injected, one of Kinds.
	Kind string
	// Pair is the corrupted pair (DA is NaN: it has no human label).
	Pair Pair
	// Base is the index of the pair it was built from.
	Base int
}

// AdversarialBaseDA is the DA a pair needs to serve as the base of an
// adversarial case, so that the injected failure is its only defect.
const AdversarialBaseDA = 70

// Adversarial builds up to perKind cases of every kind per language pair
// from pairs (MLQE-PE dev), reproducibly from seed.
func Adversarial(pairs []Pair, seed uint64, perKind int) []Case {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	byLP := map[string][]int{}
	var lps []string
	for i, p := range pairs {
		if p.DA < AdversarialBaseDA {
			continue
		}
		lp := langPair(p.SrcLang, p.TgtLang)
		if _, ok := byLP[lp]; !ok {
			lps = append(lps, lp)
		}
		byLP[lp] = append(byLP[lp], i)
	}
	// Texts by (script, language), to take wrong-script and wrong-language
	// MT from: every source and MT side of the data.
	type text struct{ lang, s string }
	var pool []text
	for _, p := range pairs {
		pool = append(pool, text{rules.Language(p.SrcLang), p.Src}, text{rules.Language(p.TgtLang), p.MT})
	}
	var out []Case
	add := func(kind string, base int, src, mt string) {
		p := pairs[base]
		out = append(out, Case{Kind: kind, Base: base, Pair: Pair{Src: src, MT: mt, SrcLang: p.SrcLang, TgtLang: p.TgtLang, DA: math.NaN()}})
	}
	for _, lp := range lps {
		idx := byLP[lp]
		made := map[string]int{}
		perm := rng.Perm(len(idx))
		for _, k := range perm {
			i := idx[k]
			p := pairs[i]
			tgt := rules.Language(p.TgtLang)
			want := rules.Scripts(tgt)
			try := func(kind string, f func() (string, string, bool)) {
				if made[kind] >= perKind {
					return
				}
				if src, mt, ok := f(); ok {
					add(kind, i, src, mt)
					made[kind]++
				}
			}
			try(KindEmpty, func() (string, string, bool) {
				return p.Src, []string{"", " ", "\t\n", "\u200b", " \u00a0 "}[rng.IntN(5)], true
			})
			try(KindCopy, func() (string, string, bool) { return p.Src, p.Src, true })
			try(KindNearCopy, func() (string, string, bool) {
				w := strings.Fields(p.Src)
				if len(w) < 6 {
					return "", "", false
				}
				j := rng.IntN(len(w))
				w = append(w[:j:j], w[j+1:]...) // drop one word
				return p.Src, strings.TrimRight(strings.Join(w, " "), ".") + " .", true
			})
			try(KindWrongScript, func() (string, string, bool) {
				for range 50 {
					t := pool[rng.IntN(len(pool))]
					if want != nil && letterShare(t.s, want) < 0.2 && len([]rune(t.s)) > 10 {
						return p.Src, t.s, true
					}
				}
				return "", "", false
			})
			try(KindWrongLanguage, func() (string, string, bool) {
				for range 50 {
					t := pool[rng.IntN(len(pool))]
					if want != nil && t.lang != tgt && letterShare(t.s, want) > 0.9 && len([]rune(t.s)) > 10 {
						return p.Src, t.s, true
					}
				}
				return "", "", false
			})
			try(KindNumberEdit, func() (string, string, bool) {
				for _, n := range rules.PlainNumbers(p.Src) {
					if len(n) < 2 || !strings.Contains(p.MT, n) {
						continue
					}
					v, err := strconv.Atoi(n)
					if err != nil {
						continue
					}
					return p.Src, strings.Replace(p.MT, n, strconv.Itoa(v+1+rng.IntN(90)), 1), true
				}
				return "", "", false
			})
			try(KindPlaceholder, func() (string, string, bool) {
				ph := []string{"{0}", "{name}", "%s", "%1$s", "${count}", "{{user}}", "%d"}[rng.IntN(7)]
				src, ok := insertAfterWord(p.Src, ph, rng)
				return src, p.MT, ok
			})
			try(KindTagDrop, func() (string, string, bool) {
				w := strings.Fields(p.Src)
				if len(w) < 3 {
					return "", "", false
				}
				j := rng.IntN(len(w) - 1)
				if rng.IntN(2) == 0 {
					w[j] = "<b>" + w[j] + "</b>"
				} else {
					w[j] += " <br/>"
				}
				return strings.Join(w, " "), p.MT, true
			})
			try(KindURLDrop, func() (string, string, bool) {
				id := strconv.Itoa(rng.IntN(1000))
				switch rng.IntN(3) {
				case 0:
					return p.Src + " See https://example.org/docs/page-" + id + ".", p.MT, true
				case 1:
					return p.Src + " See https://example.org/docs/page-" + id + ".", p.MT + " https://example.org/dokumente/seite-" + id + ".", true
				default:
					return p.Src + " Contact help" + id + "@example.com.", p.MT, true
				}
			})
			try(KindTruncation, func() (string, string, bool) {
				w := tokensKeep(p.MT)
				if len(w) < 9 {
					return "", "", false
				}
				return p.Src, strings.Join(w[:len(w)/3], sep(p.MT)), true
			})
			try(KindLoop, func() (string, string, bool) {
				w := tokensKeep(p.MT)
				if len(w) < 4 {
					return "", "", false
				}
				n := 1 + rng.IntN(3)
				j := rng.IntN(len(w) - n + 1)
				gram := strings.Join(w[j:j+n], sep(p.MT))
				loop := strings.Repeat(sep(p.MT)+gram, 4+rng.IntN(4))
				return p.Src, strings.Join(w[:j+n], sep(p.MT)) + loop, true
			})
			try(KindUnrelated, func() (string, string, bool) {
				o := idx[rng.IntN(len(idx))]
				if o == i {
					return "", "", false
				}
				return p.Src, pairs[o].MT, true
			})
		}
	}
	return out
}

// langPair is the rules' language-pair key ("en-de"), to group pairs by.
func langPair(srcLang, tgtLang string) string {
	return rules.Language(srcLang) + "-" + rules.Language(tgtLang)
}

// letterShare is the share of s's letters in the given scripts.
func letterShare(s string, ts []*unicode.RangeTable) float64 {
	var n, in int
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
			if unicode.IsOneOf(ts, r) {
				in++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return float64(in) / float64(n)
}

// tokensKeep splits MT into words, or characters for text without spaces.
func tokensKeep(s string) []string {
	if sep(s) == "" {
		var out []string
		for _, r := range s {
			out = append(out, string(r))
		}
		return out
	}
	return strings.Fields(s)
}

func sep(s string) string {
	if strings.Count(s, " ") < len([]rune(s))/20 {
		return ""
	}
	return " "
}

func insertAfterWord(s, ph string, rng *rand.Rand) (string, bool) {
	w := strings.Fields(s)
	if len(w) < 2 {
		return "", false
	}
	j := rng.IntN(len(w) - 1)
	w[j] += " " + ph
	return strings.Join(w, " "), true
}
