package rules

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// number is one number as written: its digits (ASCII, leading zeros
// dropped, separators removed) and the digits of each separated group.
type number struct {
	text   string
	digits string
	raw    string // digits with leading zeros
	parts  []string
	scaled bool // followed by a CJK scale character (万, 亿, 千)
	decade bool // "1920s": Chinese MT writes "20 世纪 20 年代"
	// shortYear: two digits after an apostrophe ("'90"), which MT may
	// write in full ("1990")
	shortYear bool
	start     int
	end       int
}

// groupSep reports characters that separate digit groups or decimals.
func groupSep(r rune) bool {
	switch r {
	case ',', '.', '\'', '\u2019', '\u00a0', '\u202f', '\u2009', '\u066b', '\u066c':
		return true
	}
	return false
}

// digitValue is the value of a decimal digit of any script: Unicode keeps
// each script's digits 0-9 contiguous, so it is the distance from the
// block's zero.
func digitValue(r rune) int {
	if r < 0x80 {
		return int(r - '0')
	}
	z := r
	for unicode.IsDigit(z-1) && r-z < 60 {
		z--
	}
	return int(r-z) % 10
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b >= '0' && b <= '9' {
			return true
		} else if b >= 0x80 {
			for _, r := range s[i:] {
				if unicode.IsDigit(r) {
					return true
				}
			}
			return false
		}
	}
	return false
}

// numbers extracts the numbers of s. Groups join across a separator that
// has a digit on both sides; a plain space joins only a 1-3 digit group to
// a following group of exactly 3 ("10 000").
func numbers(s string) []number {
	var out []number
	var cur strings.Builder
	var parts []string
	var group strings.Builder
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		parts = append(parts, trimZeros(group.String()))
		raw := cur.String()
		d := trimZeros(raw)
		n := number{text: s[start:end], digits: d, raw: raw, scaled: scaleAfter(s[end:]), start: start, end: end,
			shortYear: len(raw) == 2 && (strings.HasSuffix(s[:start], "'") || strings.HasSuffix(s[:start], "\u2019")),
			decade:    len(d) == 4 && d[3] == '0' && (strings.HasPrefix(s[end:], "s") || strings.HasPrefix(s[end:], "'s"))}
		if len(parts) > 1 {
			n.parts = parts
		}
		out = append(out, n)
		cur.Reset()
		group.Reset()
		parts = nil
		start = -1
	}
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if unicode.IsDigit(r) {
			if start < 0 {
				start = i
			}
			v := byte('0' + digitValue(r))
			cur.WriteByte(v)
			group.WriteByte(v)
			i += w
			continue
		}
		if start >= 0 && (groupSep(r) || r == ' ') {
			next, nw := utf8.DecodeRuneInString(s[i+w:])
			ok := unicode.IsDigit(next)
			if ok && r == ' ' {
				ok = group.Len() <= 3 && digitRun(s[i+w:]) == 3
			}
			if ok {
				parts = append(parts, trimZeros(group.String()))
				group.Reset()
				i += w
				_ = nw
				continue
			}
		}
		flush(i)
		i += w
	}
	flush(len(s))
	return out
}

// PlainNumbers lists the numbers of s, in order, that are written as bare
// ASCII digits (no separators, no leading zero, no other script's digits),
// as the numbers rule reads them: the ones an evaluation can edit in an MT
// and expect the rule to notice.
func PlainNumbers(s string) []string {
	var out []string
	for _, n := range numbers(s) {
		if n.text == n.digits {
			out = append(out, n.text)
		}
	}
	return out
}

// digitRun counts the digits s starts with.
func digitRun(s string) int {
	n := 0
	for _, r := range s {
		if !unicode.IsDigit(r) {
			break
		}
		n++
	}
	return n
}

func trimZeros(d string) string {
	t := strings.TrimLeft(d, "0")
	if t == "" && d != "" {
		return "0"
	}
	return t
}

// checkNumbers rejects MT that lost or changed a number of the source.
func (c *Checker) checkNumbers(src, mt, _, _ string) (string, bool) {
	if !hasDigit(src) {
		return "", false
	}
	sn := numbers(mask(src))
	var mn []number
	if hasDigit(mt) {
		mn = numbers(mask(mt))
	}
	have := make(map[string]bool, 2*len(mn))
	var scaled map[string]bool
	for _, n := range mn {
		have[n.digits] = true
		for _, p := range n.parts {
			have[p] = true
		}
		if n.scaled {
			if scaled == nil {
				scaled = map[string]bool{}
			}
			scaled[significant(n.digits)] = true
		}
	}
	// "9, 000": MT tokenizers split digit groups; accept the joined form.
	for i := 0; i+1 < len(mn); i++ {
		gap := mt[mn[i].end:mn[i+1].start]
		if (gap == ", " || gap == " , " || gap == " ") && len(mn[i+1].raw) == 3 && len(mn[i].raw) <= 3 {
			joined := trimZeros(mn[i].raw + mn[i+1].raw)
			have[joined] = true
			if mn[i+1].scaled { // "1, 000 万"
				if scaled == nil {
					scaled = map[string]bool{}
				}
				scaled[significant(joined)] = true
			}
		}
	}
	if hasCJK(mt) {
		for _, v := range cjkNumbers(mt) {
			have[v] = true
		}
	}
	var missing []string
	used := make(map[string]bool, len(sn))
	for _, n := range sn {
		if len(n.digits) < c.cfg.Numbers.MinDigits || have[n.digits] {
			continue
		}
		if n.parts != nil && allIn(n.parts, have) {
			continue // "1,2,3" written as "1, 2, 3"
		}
		if n.decade && have[n.digits[2:]] {
			continue // "the 1920s" written as "20 年代"
		}
		if n.shortYear && yearEnding(mn, n.raw) {
			continue // "the '90s" written as "the 1990s"
		}
		if scaled[significant(n.digits)] {
			continue // "50,000" written as "5 万"
		}
		if !used[n.digits] && len(missing) < 3 {
			missing = append(missing, fmt.Sprintf("%q", short(n.text)))
		}
		used[n.digits] = true
	}
	if len(missing) == 0 {
		return "", false
	}
	reason := "numbers changed: " + strings.Join(missing, ", ") + " missing in MT"
	srcHas := make(map[string]bool, len(sn))
	for _, n := range sn {
		srcHas[n.digits] = true
	}
	var extra []string
	for _, n := range mn {
		if !srcHas[n.digits] && len(n.digits) >= c.cfg.Numbers.MinDigits && len(extra) < 3 {
			extra = append(extra, fmt.Sprintf("%q", short(n.text)))
		}
	}
	if len(extra) > 0 {
		reason += " (MT has " + strings.Join(extra, ", ") + ")"
	}
	return reason, true
}

func allIn(parts []string, have map[string]bool) bool {
	for _, p := range parts {
		if !have[p] {
			return false
		}
	}
	return true
}

func hasCJK(s string) bool {
	for _, r := range s {
		if isWide(r) {
			return true
		}
	}
	return false
}

// yearEnding reports an MT number of four digits ending in the two of yy.
func yearEnding(mn []number, yy string) bool {
	for _, m := range mn {
		if len(m.digits) == 4 && strings.HasSuffix(m.digits, yy) {
			return true
		}
	}
	return false
}
