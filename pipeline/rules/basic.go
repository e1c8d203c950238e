package rules

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// checkEmpty rejects MT with nothing visible in it.
func (c *Checker) checkEmpty(_, mt, _, _ string) (string, bool) {
	for _, r := range mt {
		if !unicode.IsSpace(r) && !unicode.IsControl(r) && !unicode.Is(unicode.Cf, r) {
			return "", false
		}
	}
	if mt == "" {
		return "empty MT", true
	}
	return "empty MT: only white space or invisible characters", true
}

// scratch holds per-call buffers; pooled so Check allocates little.
type scratch struct {
	a, b []rune
	row  []int
	toks []string
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// maxCompare caps the runes compared by the copy rule: the edit distance is
// quadratic, and a prefix this long decides a copy anyway.
const maxCompare = 2000

// letterDigits appends s lower-cased, letters and digits only.
func letterDigits(dst []rune, s string) (out []rune, letters int) {
	for _, r := range s {
		if unicode.IsLetter(r) {
			letters++
			dst = append(dst, unicode.ToLower(r))
		} else if unicode.IsDigit(r) {
			dst = append(dst, r)
		}
		if len(dst) >= maxCompare {
			break
		}
	}
	return dst, letters
}

// checkCopy rejects MT that is (nearly) the source.
func (c *Checker) checkCopy(src, mt, _, _ string) (string, bool) {
	sim, ok := c.copySimilarity(src, mt)
	if !ok || sim < c.cfg.Copy.MinSimilarity {
		return "", false
	}
	if sim == 1 {
		return "MT is a copy of the source", true
	}
	return fmt.Sprintf("MT nearly identical to the source (similarity %.2f)", sim), true
}

// copySimilarity returns 1 - normalized edit distance, ok=false when the
// source is too short for the rule or a copy is impossible by length.
func (c *Checker) copySimilarity(src, mt string) (float64, bool) {
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	var letters int
	s.a, letters = letterDigits(s.a[:0], src)
	if letters < c.cfg.Copy.MinLetters || len(s.a) == 0 {
		return 0, false
	}
	s.b, _ = letterDigits(s.b[:0], mt)
	a, b := s.a, s.b
	long := max(len(a), len(b))
	// The distance is at least the length difference: skip the quadratic
	// part for most pairs.
	if 1-float64(long-min(len(a), len(b)))/float64(long) < c.cfg.Copy.MinSimilarity {
		return 0, false
	}
	// A cheaper lower bound next: one edit changes a character histogram's
	// L1 distance by at most 2, so half of it bounds the edit distance
	// from below; a translation's histogram is far from its source's.
	maxD := int((1 - c.cfg.Copy.MinSimilarity) * float64(long))
	if histDistance(a, b)/2 > maxD {
		return 0, false
	}
	d := levenshtein(a, b, &s.row)
	return 1 - float64(d)/float64(long), true
}

func levenshtein(a, b []rune, buf *[]int) int {
	if cap(*buf) < len(b)+1 {
		*buf = make([]int, len(b)+1)
	}
	row := (*buf)[:len(b)+1]
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		prev := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cur := row[j]
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			row[j] = min(row[j]+1, row[j-1]+1, prev+cost)
			prev = cur
		}
	}
	return row[len(b)]
}

// checkScript rejects MT mostly written in scripts tgt_lang does not use.
func (c *Checker) checkScript(_, mt, _, tgt string) (string, bool) {
	want := expectedScripts(tgt)
	if want == nil {
		return "", false
	}
	// Letters are weighed like lengths (a CJK character as WideWeight
	// Latin ones), or the Latin names that Chinese MT keeps as they are
	// would outweigh the Chinese around them.
	var letters, weight, in int
	var other rune // an out-of-script letter, to name its script
	for _, r := range mt {
		if !unicode.IsLetter(r) {
			continue
		}
		letters++
		w := 1
		if isWide(r) {
			w = WideWeight
		}
		weight += w
		if r < utf8.RuneSelf && want[0] == unicode.Latin {
			if (r|0x20) >= 'a' && (r|0x20) <= 'z' {
				in += w
			}
			continue
		}
		if unicode.IsOneOf(want, r) {
			in += w
		} else if other == 0 {
			other = r
		}
	}
	if letters < c.cfg.Script.MinLetters || letters == 0 {
		return "", false
	}
	share := float64(in) / float64(weight)
	if share >= c.cfg.Script.MinShare {
		return "", false
	}
	return fmt.Sprintf("wrong script: %.0f%% of letters are %s, want %s for %q",
		100*(1-share), scriptName(other), scriptNames(want), short(tgt)), true
}

// tokens splits s into words (runs of letters, digits and marks) and single
// characters of scripts written without spaces; punctuation is dropped.
func tokens(dst []string, s string) []string {
	start := -1
	for i, r := range s {
		word := unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
		if word && !noSpaceScript(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			dst = append(dst, s[start:i])
			start = -1
		}
		if word {
			dst = append(dst, s[i:i+utf8.RuneLen(r)])
		}
	}
	if start >= 0 {
		dst = append(dst, s[start:])
	}
	return dst
}

// longestLoop finds the n-gram (n <= maxN) with the most back-to-back
// copies, weighing a loop by the tokens it covers.
func longestLoop(toks []string, maxN int) (n, repeats, at int) {
	bestCover := 0
	for size := 1; size <= maxN; size++ {
		for i := 0; i+2*size <= len(toks); {
			run := 1
			for i+(run+1)*size <= len(toks) && equalFold(toks[i:i+size], toks[i+run*size:i+(run+1)*size]) {
				run++
			}
			if run > 1 && run*size > bestCover && (size == 1 || !uniform(toks[i:i+size])) {
				bestCover, n, repeats, at = run*size, size, run, i
			}
			if run > 1 {
				i += (run - 1) * size
			} else {
				i++
			}
		}
	}
	return n, repeats, at
}

// uniform reports an n-gram of one repeated token, which is a 1-gram loop.
func uniform(t []string) bool {
	for _, x := range t[1:] {
		if !strings.EqualFold(x, t[0]) {
			return false
		}
	}
	return true
}

func equalFold(a, b []string) bool {
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

// checkRepetition rejects a decoder loop in the MT that the source lacks.
func (c *Checker) checkRepetition(src, mt, _, _ string) (string, bool) {
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	s.toks = tokens(s.toks[:0], mt)
	n, reps, at := longestLoop(s.toks, c.cfg.Repetition.MaxN)
	if n == 0 || reps < c.minRepeats(n) {
		return "", false
	}
	gram := strings.Join(s.toks[at:at+n], " ")
	s.toks = tokens(s.toks[:0], src)
	if sn, sreps, _ := longestLoop(s.toks, c.cfg.Repetition.MaxN); sn > 0 && sreps*sn >= reps*n {
		return "", false // the source repeats as much: a faithful translation may too
	}
	return fmt.Sprintf("repetition: %q repeated %d times in MT", short(gram), reps), true
}

func (c *Checker) minRepeats(n int) int {
	m := c.cfg.Repetition.MinRepeats
	if m == 0 {
		m = 3
	}
	if n == 1 {
		m++
	}
	return m
}

// short keeps what reasons quote from the text to maxQuote bytes: reasons
// travel in a Kafka header and a metric-free log line, and a URL or a
// number can be arbitrarily long.
func short(s string) string {
	if len(s) <= maxQuote {
		return s
	}
	return truncateUTF8(s, maxQuote) + "..."
}

const maxQuote = 60

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// histDistance is the L1 distance of 64-bucket character histograms
// (collisions only make it smaller, so the bound stays valid).
func histDistance(a, b []rune) int {
	var h [64]int
	for _, r := range a {
		h[r&63]++
	}
	for _, r := range b {
		h[r&63]--
	}
	d := 0
	for _, v := range h {
		if v < 0 {
			v = -v
		}
		d += v
	}
	return d
}
