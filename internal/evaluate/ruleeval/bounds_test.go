package ruleeval

import (
	"strings"
	"testing"
)

func TestFitBounds(t *testing.T) {
	var pairs []Pair
	for i := range 1000 {
		// ratios 0.5 .. 1.5 in equal steps, plus a bad pair and a short one
		n := 100
		m := 50 + i*100/999
		pairs = append(pairs, Pair{Src: strings.Repeat("a", n), MT: strings.Repeat("b", m), SrcLang: "en", TgtLang: "xx", DA: 80})
	}
	pairs = append(pairs, Pair{Src: strings.Repeat("a", 100), MT: "b", SrcLang: "en", TgtLang: "xx", DA: 10},
		Pair{Src: "a", MT: strings.Repeat("b", 100), SrcLang: "en", TgtLang: "xx", DA: 90})
	tb := FitBounds(pairs, 51, 30, "test")
	if tb.Pairs["en-xx"] != 1000 {
		t.Fatalf("pairs %v, want 1000 (bad and short ones left out)", tb.Pairs)
	}
	b := tb.Levels["0.025"].ByPair["en-xx"]
	if b[0] < 0.51 || b[0] > 0.54 || b[1] < 1.46 || b[1] > 1.49 {
		t.Fatalf("0.025 bounds %v, want about [0.525, 1.475]", b)
	}
}
