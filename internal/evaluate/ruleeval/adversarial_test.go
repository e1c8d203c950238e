package ruleeval

import (
	"github.com/qegate/qegate/pipeline/rules"

	"math"
	"strings"
	"testing"
	"unicode"
)

// syntheticPairs is a small labelled set with numbers, long sentences and
// two target scripts, enough for every adversarial kind.
func syntheticPairs() []Pair {
	var out []Pair
	de := []string{
		"Im Jahr 1832 beschloss der Stadtrat, eine neue Brücke über den Fluss zu bauen.",
		"Das Museum auf dem Hügel ist montags und an allen Feiertagen geschlossen.",
		"Die Legion nahm 1845 an der Befriedung Algeriens teil, die von Aufständen geplagt war.",
		"Er beginnt auch eine Affäre mit Veronica Harrington, die ihn 24 Mal rettet.",
	}
	en := []string{
		"In 1832 the town council decided to build a new bridge over the river.",
		"The museum on the hill is closed on Mondays and on all public holidays.",
		"The Legion took part in 1845 in the pacification of Algeria, plagued by rebellions.",
		"He also begins an affair with Veronica Harrington, who rescues him 24 times.",
	}
	zh := []string{"1832年，市议会决定在河上建造一座新桥。", "山上的博物馆在周一和所有公共假日闭馆。",
		"军团于1845年参加了平定阿尔及利亚的行动。", "他还与维罗妮卡·哈灵顿有染，她救了他24次。"}
	for i := range en {
		out = append(out, Pair{Src: en[i], MT: de[i], SrcLang: "en", TgtLang: "de", DA: 90},
			Pair{Src: en[i], MT: zh[i], SrcLang: "en", TgtLang: "zh", DA: 80},
			Pair{Src: de[i], MT: en[i], SrcLang: "de", TgtLang: "en", DA: 75},
			Pair{Src: en[i], MT: de[i], SrcLang: "en", TgtLang: "de", DA: 20}) // too bad to be a base
	}
	return out
}

func TestAdversarial(t *testing.T) {
	pairs := syntheticPairs()
	placeholders, err := rules.New(rules.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cases := Adversarial(pairs, 1, 3)
	again := Adversarial(pairs, 1, 3)
	if len(cases) != len(again) {
		t.Fatalf("not reproducible: %d then %d cases", len(cases), len(again))
	}
	seen := map[string]int{}
	for i, c := range cases {
		if c != again[i] && !(math.IsNaN(c.Pair.DA) && c.Kind == again[i].Kind && c.Pair.MT == again[i].Pair.MT && c.Pair.Src == again[i].Pair.Src) {
			t.Fatalf("case %d differs between runs with the same seed", i)
		}
		seen[c.Kind]++
		base := pairs[c.Base]
		if base.DA < AdversarialBaseDA {
			t.Fatalf("%s built from a pair with DA %v", c.Kind, base.DA)
		}
		if !math.IsNaN(c.Pair.DA) {
			t.Fatalf("%s: DA %v, want NaN (no human label)", c.Kind, c.Pair.DA)
		}
		p := c.Pair
		ok := true
		switch c.Kind {
		case KindEmpty:
			ok = strings.TrimFunc(p.MT, func(r rune) bool { return unicode.IsSpace(r) || r == '\u200b' }) == ""
		case KindCopy:
			ok = p.MT == p.Src
		case KindNearCopy:
			ok = p.MT != p.Src && len(strings.Fields(p.MT)) == len(strings.Fields(p.Src))
		case KindWrongScript:
			ok = letterShare(p.MT, rules.Scripts(p.TgtLang)) < 0.2
		case KindWrongLanguage:
			ok = letterShare(p.MT, rules.Scripts(p.TgtLang)) > 0.9 && p.MT != base.MT
		case KindNumberEdit, KindTruncation, KindLoop, KindUnrelated:
			ok = p.Src == base.Src && p.MT != base.MT
		case KindPlaceholder, KindTagDrop, KindURLDrop:
			ok = p.Src != base.Src && !placeholders.CheckRule(rules.RulePlaceholders, p.Src, p.MT, p.SrcLang, p.TgtLang).Passed()
		default:
			t.Fatalf("unknown kind %q", c.Kind)
		}
		if !ok {
			t.Errorf("%s case does not have its defect: src %q mt %q", c.Kind, p.Src, p.MT)
		}
	}
	for _, k := range Kinds {
		if seen[k] == 0 {
			t.Errorf("no %s case built", k)
		}
	}
}

func TestMeasure(t *testing.T) {
	pairs := []Pair{
		{Src: srcEN, MT: mtDE, SrcLang: "en", TgtLang: "de", DA: 90},  // passes, good
		{Src: srcEN, MT: srcEN, SrcLang: "en", TgtLang: "de", DA: 95}, // copy, good: wrongful
		{Src: srcEN, MT: srcEN, SrcLang: "en", TgtLang: "de", DA: 10}, // copy, bad: correct
		{Src: srcEN, MT: "", SrcLang: "en", TgtLang: "de", DA: 60},    // empty, neither
		{Src: srcEN, MT: mtDE, SrcLang: "en", TgtLang: "de", DA: 30},  // passes, bad
	}
	adv := []Case{
		{Kind: KindCopy, Pair: Pair{Src: srcEN, MT: srcEN, SrcLang: "en", TgtLang: "de"}},
		{Kind: KindUnrelated, Pair: Pair{Src: srcEN, MT: mtDE, SrcLang: "en", TgtLang: "de"}},
	}
	c, err := rules.New(rules.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r := Measure(c, pairs, adv)
	if r.Pairs != 5 || r.BadPairs != 2 || r.Good70Pairs != 2 {
		t.Fatalf("counts %d/%d/%d, want 5/2/2", r.Pairs, r.BadPairs, r.Good70Pairs)
	}
	all, _ := r.Stats("all")
	if all.Flagged != 3 || all.Bad != 1 || all.Good70 != 1 || math.Abs(all.Precision()-1.0/3) > 1e-9 {
		t.Fatalf("chain %+v, want 3 flagged, 1 bad, 1 good", all)
	}
	cp, _ := r.Stats(rules.RuleCopy)
	if cp.Flagged != 2 || cp.Bad != 1 || cp.AdvCaught[KindCopy] != 1 {
		t.Fatalf("copy %+v", cp)
	}
	if r.Caught(KindCopy) != 1 || r.Caught(KindUnrelated) != 0 || !math.IsNaN(r.Caught(KindLoop)) {
		t.Fatalf("caught copy %v unrelated %v loop %v", r.Caught(KindCopy), r.Caught(KindUnrelated), r.Caught(KindLoop))
	}
	if r.NoReason != 0 {
		t.Fatal("rejections without a reason")
	}
	var b strings.Builder
	r.WriteMarkdown(&b)
	for _, want := range []string{"| copy | 2 | 50.0% | 1 | 1 / 2 |", "| all | 3 | 33.3% | 1 | 1 / 2 |", "| unrelated | 1 | 0.0% |  |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
}

// A pair to check the rules on: a source and a good German MT of it.
const (
	srcEN = "The museum on the hill is closed on Mondays and on public holidays."
	mtDE  = "Das Museum auf dem Hügel ist montags und an Feiertagen geschlossen."
)
