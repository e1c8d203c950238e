package evaluate

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestBuildFailures(t *testing.T) {
	var rows []Row
	rows = append(rows, synthRows("en", "de", 9, 80)...)
	rows = append(rows, synthRows("en", "de", 4, 50)...) // below GoodDA: not in Good
	rows = append(rows, synthRows("en", "zh", 6, 90)...)
	rows = append(rows, synthRows("ne", "en", 1, 90)...) // alone: no other MT to take
	for i := 9; i < 13; i++ {
		rows[i].Line += 100 // distinct lines and texts in the same file
		rows[i].Src, rows[i].MT = "LOW"+rows[i].Src, "LOW"+rows[i].MT
	}
	rows[0].MT = "one two three four five six seven"
	rows[1].MT = rows[0].MT // a duplicated MT: its unrelated twin would be itself
	sets := BuildFailures(rows, FailureOptions{Seed: 3})

	if len(sets.Cut) != len(rows) {
		t.Fatalf("%d cut cases for %d rows", len(sets.Cut), len(rows))
	}
	if want := 9 + 6 + 1; len(sets.Good) != want {
		t.Fatalf("%d good cases, want %d (DA >= 70)", len(sets.Good), want)
	}
	// ne-en has no other row; en-de rows 0 and 1 may swap a duplicate MT.
	if n := len(sets.Unrelated); n < 13+6-2 || n > 13+6 {
		t.Fatalf("%d unrelated cases, want 17-19", n)
	}
	byLine := map[string]Row{}
	for _, r := range rows {
		byLine[r.LangPair()+"/"+fmt.Sprint(r.Line)] = r
	}
	own := func(c Case) Row { return byLine[c.SrcLang+"-"+c.TgtLang+"/"+fmt.Sprint(c.Line)] }
	usedMT := map[string]int{}
	for _, c := range sets.Unrelated {
		r := own(c)
		o, ok := byLine[c.SrcLang+"-"+c.TgtLang+"/"+fmt.Sprint(c.MTLine)]
		if !ok || c.Src != r.Src || c.MT != o.MT || c.MTLine == c.Line || c.MT == r.MT || c.Set != "unrelated" {
			t.Errorf("unrelated case %+v: source row %+v, MT row %+v", c, r, o)
		}
		usedMT[c.SrcLang+c.TgtLang+c.MT]++
	}
	for mt, n := range usedMT {
		if n > 1 && !strings.Contains(mt, "one two") {
			t.Errorf("MT %q given to %d sources; each MT moves once", mt, n)
		}
	}
	for _, c := range sets.Cut {
		r := own(c)
		if c.Src != r.Src || !strings.HasPrefix(r.MT, c.MT) || c.MT == "" || c.Set != "cut" {
			t.Errorf("cut case %+v of %+v", c, r)
		}
	}
	if got := sets.Cut[0].MT; got != "one two" {
		t.Errorf("first third of a 7-word MT = %q, want %q", got, "one two")
	}
	for _, c := range sets.Good {
		if r := own(c); *r.DA < 70 || c.MT != r.MT {
			t.Errorf("good case %+v of %+v", c, r)
		}
	}
	again := BuildFailures(rows, FailureOptions{Seed: 3})
	if !reflect.DeepEqual(sets, again) {
		t.Fatal("the same rows and seed gave different sets")
	}
	if other := BuildFailures(rows, FailureOptions{Seed: 4}); reflect.DeepEqual(sets.Unrelated, other.Unrelated) {
		t.Fatal("another seed gave the same unrelated pairs")
	}
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, sets.Good[:1]); err != nil || !strings.HasPrefix(buf.String(), `{"id":"en-de-2-good","src":"Sen0.","mt":"one two three four five six seven","src_lang":"en","tgt_lang":"de","set":"good","line":2}`) {
		t.Fatalf("WriteJSONL: %v %q", err, buf.String())
	}
}

func TestFirstThird(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a b c", "a"},
		{"a b c d e", "a b"}, // 5/3 = 1.67 -> 2
		{"a b c d", "a"},     // 4/3 = 1.33 -> 1
		{"ab cd", "ab"},      // under 3 words: characters, 5/3 -> 2 runes
		{"博物馆周一闭馆。", "博物馆"}, // no spaces: 8 runes / 3 -> 3
		{"x", "x"},
	} {
		if got := firstThird(tc.in); got != tc.want {
			t.Errorf("firstThird(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
