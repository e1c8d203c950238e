package segment

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Split returns the sentences of text in order, as spans trimmed of white
// space: together they hold every non-space character of text, so nothing
// is lost. lang (an ISO 639 code such as "en", "de", "zh", "pt-BR") picks
// the abbreviations and ordinal rules; any script's full stops are
// recognised whatever lang says. Empty or all-space text has no sentences.
//
// A sentence ends:
//   - after 。！？｡ (CJK), । ॥ (Devanagari), ෴ (Sinhala), ። (Ethiopic), with
//     any closing quotes or brackets that follow, space or not;
//   - after a run of . ! ? … ؟ ۔ and closing quotes or brackets, when white
//     space and then something other than a lower-case letter follow
//     (decimals such as 3.5 have no space; "e.g. the" continues), except
//     after an abbreviation (Dr., z.B., т.е., a one-letter word such as an
//     initial, a word with an inner dot) and, in languages that write ordinals with
//     a dot (de, et, ...), after a number of one or two digits;
//   - after ! or ? directly followed by a CJK character, and after . (with
//     any closers) between two CJK characters;
//   - at a blank line;
//
// but never before the first letter or digit: "... and so" is one sentence.
func Split(text, lang string) []Span {
	var out []Span
	start := 0
	emit := func(end int) {
		if !hasWord(text[start:end]) && end < len(text) {
			return // marks with no words before them ("... and so") start the next sentence
		}
		if s, ok := trim(text, start, end); ok {
			out = append(out, s)
		}
		start = end
	}
	lang = primary(lang)
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == '\n':
			// A blank line (only spaces between two line breaks) ends a
			// sentence; a single line break may be a hard wrap.
			j := i + size
			for j < len(text) && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r') {
				j++
			}
			if j < len(text) && text[j] == '\n' {
				emit(j)
				i = j + 1
				continue
			}
			i = j
			continue
		case isHardStop(r):
			j := skipClosers(text, skipStops(text, i+size))
			emit(j)
			i = j
			continue
		case isSoftStop(r):
			j := skipStops(text, i+size)
			end := skipClosers(text, j)
			if end >= len(text) {
				i = end
				continue
			}
			next, _ := utf8.DecodeRuneInString(text[end:])
			if (r == '!' || r == '?') && end == j && isCJK(next) || r == '.' && cjkBefore(text, i) && (isCJK(next) || isOpener(next)) {
				// CJK text has no space between sentences; MT into Chinese
				// often writes an ASCII full stop ("租用.法国的").
				emit(end)
				i = end
				continue
			}
			if !unicode.IsSpace(next) {
				i = end
				continue
			}
			k := end
			for k < len(text) {
				nr, ns := utf8.DecodeRuneInString(text[k:])
				if !unicode.IsSpace(nr) {
					break
				}
				k += ns
			}
			if k < len(text) && boundary(text, i, j, k, lang) {
				emit(end)
			}
			i = k
			continue
		}
		i += size
	}
	emit(len(text))
	return out
}

// boundary decides whether the soft stop run text[i:j], followed by white
// space up to k where a non-space character starts, ends a sentence.
func boundary(text string, i, j, k int, lang string) bool {
	next, _ := utf8.DecodeRuneInString(text[k:])
	if unicode.IsLower(next) {
		return false // "e.g. the", "etc. and": the sentence goes on
	}
	if j-i != 1 || text[i] != '.' {
		return true // !, ?, ..., … end a sentence before a non-lower-case start
	}
	word := wordBefore(text, i)
	if word == "" {
		return true
	}
	if sentenceFinal[strings.ToLower(word)] {
		return true // "и т.д.", "usw.", "jne." end sentences before a capital
	}
	if strings.Contains(word, ".") {
		return false // u.s., z.B., т.е.: abbreviations with inner dots
	}
	if r, n := utf8.DecodeRuneInString(word); n == len(word) && unicode.IsLetter(r) {
		return false // an initial or a one-letter abbreviation: J. R. R. Tolkien, M. f. M. n.
	}
	lower := strings.ToLower(word)
	if abbreviations[lower] || langAbbreviations[lang][lower] {
		return false
	}
	if unicode.IsDigit(next) && numberAbbreviations[lower] {
		return false // No. 5, p. 12, Nr. 3
	}
	if ordinalDot[lang] && len(word) <= 2 && allDigits(word) {
		return false // am 3. Oktober, 19. sajandil
	}
	return true
}

// wordBefore returns the letters, digits and inner dots directly before
// text[i] (the dot under test), e.g. "z.B" for "z.B.".
func wordBefore(text string, i int) string {
	j := i
	for j > 0 {
		r, size := utf8.DecodeLastRuneInString(text[:j])
		if !(unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r) || r == '.') {
			break
		}
		j -= size
	}
	return strings.Trim(text[j:i], ".")
}

// skipStops returns the end of the run of sentence-final marks at i
// ("?!", "...", "。」" is handled by skipClosers).
func skipStops(text string, i int) int {
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isSoftStop(r) && !isHardStop(r) {
			break
		}
		i += size
	}
	return i
}

// skipClosers returns the end of the closing quotes and brackets at i.
func skipClosers(text string, i int) int {
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isCloser(r) {
			break
		}
		i += size
	}
	return i
}

// trim returns text[start:end] without its surrounding white space, and
// false when nothing is left.
func trim(text string, start, end int) (Span, bool) {
	for start < end {
		r, size := utf8.DecodeRuneInString(text[start:end])
		if !unicode.IsSpace(r) {
			break
		}
		start += size
	}
	for end > start {
		r, size := utf8.DecodeLastRuneInString(text[start:end])
		if !unicode.IsSpace(r) {
			break
		}
		end -= size
	}
	return Span{start, end}, end > start
}

// isHardStop reports full stops that end a sentence whatever follows:
// scripts that write no space after them, or whose stop is unambiguous.
func isHardStop(r rune) bool {
	switch r {
	case '。', '！', '？', '｡', // CJK (full and half width)
		'।', '॥', // Devanagari danda, double danda
		'෴', // Sinhala kunddaliya
		'።': // Ethiopic full stop
		return true
	}
	return false
}

// isSoftStop reports marks that end a sentence only before white space and
// a sentence start: Latin, Cyrillic and most other scripts (Sinhala today
// mostly writes "."), Arabic ؟ and Urdu ۔.
func isSoftStop(r rune) bool {
	switch r {
	case '.', '!', '?', '…', '؟', '۔':
		return true
	}
	return false
}

// isCloser reports closing quotes and brackets that belong to the sentence
// they follow.
func isCloser(r rune) bool {
	switch r {
	case '"', '\'', ')', ']', '}', '»', '”', '’', '」', '』', '）', '】', '》', '〉', '›':
		return true
	}
	return false
}

// cjkBefore reports whether the character before text[i] is a CJK one.
func cjkBefore(text string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return isCJK(r)
}

// isOpener reports opening quotes and brackets, which start the sentence
// they precede.
func isOpener(r rune) bool {
	switch r {
	case '“', '‘', '「', '『', '（', '【', '《', '〈', '(', '[', '«':
		return true
	}
	return false
}

// isCJK reports Han, kana and Hangul characters: scripts written without
// spaces between sentences.
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// hasWord reports whether s has a letter or a digit.
func hasWord(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// primary returns the primary language subtag, lower-cased: "pt" for
// "pt-BR" or "PT_br".
func primary(lang string) string {
	if i := strings.IndexAny(lang, "-_"); i >= 0 {
		lang = lang[:i]
	}
	return strings.ToLower(lang)
}
