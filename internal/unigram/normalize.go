package unigram

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizerJSON is one tokenizer.json normalizer.
type normalizerJSON struct {
	Type        string           `json:"type"`
	Normalizers []normalizerJSON `json:"normalizers"`
	Pattern     *struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	} `json:"pattern"`
	Content string `json:"content"`
}

// step is one normalization step over the whole string.
type step func(string) string

// newNormalizer compiles a normalizer (nil: none) into its steps.
func newNormalizer(n *normalizerJSON) ([]step, error) {
	if n == nil {
		return nil, nil
	}
	switch n.Type {
	case "Sequence":
		var steps []step
		for i := range n.Normalizers {
			s, err := newNormalizer(&n.Normalizers[i])
			if err != nil {
				return nil, err
			}
			steps = append(steps, s...)
		}
		return steps, nil
	case "NFC", "NFD", "NFKC", "NFKD":
		f := map[string]norm.Form{"NFC": norm.NFC, "NFD": norm.NFD, "NFKC": norm.NFKC, "NFKD": norm.NFKD}[n.Type]
		return []step{func(s string) string { return normalizeAsRust(f, s) }}, nil
	case "Replace":
		s, err := newReplace(n)
		if err != nil {
			return nil, err
		}
		return []step{s}, nil
	}
	return nil, fmt.Errorf("%w: normalizer %q", ErrUnsupported, n.Type)
}

// newReplace compiles a Replace normalizer. A regex that is one character
// class (the recipe's control-character rules) becomes a rune mapping, the
// common case of a tokenizer call; anything else runs through regexp, whose
// syntax agrees with Rust's regex crate for such patterns.
func newReplace(n *normalizerJSON) (step, error) {
	if n.Pattern == nil {
		return nil, fmt.Errorf("%w: Replace without a pattern", ErrUnsupported)
	}
	content := n.Content
	if p := n.Pattern.String; p != nil {
		return func(s string) string { return strings.ReplaceAll(s, *p, content) }, nil
	}
	if n.Pattern.Regex == nil {
		return nil, fmt.Errorf("%w: Replace pattern is neither String nor Regex", ErrUnsupported)
	}
	expr := *n.Pattern.Regex
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("%w: Replace regex %q: %v", ErrUnsupported, expr, err)
	}
	if re.Op == syntax.OpCharClass {
		ranges := re.Rune
		in := func(r rune) bool {
			for i := 0; i < len(ranges); i += 2 {
				if ranges[i] <= r && r <= ranges[i+1] {
					return true
				}
			}
			return false
		}
		return func(s string) string {
			if !strings.ContainsFunc(s, in) {
				return s
			}
			var b strings.Builder
			b.Grow(len(s))
			for _, r := range s {
				if in(r) {
					b.WriteString(content)
				} else {
					b.WriteRune(r)
				}
			}
			return b.String()
		}, nil
	}
	rx, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("%w: Replace regex %q: %v", ErrUnsupported, expr, err)
	}
	return func(s string) string { return rx.ReplaceAllLiteralString(s, content) }, nil
}

// newerDecompositions are the code points that x/text's tables (Unicode
// 15.0) decompose under NFKC and the Rust library's (crate
// unicode-normalization-alignments 0.1.12, an older Unicode) leave alone:
// characters assigned after that version. Found by comparing both on every
// scalar value (TestUnigramMatchesRust does so on every build).
var newerDecompositions = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x32ff, Hi: 0x32ff, Stride: 1},
		{Lo: 0xa7f2, Hi: 0xa7f4, Stride: 1},
		{Lo: 0xab69, Hi: 0xab69, Stride: 1},
	},
	R32: []unicode.Range32{
		{Lo: 0x10781, Hi: 0x10785, Stride: 1},
		{Lo: 0x10787, Hi: 0x107b0, Stride: 1},
		{Lo: 0x107b2, Hi: 0x107ba, Stride: 1},
		{Lo: 0x1e030, Hi: 0x1e06d, Stride: 1},
		{Lo: 0x1f16c, Hi: 0x1f16c, Stride: 1},
		{Lo: 0x1fbf0, Hi: 0x1fbf9, Stride: 1},
	},
}

// isNewer reports whether r is in newerDecompositions.
func isNewer(r rune) bool { return r >= 0x32ff && unicode.Is(newerDecompositions, r) }

// normalizeAsRust applies form f to s, leaving the runes of
// newerDecompositions as they are, as the Rust library's tables do. Such a
// rune is a starter that composes with nothing there, so the text around
// it normalizes on its own.
func normalizeAsRust(f norm.Form, s string) string {
	if !strings.ContainsFunc(s, isNewer) {
		return f.String(s)
	}
	var b strings.Builder
	for s != "" {
		i := strings.IndexFunc(s, isNewer)
		if i < 0 {
			b.WriteString(f.String(s))
			break
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		b.WriteString(f.String(s[:i]))
		b.WriteString(s[i : i+size])
		s = s[i+size:]
	}
	return b.String()
}

// validUTF8 reads invalid UTF-8 as U+FFFD (Rust's from_utf8_lossy writes one
// per maximal invalid subsequence, Go one per run of invalid bytes; the
// recipe's normalizer makes both one space) and ends the text at its first
// NUL byte, where the C string handed to the Rust library ends.
func validUTF8(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}
