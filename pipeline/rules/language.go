package rules

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The language rule catches MT in the right script but the wrong language
// (German MT that is really English, or the source left in place for a
// pair like et-en) by counting function words: the 15-30 most frequent
// short words of each language, which any sentence of a few words has and
// a name or a title mostly has not. Only the two languages MT output is
// in when it is in the wrong one are compared with tgt_lang: the source
// language (left untranslated) and English (a pivot or a fallback), so
// that a Spanish title in German MT ("El Correo de los Ciegos") is not
// taken for Spanish MT. It covers Latin-script languages only;
// others pass (the script rule covers them). lingua-go was measured
// instead and left out (docs/EVAL.md): +132 MB of binary, 490 MB RSS,
// 0.3 ms per pair, and lower precision on MLQE-PE dev than this list.
var functionWords = map[string][]string{
	"en": strings.Fields("the and of to is was that with for by as from his her which are were this it on at he she they has have be an or not their been"),
	"de": strings.Fields("der die das und ist war von mit den dem des ein eine einer nicht sich auf für zu im auch wurde wurden als bei nach aus sie er es werden sind hat"),
	"fr": strings.Fields("le la les et est des du une un dans pour que qui sur par pas avec au aux il elle sont été était ce cette ses son"),
	"es": strings.Fields("el la los las es del que en un una por con para se su sus fue era al como más pero lo"),
	"it": strings.Fields("il lo la gli le di del della che un una per con non sono era nel nella dei delle alla anche"),
	"pt": strings.Fields("os as do da dos das que um uma em no na para com não foi pelo pela seu sua"),
	"nl": strings.Fields("de het een en van dat die niet op te zijn met voor werd ook aan door naar bij wordt er"),
	"ro": strings.Fields("și şi în este fost de cu la care pe din un pentru nu mai ca sau lui sunt al ale"),
	"et": strings.Fields("ja on ei see et oli ka kui mis aga või tema nad seda selle oma kes veel pärast ning aastal mille"),
	"sv": strings.Fields("och är att det som en ett på av för med inte den till var har om från hon han"),
	"pl": strings.Fields("się nie jest że jak od przez dla był była są oraz który która"),
	"cs": strings.Fields("se na je že jako pro byl byla jsou ale od který která také"),
}

// fwIndex maps a function word to the languages it belongs to (bit set
// over fwLangs), built once.
var fwLangs, fwIndex = func() ([]string, map[string]uint32) {
	var langs []string
	for l := range functionWords {
		langs = append(langs, l)
	}
	slices.Sort(langs) // a fixed order keeps reasons deterministic
	idx := map[string]uint32{}
	for i, l := range langs {
		for _, w := range functionWords[l] {
			idx[w] |= 1 << i
		}
	}
	return langs, idx
}()

// checkLanguage rejects Latin-script MT whose function words are clearly
// another language's than tgt_lang's.
func (c *Checker) checkLanguage(_, mt, lp, tgt string) (string, bool) {
	p := primary(tgt)
	want, srcL, en := -1, -1, -1
	sp := primary(lp)
	for i, l := range fwLangs {
		switch l {
		case p:
			want = i
		case sp:
			srcL = i
		}
		if l == "en" && p != "en" {
			en = i
		}
	}
	if want < 0 || (srcL < 0 && en < 0) {
		return "", false
	}
	var hits [32]int
	var buf [16]byte
	for start := 0; start < len(mt); {
		// next word: a run of letters
		r, w := utf8.DecodeRuneInString(mt[start:])
		if !unicode.IsLetter(r) {
			start += w
			continue
		}
		end := start
		for end < len(mt) {
			r2, w2 := utf8.DecodeRuneInString(mt[end:])
			if !unicode.IsLetter(r2) {
				break
			}
			end += w2
		}
		word := mt[start:end]
		start = end
		if len(word) > len(buf) {
			continue // function words are short
		}
		lw := lowerInto(buf[:0], word)
		if set, ok := fwIndex[string(lw)]; ok {
			for i := range fwLangs {
				if set&(1<<i) != 0 {
					hits[i]++
				}
			}
		}
	}
	best := want
	for _, i := range []int{srcL, en} {
		if i >= 0 && hits[i] > hits[best] {
			best = i
		}
	}
	if best == want || hits[best] < c.cfg.Language.MinHits ||
		float64(hits[best]) < c.cfg.Language.MinRatio*float64(max(hits[want], 1)) {
		return "", false
	}
	return fmt.Sprintf("wrong language: MT reads as %q, not %q (%d function words of %q, %d of %q)",
		fwLangs[best], p, hits[best], fwLangs[best], hits[want], p), true
}

// lowerInto appends the lower-case form of a short word without
// allocating (the map lookup of string(b) does not allocate either).
func lowerInto(dst []byte, s string) []byte {
	for _, r := range s {
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
	}
	return dst
}
