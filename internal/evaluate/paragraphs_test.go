package evaluate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// synthRows makes n rows of a language pair with DA da, numbered so each
// sentence can be traced: src "S<lp><i>.", mt "M<lp><i>.".
func synthRows(src, tgt string, n int, da float64) []Row {
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{File: src + "-" + tgt + ".tsv", Line: i + 2, SrcLang: src, TgtLang: tgt,
			Src: fmt.Sprintf("S%s%d.", src, i), MT: fmt.Sprintf("M%s%d.", tgt, i), DA: fp(da)}
	}
	return rows
}

func TestBuildParagraphs(t *testing.T) {
	var rows []Row
	rows = append(rows, synthRows("en", "de", 23, 80)...)
	rows = append(rows, synthRows("en", "de", 7, 50)...) // below MinDA: never used
	rows = append(rows, synthRows("en", "zh", 11, 90)...)
	rows = append(rows, synthRows("ne", "en", 5, 90)...) // no row left to replace with: skipped
	rows = append(rows, Row{File: "x.jsonl", Line: 1, SrcLang: "en", TgtLang: "de", Src: "S.", MT: "M."})
	for i := 23; i < 30; i++ {
		rows[i].Src, rows[i].MT = "LOW"+rows[i].Src, "LOW"+rows[i].MT
	}
	sets := BuildParagraphs(rows, ParagraphOptions{Seed: 7})
	clean, bad := sets.Clean, sets.Bad
	if len(sets.Replaced) != len(bad) {
		t.Fatalf("%d replaced pairs for %d bad paragraphs", len(sets.Replaced), len(bad))
	}
	if len(clean) != 4+2 || len(bad) != len(clean) {
		t.Fatalf("%d clean, %d bad paragraphs; want 6 each (4 en-de, 2 en-zh)", len(clean), len(bad))
	}
	seen := map[string]bool{}
	for i, c := range clean {
		b := bad[i]
		if c.Set != "clean" || b.Set != "bad" || b.ID != c.ID+"-bad" || c.Replaced != nil || b.Replaced == nil {
			t.Fatalf("paragraph %d: %+v / %+v", i, c, b)
		}
		sep := " "
		if c.TgtLang == "zh" {
			sep = ""
		}
		sentences := func(s string) []string {
			parts := strings.SplitAfter(s, "."+sep)
			if parts[len(parts)-1] == "" {
				parts = parts[:len(parts)-1]
			}
			return parts
		}
		cm, bm := sentences(c.MT), sentences(b.MT)
		srcs := strings.Split(c.Src, " ")
		if len(srcs) != 5 || len(cm) != 5 || len(bm) != 5 || b.Src != c.Src || !reflect.DeepEqual(b.Lines, c.Lines) {
			t.Fatalf("paragraph %s: want 5 sentences, same source: %q / %q / %q", c.ID, c.Src, c.MT, b.MT)
		}
		for k := range cm {
			// Sentence k of the clean MT translates sentence k of the source.
			if strings.TrimPrefix(strings.TrimSpace(cm[k]), "M"+c.TgtLang) != strings.TrimPrefix(srcs[k], "S"+c.SrcLang) {
				t.Fatalf("%s: MT %q is not the translation of %q", c.ID, cm[k], srcs[k])
			}
			if differs := cm[k] != bm[k]; differs != (k == *b.Replaced) {
				t.Fatalf("%s: sentence %d differs %v, replaced %d", c.ID, k, differs, *b.Replaced)
			}
		}
		if strings.Contains(c.Src+b.MT, "LOW") {
			t.Fatalf("%s uses a row below MinDA", c.ID)
		}
		if r := sets.Replaced[i]; r.Src != strings.TrimSpace(srcs[*b.Replaced]) || r.MT != strings.TrimSpace(bm[*b.Replaced]) ||
			r.Set != "replaced" || r.Lines[0] != c.Lines[*b.Replaced] {
			t.Fatalf("%s: replaced pair %+v, want sentence %d of %q with %q", c.ID, r, *b.Replaced, c.Src, bm[*b.Replaced])
		}
		if strings.Contains(c.MT, strings.TrimSpace(bm[*b.Replaced])) {
			t.Fatalf("%s: the replacement %q is from the paragraph itself", c.ID, bm[*b.Replaced])
		}
		for _, s := range srcs {
			if seen[c.SrcLang+c.TgtLang+s] {
				t.Fatalf("sentence %s used twice", s)
			}
			seen[c.SrcLang+c.TgtLang+s] = true
		}
	}
	// The same data and seed give the same paragraphs, another seed others.
	again := BuildParagraphs(rows, ParagraphOptions{Seed: 7})
	other := BuildParagraphs(rows, ParagraphOptions{Seed: 8})
	if !reflect.DeepEqual(sets, again) || reflect.DeepEqual(sets, other) {
		t.Fatal("the draw is not a function of the seed")
	}
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, clean[:1]); err != nil {
		t.Fatal(err)
	}
	var back Paragraph
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || !reflect.DeepEqual(back, clean[0]) || bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
		t.Fatalf("JSONL round trip: %v %s", err, buf.Bytes())
	}
}
