package evaluate

import (
	"cmp"
	"fmt"
	"slices"
)

// ParagraphOptions say how BuildParagraphs joins sentence pairs.
type ParagraphOptions struct {
	// Sentences is how many sentence pairs one paragraph joins. Zero
	// means 5.
	Sentences int
	// MinDA is the least mean DA of a sentence pair that may enter a
	// paragraph: the paragraphs are made of translations humans rated
	// good. Zero means 70.
	MinDA float64
	// Seed makes the draw reproducible; the same data and seed give the
	// same paragraphs.
	Seed uint64
}

func (o ParagraphOptions) withDefaults() ParagraphOptions {
	if o.Sentences <= 0 {
		o.Sentences = 5
	}
	if o.MinDA == 0 {
		o.MinDA = 70
	}
	return o
}

// Paragraph is one long input for the gate: sentence pairs of one language
// pair joined, as `qegate filter` reads JSONL (id, src, mt, src_lang,
// tgt_lang; the other fields are carried through to its outputs).
type Paragraph struct {
	ID      string `json:"id"`
	Src     string `json:"src"`
	MT      string `json:"mt"`
	SrcLang string `json:"src_lang"`
	TgtLang string `json:"tgt_lang"`
	// Set is "clean" (every MT sentence is the human-rated one) or "bad"
	// (one MT sentence replaced by the MT of an unrelated source).
	Set string `json:"set"`
	// Replaced is the index of the replaced MT sentence in a bad
	// paragraph; absent in a clean one.
	Replaced *int `json:"replaced,omitempty"`
	// Lines are the sentence pairs' lines in their data file.
	Lines []int `json:"lines"`
}

// ParagraphSets are the evaluation sets BuildParagraphs makes.
type ParagraphSets struct {
	// Clean paragraphs should be published, Bad ones (one MT sentence
	// replaced) rejected.
	Clean, Bad []Paragraph
	// Replaced holds, for each bad paragraph, its replaced sentence pair
	// alone (the source sentence with the unrelated MT; set "replaced"):
	// what the model must reject for the paragraph to be rejected.
	Replaced []Paragraph
}

// BuildParagraphs makes, per language pair, paragraphs of
// opt.Sentences rows whose DA is at least opt.MinDA, drawn without
// replacement in a seeded random order (so every row is in at most one
// paragraph), and for each clean paragraph a bad twin: the same paragraph
// with one MT sentence (drawn at random) replaced by the MT of another
// qualifying row of the same language pair, one not in the paragraph: a
// fluent, well-rated translation of an unrelated sentence. Rows without DA
// are skipped. Sentences are joined with a space, or with nothing for
// Chinese and Japanese. Output is ordered by language pair, clean before
// bad for each paragraph.
func BuildParagraphs(rows []Row, opt ParagraphOptions) ParagraphSets {
	opt = opt.withDefaults()
	byLP := map[string][]Row{}
	for _, r := range rows {
		if r.DA != nil && *r.DA >= opt.MinDA {
			byLP[r.LangPair()] = append(byLP[r.LangPair()], r)
		}
	}
	lps := make([]string, 0, len(byLP))
	for lp := range byLP {
		lps = append(lps, lp)
	}
	slices.Sort(lps)
	var sets ParagraphSets
	rng := splitMix(opt.Seed)
	n := opt.Sentences
	for _, lp := range lps {
		pool := byLP[lp]
		// File order first, so the draw depends only on the data and seed.
		slices.SortStableFunc(pool, func(a, b Row) int {
			return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
		})
		if len(pool) <= n {
			continue // no row left to replace one with
		}
		order := rng.perm(len(pool))
		for p := 0; p+n <= len(order); p += n {
			members := order[p : p+n]
			par := join(pool, members, nil, -1)
			par.ID, par.Set = fmt.Sprintf("%s-p%03d", lp, p/n), "clean"
			sets.Clean = append(sets.Clean, par)
			k := rng.intn(n)
			// Any qualifying row outside the paragraph: draw an index among
			// the others and skip the members.
			other := rng.intn(len(pool) - n)
			for _, m := range sortedCopy(members) {
				if other >= m {
					other++
				}
			}
			b := join(pool, members, &pool[other], k)
			b.ID, b.Set, b.Replaced = par.ID+"-bad", "bad", &k
			sets.Bad = append(sets.Bad, b)
			r := join(pool, members[k:k+1], &pool[other], 0)
			r.ID, r.Set = par.ID+"-replaced", "replaced"
			sets.Replaced = append(sets.Replaced, r)
		}
	}
	return sets
}

// join joins the rows of pool at members into one paragraph, with the MT
// of sentence k replaced by other's when other is not nil.
func join(pool []Row, members []int, other *Row, k int) Paragraph {
	first := pool[members[0]]
	p := Paragraph{SrcLang: first.SrcLang, TgtLang: first.TgtLang}
	for i, m := range members {
		r := pool[m]
		mt := r.MT
		if other != nil && i == k {
			mt = other.MT
		}
		p.Src = appendSentence(p.Src, r.Src, r.SrcLang)
		p.MT = appendSentence(p.MT, mt, r.TgtLang)
		p.Lines = append(p.Lines, r.Line)
	}
	return p
}

// appendSentence joins a sentence to a paragraph as the language writes
// it: Chinese and Japanese put no space between sentences.
func appendSentence(par, s, lang string) string {
	if par == "" {
		return s
	}
	switch lang {
	case "zh", "ja":
		return par + s
	}
	return par + " " + s
}

func sortedCopy(s []int) []int {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// splitMix is SplitMix64: a tiny generator whose sequence is fixed by its
// definition, so a seed names the same paragraphs on any Go version.
type splitMix uint64

func (s *splitMix) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a number in [0, n); the modulo bias is negligible for the
// small n used here.
func (s *splitMix) intn(n int) int { return int(s.next() % uint64(n)) }

// perm returns a random permutation of 0..n-1 (Fisher-Yates).
func (s *splitMix) perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := s.intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}
