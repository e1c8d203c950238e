package scorer

import (
	"unicode"
	"unicode/utf8"

	"github.com/qegate/qegate/internal/qe"
)

// Batch holds encoded pairs, ready for [Scorer.Infer]. Each row is the XLM-R
// pair encoding [bos] src [eos eos] mt [eos], unpadded; Infer pads every
// chunk of at most Config.MaxBatch rows to that chunk's longest row.
type Batch struct {
	rows      [][]int64
	langPairs []string
	// truncated marks pairs whose text was cut to fit max_len; nil when
	// none was (the common case costs no allocation).
	truncated []bool
}

// Len returns the number of pairs in the batch.
func (b *Batch) Len() int { return len(b.rows) }

// TokenIDs returns the encoded ids of pair i, special tokens included. The
// slice belongs to the batch and must not be modified.
func (b *Batch) TokenIDs(i int) []int64 { return b.rows[i] }

// LangPair returns the language pair of pair i.
func (b *Batch) LangPair(i int) string { return b.langPairs[i] }

// Truncated reports whether pair i was cut to fit the model's max_len
// tokens (or Config.MaxInputBytes), so the model did not see all of it.
func (b *Batch) Truncated(i int) bool { return b.truncated != nil && b.truncated[i] }

// MaxSeqLen returns the length of the longest row.
func (b *Batch) MaxSeqLen() int {
	m := 0
	for _, r := range b.rows {
		m = max(m, len(r))
	}
	return m
}

// tokenizeFunc returns the ids of text without special tokens.
type tokenizeFunc func(text string) []uint32

// encoder implements the pair encoding of docs/ARCHITECTURE.md.
type encoder struct {
	tokenize      tokenizeFunc
	maxLen        int // >= minMaxLen
	bos, eos      int64
	maxInputBytes int // <= 0: no cut
}

// encode validates and encodes pairs; the error is a *qe.TextError. All rows
// share one backing array (one allocation per call, not per pair).
func (e *encoder) encode(pairs []qe.Pair) (*Batch, error) {
	b := &Batch{rows: make([][]int64, len(pairs)), langPairs: make([]string, len(pairs))}
	type ids struct{ src, mt []uint32 }
	toks := make([]ids, len(pairs))
	total := 0
	for i, p := range pairs {
		if err := qe.ValidatePair(p); err != nil {
			pe := err.(*qe.TextError)
			pe.Index = i
			return nil, pe
		}
		cs, cm := cutText(p.Src, e.maxInputBytes), cutText(p.MT, e.maxInputBytes)
		fs, fm := e.tokenize(cs), e.tokenize(cm)
		src, mt := truncatePair(fs, fm, e.maxLen-4)
		if len(src) < len(fs) || len(mt) < len(fm) || len(cs) < len(p.Src) || len(cm) < len(p.MT) {
			if b.truncated == nil {
				b.truncated = make([]bool, len(pairs))
			}
			b.truncated[i] = true
		}
		toks[i] = ids{src, mt}
		total += len(src) + len(mt) + 4
		b.langPairs[i] = p.LangPair()
	}
	backing := make([]int64, 0, total)
	for i, t := range toks {
		lo := len(backing)
		backing = e.appendRow(backing, t.src, t.mt)
		b.rows[i] = backing[lo:len(backing):len(backing)]
	}
	return b, nil
}

// appendRow appends [bos] src [eos eos] mt [eos] to dst.
func (e *encoder) appendRow(dst []int64, src, mt []uint32) []int64 {
	dst = append(dst, e.bos)
	for _, id := range src {
		dst = append(dst, int64(id))
	}
	dst = append(dst, e.eos, e.eos)
	for _, id := range mt {
		dst = append(dst, int64(id))
	}
	return append(dst, e.eos)
}

// truncatePair drops tokens until len(src)+len(mt) <= budget: each step
// removes the last token of the longer side, the source side when equal.
// Either side may end up empty when budget < 2.
func truncatePair(src, mt []uint32, budget int) ([]uint32, []uint32) {
	budget = max(budget, 0)
	ls, lm := len(src), len(mt)
	if excess := ls + lm - budget; excess > 0 {
		// Shorten the longer side down to the shorter one first...
		d := min(excess, max(ls-lm, lm-ls))
		if ls >= lm {
			ls -= d
		} else {
			lm -= d
		}
		excess -= d
		// ...then alternate, source first (the sides are now equal).
		ls -= (excess + 1) / 2
		lm -= excess / 2
	}
	return src[:ls], mt[:lm]
}

// cutText shortens s to about maxBytes bytes (at a space, else at a rune
// boundary) so that a huge message cannot make the tokenizer spend seconds on
// text that truncation drops anyway (see Config.MaxInputBytes).
func cutText(s string, maxBytes int) string {
	if maxBytes <= 0 || len(s) <= maxBytes {
		return s
	}
	cut := maxBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	// Prefer a whitespace boundary within the last 256 bytes.
	for i := cut; i > 0 && i > cut-256; {
		r, size := utf8.DecodeLastRuneInString(s[:i])
		if unicode.IsSpace(r) {
			return s[:i-size]
		}
		i -= size
	}
	return s[:cut]
}
