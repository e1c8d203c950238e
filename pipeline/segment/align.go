package segment

import (
	"math"
	"sort"
	"unicode"
)

// Align pairs the sentences of two texts, monotonically: it returns
// min(len(a), len(b)) pairs of spans, the i-th of a with the i-th of b
// when the counts are equal; otherwise the side with more sentences has
// neighbours merged so that each pair's boundaries fall where the other
// side's do, by length (in the spirit of Gale and Church 1993: sentence
// lengths in characters are proportional across a translation). A merged
// span runs from its first sentence's start to its last one's end, so the
// text between them is kept as written; no sentence is dropped. Empty
// input on either side gives no pairs.
//
// The cost is O(len(a) + len(b)) to measure the sentences, then
// O(min * max) time and memory to match them, with max capped (see
// exactLimit) so that the matching is O(min^3) at worst.
func Align(a string, as []Span, b string, bs []Span) [][2]Span {
	if len(as) == 0 || len(bs) == 0 {
		return nil
	}
	if len(as) == len(bs) {
		out := make([][2]Span, len(as))
		for i := range as {
			out[i] = [2]Span{as[i], bs[i]}
		}
		return out
	}
	swap := len(as) > len(bs)
	short, long, ss, ls := a, b, as, bs
	if swap {
		short, long, ss, ls = b, a, bs, as
	}
	cuts := matchCuts(cumulative(short, ss), cumulative(long, ls))
	out := make([][2]Span, len(ss))
	prev := 0
	for k := range ss {
		end := len(ls) // the last piece takes the rest
		if k < len(cuts) {
			end = cuts[k]
		}
		merged := Span{ls[prev].Start, ls[end-1].End}
		prev = end
		if swap {
			out[k] = [2]Span{merged, ss[k]}
		} else {
			out[k] = [2]Span{ss[k], merged}
		}
	}
	return out
}

// cumulative returns, for each sentence boundary inside the text (after
// sentence 1, 2, ..., n-1), the fraction of the text's non-space
// characters before it.
func cumulative(text string, spans []Span) []float64 {
	lens := make([]int, len(spans))
	total := 0
	for i, s := range spans {
		for _, r := range s.Of(text) {
			if !unicode.IsSpace(r) {
				lens[i]++
			}
		}
		total += lens[i]
	}
	out := make([]float64, len(spans)-1)
	sum := 0
	for i := range out {
		sum += lens[i]
		out[i] = float64(sum) / float64(max(total, 1))
	}
	return out
}

// exactLimit is the most long-side boundaries matchCuts considers all of;
// beyond it (a message of thousands of tiny sentences against a few long
// ones) it considers only those near each short-side boundary, so time and
// memory stay bounded by the short side: at most q*(2q+1) candidates.
const exactLimit = 2048

// matchCuts chooses, for each of the short side's inner boundaries (its
// fractions fs), one of the long side's (fl), strictly increasing, so that
// the sum of the distances between matched fractions is least (a dynamic
// programme; ties go to the earlier boundary, so the result is
// deterministic). It returns the chosen boundaries as counts of long-side
// sentences before them (1..len(fl)). len(fs) <= len(fl).
func matchCuts(fs, fl []float64) []int {
	if len(fs) == 0 {
		return nil
	}
	if len(fl) > exactLimit {
		cand := candidates(fs, fl)
		sub := make([]float64, len(cand))
		for i, j := range cand {
			sub[i] = fl[j]
		}
		cuts := matchAll(fs, sub)
		for k, c := range cuts {
			cuts[k] = cand[c-1] + 1
		}
		return cuts
	}
	return matchAll(fs, fl)
}

// candidates returns, sorted, the long-side boundaries within q places of
// the one nearest each short-side boundary: at least q of them, since
// q < len(fl).
func candidates(fs, fl []float64) []int {
	q := len(fs)
	var out []int
	for _, f := range fs {
		j := sort.SearchFloat64s(fl, f)
		lo, hi := max(j-q, 0), min(j+q, len(fl)-1)
		if n := len(out); n > 0 && out[n-1] >= lo {
			lo = out[n-1] + 1
		}
		for i := lo; i <= hi; i++ {
			out = append(out, i)
		}
	}
	return out
}

// matchAll is matchCuts over every long-side boundary.
func matchAll(fs, fl []float64) []int {
	q, p := len(fs), len(fl)
	// cost[k][j]: least total distance matching fs[0..k] with fs[k] at
	// fl[j]; from[k][j]: the j' of fs[k-1] on that best path.
	cost := make([][]float64, q)
	from := make([][]int, q)
	for k := range cost {
		cost[k] = make([]float64, p)
		from[k] = make([]int, p)
		for j := range cost[k] {
			cost[k][j] = math.Inf(1)
		}
	}
	for j := 0; j <= p-q; j++ {
		cost[0][j] = math.Abs(fs[0] - fl[j])
	}
	for k := 1; k < q; k++ {
		best, bestJ := math.Inf(1), -1
		for j := k; j <= p-q+k; j++ {
			if c := cost[k-1][j-1]; c < best {
				best, bestJ = c, j-1
			}
			cost[k][j] = best + math.Abs(fs[k]-fl[j])
			from[k][j] = bestJ
		}
	}
	j := q - 1
	for jj := q; jj < p; jj++ {
		if cost[q-1][jj] < cost[q-1][j] {
			j = jj
		}
	}
	cuts := make([]int, q)
	for k := q - 1; k >= 0; k-- {
		cuts[k] = j + 1
		j = from[k][j]
	}
	return cuts
}
