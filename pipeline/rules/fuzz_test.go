package rules

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCheck: any valid UTF-8 on either side and any language codes must
// give a verdict without panicking, and a rejection always has a reason.
func FuzzCheck(f *testing.F) {
	for _, s := range [][4]string{
		{srcEN, mtDE, "en", "de"},
		{"Hello {0}, %1$s <b>x</b> https://a.org/%20 a@b.co", "Hallo {0}", "en", "de"},
		{"1,000.5 ١٨٣٢ २०१२ 𝟗", "1.000,5 1832 2012 9", "ar", "en"},
		{"the 1920s 50,000", "20 世纪 20 年代 5 万 二十二 一九八九 千千千", "en", "zh"},
		{"", "", "", ""},
		{"a a a a", "b b b b b b b b", "EN_us", "sr-Cyrl"},
		{strings.Repeat("x", 5000), strings.Repeat("x", 4990), "en", "de"},
		{"9, 000", "9 000 , 1 000", "zh-Hant-", "-"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	c, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src, mt, sl, tl string) {
		if !utf8.ValidString(src) || !utf8.ValidString(mt) {
			t.Skip("the decoder rejects invalid UTF-8 before the rules run")
		}
		v := c.Check(src, mt, sl, tl)
		if (v.Rule == "") != (v.Reason == "") {
			t.Fatalf("verdict %+v: rule and reason must come together", v)
		}
		if v.Rule != "" && !strings.Contains(strings.Join(AllRules(), " "), v.Rule) {
			t.Fatalf("unknown rule %q", v.Rule)
		}
		if !utf8.ValidString(v.Reason) {
			t.Fatalf("reason is not valid UTF-8: %q", v.Reason)
		}
		// three quoted items of at most maxQuote bytes, %q-escaped, plus text
		if len(v.Reason) > 3*4*(maxQuote+5)+200 {
			t.Fatalf("reason of %d bytes: %.100q...", len(v.Reason), v.Reason)
		}
	})
}
