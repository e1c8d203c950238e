package segment

import (
	"strings"
	"testing"
)

// The cost the engine adds to every pair (a single sentence: split both
// sides, find one piece) and to a paragraph (split and align five).
//
//	go test -run '^$' -bench . -benchmem ./pipeline/segment
var (
	benchSrc = "Simultaneously, the Legion took part in the pacification of Algeria, plagued by various tribal rebellions."
	benchMT  = "Gleichzeitig nahm die Legion an der Befriedung Algeriens teil, die von verschiedenen Stammesaufständen heimgesucht wurde."
)

func BenchmarkSegmentSentence(b *testing.B) {
	for b.Loop() {
		if _, n := Segment(benchSrc, benchMT, "en", "de", 64); n != 1 {
			b.Fatal(n)
		}
	}
}

func BenchmarkSegmentParagraph(b *testing.B) {
	src := strings.Repeat(benchSrc+" ", 5)
	mt := strings.Repeat(benchMT+" ", 4) + "Dr. Müller kam am 3. Mai an. Er blieb."
	for b.Loop() {
		if _, n := Segment(src, mt, "en", "de", 64); n != 5 {
			b.Fatal(n)
		}
	}
}
