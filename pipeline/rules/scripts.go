package rules

import (
	"strings"
	"unicode"
)

// scriptsByLang maps ISO 639-1/-3 primary subtags to the scripts the
// language is ordinarily written in. Languages that are also written in
// another script in practice (Serbian, Uzbek, Azerbaijani...) list both, so
// the rule stays precise; a script subtag (sr-Latn) narrows it.
var scriptsByLang = func() map[string][]*unicode.RangeTable {
	latin := []*unicode.RangeTable{unicode.Latin}
	m := map[string][]*unicode.RangeTable{}
	add := func(tables []*unicode.RangeTable, langs string) {
		for _, l := range strings.Fields(langs) {
			m[l] = tables
		}
	}
	add(latin, "en de fr es it pt nl ro et fi hu pl cs sk sl hr bs sq lt lv sv da no nb nn is "+
		"tr ga cy eu ca gl mt id ms vi tl fil sw af lb fo gd br co oc eo la ha yo ig zu xh so mg "+
		"mi sm to haw ht qu gn ay jv su ceb ku tk")
	add([]*unicode.RangeTable{unicode.Cyrillic}, "ru uk be bg mk kk ky tg tt ba cv ce os")
	add([]*unicode.RangeTable{unicode.Cyrillic, unicode.Latin}, "sr sh uz az")
	add([]*unicode.RangeTable{unicode.Cyrillic, unicode.Mongolian}, "mn")
	add([]*unicode.RangeTable{unicode.Greek}, "el")
	add([]*unicode.RangeTable{unicode.Arabic}, "ar fa ur ps ckb ug sd")
	add([]*unicode.RangeTable{unicode.Hebrew}, "he iw yi")
	add([]*unicode.RangeTable{unicode.Devanagari}, "hi mr ne sa mai bho kok")
	add([]*unicode.RangeTable{unicode.Bengali}, "bn as")
	add([]*unicode.RangeTable{unicode.Gurmukhi}, "pa")
	add([]*unicode.RangeTable{unicode.Gujarati}, "gu")
	add([]*unicode.RangeTable{unicode.Oriya}, "or")
	add([]*unicode.RangeTable{unicode.Tamil}, "ta")
	add([]*unicode.RangeTable{unicode.Telugu}, "te")
	add([]*unicode.RangeTable{unicode.Kannada}, "kn")
	add([]*unicode.RangeTable{unicode.Malayalam}, "ml")
	add([]*unicode.RangeTable{unicode.Sinhala}, "si")
	add([]*unicode.RangeTable{unicode.Thai}, "th")
	add([]*unicode.RangeTable{unicode.Lao}, "lo")
	add([]*unicode.RangeTable{unicode.Khmer}, "km")
	add([]*unicode.RangeTable{unicode.Myanmar}, "my")
	add([]*unicode.RangeTable{unicode.Tibetan}, "bo dz")
	add([]*unicode.RangeTable{unicode.Georgian}, "ka")
	add([]*unicode.RangeTable{unicode.Armenian}, "hy")
	add([]*unicode.RangeTable{unicode.Ethiopic}, "am ti")
	add([]*unicode.RangeTable{unicode.Han}, "zh yue wuu")
	add([]*unicode.RangeTable{unicode.Han, unicode.Hiragana, unicode.Katakana}, "ja")
	add([]*unicode.RangeTable{unicode.Hangul, unicode.Han}, "ko")
	return m
}()

// scriptSubtags maps ISO 15924 subtags (lower case) to scripts.
var scriptSubtags = map[string][]*unicode.RangeTable{
	"latn": {unicode.Latin}, "cyrl": {unicode.Cyrillic}, "arab": {unicode.Arabic},
	"grek": {unicode.Greek}, "hebr": {unicode.Hebrew}, "deva": {unicode.Devanagari},
	"hans": {unicode.Han}, "hant": {unicode.Han}, "mong": {unicode.Mongolian},
}

// namedScripts lets reasons name the script most of the letters are in.
var namedScripts = []struct {
	name string
	t    *unicode.RangeTable
}{
	{"Latin", unicode.Latin}, {"Cyrillic", unicode.Cyrillic}, {"Han", unicode.Han},
	{"Arabic", unicode.Arabic}, {"Greek", unicode.Greek}, {"Hebrew", unicode.Hebrew},
	{"Devanagari", unicode.Devanagari}, {"Bengali", unicode.Bengali}, {"Sinhala", unicode.Sinhala},
	{"Hangul", unicode.Hangul}, {"Hiragana", unicode.Hiragana}, {"Katakana", unicode.Katakana},
	{"Thai", unicode.Thai}, {"Tamil", unicode.Tamil}, {"Telugu", unicode.Telugu},
	{"Kannada", unicode.Kannada}, {"Malayalam", unicode.Malayalam}, {"Gujarati", unicode.Gujarati},
	{"Gurmukhi", unicode.Gurmukhi}, {"Oriya", unicode.Oriya}, {"Khmer", unicode.Khmer},
	{"Lao", unicode.Lao}, {"Myanmar", unicode.Myanmar}, {"Georgian", unicode.Georgian},
	{"Armenian", unicode.Armenian}, {"Ethiopic", unicode.Ethiopic}, {"Tibetan", unicode.Tibetan},
	{"Mongolian", unicode.Mongolian},
}

// Scripts returns the scripts the script rule expects of text in the
// language code (any case, "-" or "_", script subtags honoured: "sr-Latn"),
// nil when the language is unknown to it.
func Scripts(code string) []*unicode.RangeTable { return expectedScripts(normTag(code)) }

// expectedScripts returns the scripts of a normalized tag, nil when unknown.
func expectedScripts(tag string) []*unicode.RangeTable {
	p := primary(tag)
	rest := tag[len(p):]
	for rest != "" {
		rest = rest[1:]
		sub := rest
		if i := strings.IndexByte(rest, '-'); i >= 0 {
			sub, rest = rest[:i], rest[i:]
		} else {
			rest = ""
		}
		if t, ok := scriptSubtags[sub]; ok && len(sub) == 4 {
			return t
		}
	}
	return scriptsByLang[p]
}

func scriptName(r rune) string {
	for _, s := range namedScripts {
		if unicode.Is(s.t, r) {
			return s.name
		}
	}
	return "other"
}

func scriptNames(ts []*unicode.RangeTable) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 {
			b.WriteString("/")
		}
		for _, s := range namedScripts {
			if s.t == t {
				b.WriteString(s.name)
			}
		}
	}
	return b.String()
}

// isWide reports characters of scripts written without spaces whose
// characters carry about a word's worth of text each; they count as
// WideWeight characters in lengths and as one token each in n-grams.
func isWide(r rune) bool {
	return r >= 0x2E80 && (unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r))
}

// noSpaceScript reports scripts written without spaces between words, whose
// characters are n-gram tokens on their own.
func noSpaceScript(r rune) bool {
	return isWide(r) || unicode.Is(unicode.Thai, r) || unicode.Is(unicode.Lao, r) ||
		unicode.Is(unicode.Khmer, r) || unicode.Is(unicode.Myanmar, r)
}
