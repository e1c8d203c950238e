package segment

import (
	"reflect"
	"strings"
	"testing"
)

func TestSegment(t *testing.T) {
	tests := []struct {
		name       string
		src, mt    string
		limit      int
		wantN      int
		wantPieces []Piece
	}{
		{"single sentence is whole", "The museum is closed.", "Das Museum ist geschlossen.", 64, 1, nil},
		{"one side single", "One. Two.", "Eins zwei", 64, 1, nil},
		{"two pieces", "One. Two.", "Eins. Zwei.", 64, 2, []Piece{{"One.", "Eins."}, {"Two.", "Zwei."}}},
		{"no limit", "Aa. Bb. Cc.", "Dd. Ee. Ff.", 0, 3, []Piece{{"Aa.", "Dd."}, {"Bb.", "Ee."}, {"Cc.", "Ff."}}},
		{"over the limit keeps the first", "Aa. Bb. Cc. Dd.", "Ee. Ff. Gg. Hh.", 2, 4, []Piece{{"Aa.", "Ee."}, {"Bb.", "Ff."}}},
		{"over the limit with a longer side", "Aa. Bbbb. Cc.", "Ee. Ff. Gggg. Hh. Ii.", 2, 3,
			[]Piece{{"Aa.", "Ee."}, {"Bbbb.", "Ff. Gggg."}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pieces, n := Segment(tc.src, tc.mt, "en", "de", tc.limit)
			if n != tc.wantN || !reflect.DeepEqual(pieces, tc.wantPieces) {
				t.Errorf("Segment = %q, %d; want %q, %d", pieces, n, tc.wantPieces, tc.wantN)
			}
		})
	}
}

// noSpace drops white space: what must survive splitting and alignment.
func noSpace(s string) string {
	return strings.Join(strings.Fields(s), "")
}

// FuzzSegment checks that splitting and aligning never panic and never
// lose text: the sentences of each side, and the aligned pieces of each
// side, concatenate back to the input modulo white space.
//
//	go test -run=^$ -fuzz=FuzzSegment -fuzztime=10s ./pipeline/segment
func FuzzSegment(f *testing.F) {
	for _, s := range [][4]string{
		{"Dr. Smith met Mr. Jones. They talked! Did they?", "Dr. Smith traf Herrn Jones. Sie redeten!", "en", "de"},
		{"博物馆周一闭馆。周二开放！", "The museum is closed on Mondays. It opens on Tuesday!", "zh", "en"},
		{"संग्रहालय सोमबार बन्द हुन्छ। मंगलबार खुल्छ।", "The museum is closed. It opens.", "ne", "en"},
		{"කෞතුකාගාරය වසා ඇත. එය විවෘතයි.", "Closed. Open. Again.", "si", "en"},
		{"Это было в 1990 г. и т.д. Потом всё изменилось.", "It was 3.5. \"Yes.\" (No.)\n\nEnd…", "ru", "en"},
		{"", ". . .", "en", "de"},
	} {
		f.Add(s[0], s[1], s[2], s[3], 3)
	}
	f.Fuzz(func(t *testing.T, src, mt, srcLang, tgtLang string, limit int) {
		for _, side := range []struct{ text, lang string }{{src, srcLang}, {mt, tgtLang}} {
			spans := Split(side.text, side.lang)
			var b strings.Builder
			last := 0
			for _, s := range spans {
				if s.Start < last || s.End <= s.Start || s.End > len(side.text) {
					t.Fatalf("Split(%q): span %v out of order or empty", side.text, s)
				}
				if p := s.Of(side.text); noSpace(p) != strings.Join(strings.Fields(p), "") || strings.TrimSpace(p) != p {
					t.Fatalf("Split(%q): span %q not trimmed", side.text, p)
				}
				b.WriteString(s.Of(side.text))
				last = s.End
			}
			if noSpace(b.String()) != noSpace(side.text) {
				t.Fatalf("Split(%q, %q) lost text: %q", side.text, side.lang, texts(side.text, spans))
			}
		}
		pieces, n := Segment(src, mt, srcLang, tgtLang, 0)
		if n <= 1 {
			if pieces != nil {
				t.Fatalf("n = %d with pieces %q", n, pieces)
			}
			return
		}
		if len(pieces) != n {
			t.Fatalf("%d pieces, n = %d", len(pieces), n)
		}
		var s, m strings.Builder
		for _, p := range pieces {
			if strings.TrimSpace(p.Src) == "" || strings.TrimSpace(p.MT) == "" {
				t.Fatalf("empty side in piece %q", p)
			}
			s.WriteString(p.Src)
			m.WriteString(p.MT)
		}
		if noSpace(s.String()) != noSpace(src) || noSpace(m.String()) != noSpace(mt) {
			t.Fatalf("Segment(%q, %q) lost text: %q", src, mt, pieces)
		}
		if limit = limit%8 + 1; limit < 1 {
			limit += 8
		}
		if lp, ln := Segment(src, mt, srcLang, tgtLang, limit); ln != n || len(lp) != min(n, limit) {
			t.Fatalf("limit %d: %d pieces, n = %d (want %d)", limit, len(lp), ln, n)
		}
	})
}
