package segment

import (
	"reflect"
	"strings"
	"testing"
)

func TestAlign(t *testing.T) {
	tests := []struct {
		name             string
		src, mt          string
		srcLang, tgtLang string
		want             [][2]string
	}{
		{"none", "", "Hallo.", "en", "de", nil},
		{"one to one", "One. Two is longer. Three.", "Eins. Zwei ist länger. Drei.", "en", "de",
			[][2]string{{"One.", "Eins."}, {"Two is longer.", "Zwei ist länger."}, {"Three.", "Drei."}}},
		{"equal counts stay one to one whatever the lengths", "Aa. Bbbbbbbbbbbbbbbbbbb.", "Cccccccccccccccccc. Dd.", "en", "de",
			[][2]string{{"Aa.", "Cccccccccccccccccc."}, {"Bbbbbbbbbbbbbbbbbbb.", "Dd."}}},
		{"mt splits a sentence", "The museum is closed on Mondays and holidays. It opens at nine.",
			"Das Museum ist montags geschlossen. Auch an Feiertagen. Es öffnet um neun.", "en", "de",
			[][2]string{{"The museum is closed on Mondays and holidays.", "Das Museum ist montags geschlossen. Auch an Feiertagen."},
				{"It opens at nine.", "Es öffnet um neun."}}},
		{"source splits a sentence", "It rained. All day long. Then the sun came out over the hills.",
			"Es regnete den ganzen Tag. Dann kam die Sonne über den Hügeln hervor.", "en", "de",
			[][2]string{{"It rained. All day long.", "Es regnete den ganzen Tag."},
				{"Then the sun came out over the hills.", "Dann kam die Sonne über den Hügeln hervor."}}},
		{"one side one sentence", "One. Two. Three.", "Alles in einem Satz", "en", "de",
			[][2]string{{"One. Two. Three.", "Alles in einem Satz"}}},
		{"cjk against latin", "The museum is closed. It opens on Tuesday. Please.",
			"博物馆关闭了。周二开放。", "en", "zh",
			[][2]string{{"The museum is closed.", "博物馆关闭了。"}, {"It opens on Tuesday. Please.", "周二开放。"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pairs := Align(tc.src, Split(tc.src, tc.srcLang), tc.mt, Split(tc.mt, tc.tgtLang))
			var got [][2]string
			for _, p := range pairs {
				got = append(got, [2]string{p[0].Of(tc.src), p[1].Of(tc.mt)})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestMatchCuts(t *testing.T) {
	tests := []struct {
		name   string
		fs, fl []float64
		want   []int
	}{
		{"none", nil, []float64{0.5}, nil},
		{"nearest", []float64{0.5}, []float64{0.1, 0.45, 0.9}, []int{2}},
		{"monotone even when nearest repeats", []float64{0.5, 0.52}, []float64{0.1, 0.5, 0.9}, []int{2, 3}},
		{"tie goes to the earlier", []float64{0.5}, []float64{0.4, 0.6}, []int{1}},
		{"room left for later cuts", []float64{0.95, 0.97}, []float64{0.1, 0.2, 0.3}, []int{2, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := matchCuts(tc.fs, tc.fl); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("matchCuts(%v, %v) = %v, want %v", tc.fs, tc.fl, got, tc.want)
			}
		})
	}
}

// TestMatchCutsBounded: past exactLimit long-side boundaries only those
// near the short side's are matched, and for sentence lengths that vary
// smoothly the answer is the exact one.
func TestMatchCutsBounded(t *testing.T) {
	fl := make([]float64, 3*exactLimit)
	for i := range fl {
		x := float64(i+1) / float64(len(fl)+1)
		fl[i] = x * x // sentences growing longer towards the end
	}
	for _, fs := range [][]float64{{0.5}, {0.1, 0.2, 0.9}, {0.3, 0.3000001, 0.99, 0.999}} {
		got, want := matchCuts(fs, fl), matchAll(fs, fl)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("fs %v: bounded %v, exact %v", fs, got, want)
		}
	}
	// Many boundaries crowded at one end still leave a valid, increasing
	// choice.
	fs := make([]float64, 40)
	for i := range fs {
		fs[i] = 0.999 + float64(i)*1e-6
	}
	cuts := matchCuts(fs, fl)
	for k := 1; k < len(cuts); k++ {
		if cuts[k] <= cuts[k-1] || cuts[k] > len(fl) {
			t.Fatalf("cuts not increasing within range: %v", cuts)
		}
	}
}

// TestSegmentManyTinySentences: a message of many short sentences against
// a few long ones is aligned without losing text and in bounded work.
func TestSegmentManyTinySentences(t *testing.T) {
	src := strings.Repeat("This is a long sentence with many words in it. ", 10)
	mt := strings.Repeat("Ja. ", 100000)
	pieces, n := Segment(src, mt, "en", "de", 64)
	if n != 10 || len(pieces) != 10 {
		t.Fatalf("%d pieces, n = %d", len(pieces), n)
	}
	var b strings.Builder
	for _, p := range pieces {
		b.WriteString(p.MT)
	}
	if noSpace(b.String()) != noSpace(mt) {
		t.Fatal("text lost")
	}
}
