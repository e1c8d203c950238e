package rules

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Chinese and Japanese MT often writes a source's digits with CJK
// numerals ("August 22" -> "八月二十二日") or scale characters ("50,000"
// -> "5 万", "3.6 million" -> "360 万"). The number rule accepts those
// forms so it does not reject good CJK translations.

var cjkDigit = map[rune]int{'〇': 0, '零': 0, '一': 1, '二': 2, '两': 2, '兩': 2, '三': 3, '四': 4,
	'五': 5, '六': 6, '七': 7, '八': 8, '九': 9}

var cjkUnit = map[rune]int{'十': 10, '百': 100, '千': 1000}

var cjkScale = map[rune]int{'万': 4, '萬': 4, '亿': 8, '億': 8}

// cjkNumbers returns the values (as digit strings) of the runs of CJK
// numerals in s.
func cjkNumbers(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		_, d := cjkDigit[r]
		_, u := cjkUnit[r]
		if !d && !u {
			i += w
			continue
		}
		j := i
		for j < len(s) {
			r2, w2 := utf8.DecodeRuneInString(s[j:])
			_, d2 := cjkDigit[r2]
			_, u2 := cjkUnit[r2]
			_, s2 := cjkScale[r2]
			if !d2 && !u2 && !s2 {
				break
			}
			j += w2
		}
		if v, ok := cjkValue(s[i:j]); ok {
			out = append(out, v)
		}
		i = j
	}
	return out
}

// cjkValue parses "二十二" (22), "一九八九" (1989), "三千五百万" (35000000).
func cjkValue(run string) (string, bool) {
	positional := true
	for _, r := range run {
		if _, ok := cjkDigit[r]; !ok {
			positional = false
			break
		}
	}
	if positional {
		var b strings.Builder
		for _, r := range run {
			b.WriteByte(byte('0' + cjkDigit[r]))
		}
		return trimZeros(b.String()), true
	}
	var total, section, digit int64
	for _, r := range run {
		switch {
		case cjkDigit[r] > 0 || r == '〇' || r == '零':
			digit = int64(cjkDigit[r])
		case cjkUnit[r] > 0:
			if digit == 0 {
				digit = 1 // 十二 = 12
			}
			section += digit * int64(cjkUnit[r])
			digit = 0
		case cjkScale[r] > 0:
			section += digit
			if section == 0 {
				section = 1
			}
			total += section * pow10(cjkScale[r])
			section, digit = 0, 0
		}
		if total > 1e15 || section > 1e15 {
			return "", false
		}
	}
	return strconv.FormatInt(total+section+digit, 10), true
}

func pow10(n int) int64 {
	v := int64(1)
	for range n {
		v *= 10
	}
	return v
}

// scaleAfter reports whether s (what follows a number) starts, after
// spaces, with a CJK scale character or 千.
func scaleAfter(s string) bool {
	s = strings.TrimLeft(s, " ")
	r, _ := utf8.DecodeRuneInString(s)
	return cjkScale[r] > 0 || r == '千' || r == '百'
}

// significant drops trailing zeros: the scale-free form used to match
// "360 万" against "3.6 million".
func significant(d string) string {
	t := strings.TrimRight(d, "0")
	if t == "" {
		return "0"
	}
	return t
}
