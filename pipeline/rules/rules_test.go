package rules

import (
	"strings"
	"testing"
)

// only returns a checker with just one rule enabled, defaults otherwise.
func only(t *testing.T, rule string, mod func(*Config)) *Checker {
	t.Helper()
	var cfg Config
	for _, r := range order {
		if r != rule {
			cfg.Disable(r)
		}
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Rules(); len(got) != 1 || got[0] != rule {
		t.Fatalf("Rules() = %v, want [%s]", got, rule)
	}
	return c
}

type ruleCase struct {
	name         string
	src, mt      string
	srcL, tgtL   string
	reject       bool
	reasonSubstr string
}

func runCases(t *testing.T, rule string, mod func(*Config), cases []ruleCase) {
	t.Helper()
	c := only(t, rule, mod)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srcL, tgtL := tc.srcL, tc.tgtL
			if srcL == "" {
				srcL = "en"
			}
			if tgtL == "" {
				tgtL = "de"
			}
			v := c.Check(tc.src, tc.mt, srcL, tgtL)
			if got := !v.Passed(); got != tc.reject {
				t.Fatalf("Check(%q, %q) = %+v, want reject=%v", tc.src, tc.mt, v, tc.reject)
			}
			if tc.reject {
				if v.Rule != rule || v.Reason == "" {
					t.Fatalf("verdict %+v, want rule %s with a reason", v, rule)
				}
				if !strings.Contains(v.Reason, tc.reasonSubstr) {
					t.Fatalf("reason %q does not contain %q", v.Reason, tc.reasonSubstr)
				}
			}
		})
	}
}

const (
	srcEN = "The museum on the hill is closed on Mondays and on public holidays."
	mtDE  = "Das Museum auf dem Hügel ist montags und an Feiertagen geschlossen."
)

func TestEmpty(t *testing.T) {
	runCases(t, RuleEmpty, nil, []ruleCase{
		{name: "empty", src: srcEN, mt: "", reject: true, reasonSubstr: "empty MT"},
		{name: "spaces", src: srcEN, mt: " \t\r\n", reject: true, reasonSubstr: "white space"},
		{name: "nbsp and ideographic space", src: srcEN, mt: "\u00a0\u3000", reject: true},
		{name: "zero-width space and BOM", src: srcEN, mt: "\u200b\ufeff", reject: true},
		{name: "a translation", src: srcEN, mt: mtDE},
		{name: "a single digit is not empty", src: "7", mt: "7"},
		{name: "punctuation only is visible", src: "?", mt: "?"},
	})
}

func TestCopy(t *testing.T) {
	runCases(t, RuleCopy, nil, []ruleCase{
		{name: "exact copy", src: srcEN, mt: srcEN, reject: true, reasonSubstr: "copy of the source"},
		{name: "copy with case and punctuation changed", src: srcEN, mt: strings.ToUpper(strings.TrimSuffix(srcEN, ".")) + " !", reject: true, reasonSubstr: "copy of the source"},
		{name: "near copy, one word changed", src: srcEN, mt: strings.Replace(srcEN, "Mondays", "Montag", 1), reject: true, reasonSubstr: "nearly identical"},
		{name: "translation", src: srcEN, mt: mtDE},
		{name: "short name left as is", src: "Veronica Harrington", mt: "Veronica Harrington"},
		{name: "number only", src: "1832-1923", mt: "1832-1923"},
		{name: "code identifier", src: "os.Getenv(QEGATE_DATA)", mt: "os.Getenv(QEGATE_DATA)"},
		{name: "shares names but translated", src: "Gavin Creel and Jared Gertner reprised their tour performances.",
			mt: "Gavin Creel und Jared Gertner wiederholten ihre Tourneeauftritte."},
		{name: "copy into Chinese", src: srcEN, mt: srcEN, tgtL: "zh", reject: true},
		{name: "long copy past the compare cap", src: strings.Repeat("abcdefghij ", 300), mt: strings.Repeat("abcdefghij ", 300), reject: true},
	})
}

func TestScript(t *testing.T) {
	runCases(t, RuleScript, nil, []ruleCase{
		{name: "Cyrillic for German", src: srcEN, mt: "Музей на холме закрыт по понедельникам и праздникам.", reject: true, reasonSubstr: "Cyrillic, want Latin"},
		{name: "Han for German", src: srcEN, mt: "山上的博物馆周一和公共假日闭馆。", reject: true, reasonSubstr: "Han"},
		{name: "Latin for Chinese", src: srcEN, mt: "The museum is closed on Mondays.", tgtL: "zh", reject: true, reasonSubstr: "Latin, want Han"},
		{name: "Latin for Russian", src: srcEN, mt: mtDE, tgtL: "ru", reject: true},
		{name: "Devanagari for Sinhala", src: "x", mt: "यो समय शासन बिहीन त थिएन", srcL: "ne", tgtL: "si", reject: true, reasonSubstr: "Devanagari"},
		{name: "German in Latin", src: srcEN, mt: mtDE},
		{name: "Chinese with Latin names", src: "Mirabeau proposed to LaFayette to overthrow Necker.", mt: "Mirabeau 向 LaFayette 提议推翻内克。", tgtL: "zh"},
		{name: "Japanese kana and kanji", src: srcEN, mt: "丘の上の博物館は月曜日と祝日に休館です。", tgtL: "ja"},
		{name: "Korean Hangul", src: srcEN, mt: "언덕 위의 박물관은 월요일과 공휴일에 휴관합니다.", tgtL: "ko"},
		{name: "Serbian in Latin", src: srcEN, mt: "Muzej na brdu je zatvoren ponedeljkom.", tgtL: "sr"},
		{name: "sr-Latn accepts Latin", src: srcEN, mt: "Muzej na brdu je zatvoren ponedeljkom.", tgtL: "sr-Latn-RS"},
		{name: "sr-Cyrl rejects Latin", src: srcEN, mt: "Muzej na brdu je zatvoren ponedeljkom.", tgtL: "sr_Cyrl", reject: true},
		{name: "upper-case tag", src: srcEN, mt: "Музей закрыт по понедельникам.", tgtL: "DE", reject: true},
		{name: "unknown language passes", src: srcEN, mt: "Музей закрыт по понедельникам.", tgtL: "xx"},
		{name: "numbers only", src: "1832", mt: "1832", tgtL: "zh"},
		{name: "too few letters", src: "OK", mt: "OK", tgtL: "zh"},
		{name: "Greek", src: srcEN, mt: "Το μουσείο είναι κλειστό τις Δευτέρες.", tgtL: "el"},
		{name: "Arabic for Hebrew", src: srcEN, mt: "المتحف مغلق يوم الاثنين", tgtL: "he", reject: true, reasonSubstr: "Arabic"},
	})
}

func TestLanguage(t *testing.T) {
	runCases(t, RuleLanguage, nil, []ruleCase{
		{name: "English for German", src: srcEN, mt: "The museum on the hill is closed on Mondays and it is open at the weekend.", reject: true, reasonSubstr: `reads as "en", not "de"`},
		{name: "source left in place for et-en", src: "x", mt: "Vastuse määravad tõenäoliselt teadlase eelnev kogemus ja see on oma aja mille kui ka.", srcL: "et", tgtL: "en", reject: true, reasonSubstr: `reads as "et"`},
		{name: "German for English", src: "x", mt: "Das Museum ist am Montag nicht geöffnet und die Ausstellung wurde von der Stadt bezahlt.", srcL: "de", tgtL: "en", reject: true},
		{name: "German", src: srcEN, mt: mtDE},
		{name: "English title inside German", src: srcEN, mt: "In Jugoslawien spielte er in dem Film The Tartars and Battle of Neretva."},
		{name: "Spanish names in German MT", src: "Manuel de Aguirre wrote in El Correo de los Ciegos and El Diario de Madrid.",
			mt: "Manuel de Aguirre schrieb in El Correo de los Ciegos und El Diario de Madrid."},
		{name: "too few function words", src: srcEN, mt: "The Tartars"},
		{name: "language without a list passes", src: srcEN, mt: "The museum is closed on Mondays and it is open at the weekend.", tgtL: "fi"},
		{name: "capitalized function words count", src: srcEN, mt: "THE MUSEUM IS CLOSED ON MONDAYS AND IT IS OPEN AT THE WEEKEND.", reject: true},
	})
}

func TestRepetition(t *testing.T) {
	runCases(t, RuleRepetition, nil, []ruleCase{
		{name: "word loop", src: srcEN, mt: "Das Museum ist ist ist ist geschlossen.", reject: true, reasonSubstr: `"ist" repeated 4 times`},
		{name: "trigram loop", src: srcEN, mt: "Das Museum ist geschlossen am Montag geschlossen am Montag geschlossen am Montag.", reject: true, reasonSubstr: "repeated 3 times"},
		{name: "loop across punctuation", src: srcEN, mt: "going on, going on, going on, going on", reject: true},
		{name: "Chinese character loop", src: srcEN, mt: "教皇谈到长子长子长子长子长子。", tgtL: "zh", reject: true, reasonSubstr: "长 子"},
		{name: "case-insensitive", src: srcEN, mt: "Nein nein NEIN nein, das Museum ist zu.", reject: true},
		{name: "three words twice is fine", src: srcEN, mt: "sehr sehr sehr gut"},
		{name: "bigram twice is fine", src: srcEN, mt: "Er sagte, dass er sagte, dass es regnet."},
		{name: "source repeats too", src: "Ha ha ha ha, he laughed.", mt: "Ha ha ha ha, lachte er."},
		{name: "source loop shorter than MT loop", src: "no no no", mt: "nein nein nein nein nein nein nein nein", reject: true},
		{name: "normal translation", src: srcEN, mt: mtDE},
	})
}

func TestLengthRatio(t *testing.T) {
	long := "Simultaneously, the Legion took part in the pacification of Algeria, plagued by various tribal rebellions."
	runCases(t, RuleLengthRatio, nil, []ruleCase{
		{name: "truncated", src: long, mt: "Gleichzeitig nahm die Legion", reject: true, reasonSubstr: "MT too short"},
		{name: "run-on", src: long, mt: strings.Repeat("Gleichzeitig nahm die Legion an der Befriedung Algeriens teil. ", 4), reject: true, reasonSubstr: "MT too long"},
		{name: "good translation", src: long, mt: "Gleichzeitig nahm die Legion an der Befriedung Algeriens teil, die von verschiedenen Stammesaufständen heimgesucht wurde."},
		{name: "short source is exempt", src: "Yes.", mt: "Jawohl, natürlich, selbstverständlich."},
		{name: "Chinese counted with wide weight", src: long, mt: "与此同时，军团参加了平定阿尔及利亚的行动，当时阿尔及利亚饱受各种部落叛乱的困扰。", tgtL: "zh"},
		{name: "Chinese truncated", src: long, mt: "与此同时，军团参加了", tgtL: "zh", reject: true},
		{name: "unknown pair uses fallback", src: long, mt: "Samtidig", srcL: "en", tgtL: "da", reject: true, reasonSubstr: "for en-da"},
		{name: "pair with subtags", src: long, mt: "Gleichzeitig nahm die Legion", srcL: "en-US", tgtL: "de_AT", reject: true, reasonSubstr: "for en-de"},
	})
	runCases(t, RuleLengthRatio, func(c *Config) { c.LengthRatio.Bounds = map[string][]float64{"en-de": {0.1, 10}, "*": {0.01, 100}} }, []ruleCase{
		{name: "override widens", src: long, mt: "Gleichzeitig nahm die Legion"},
		{name: "fallback override", src: long, mt: "Samtidig", tgtL: "da"},
		{name: "override still bounds", src: long, mt: "Ja", reject: true},
	})
}

func TestPlaceholders(t *testing.T) {
	runCases(t, RulePlaceholders, nil, []ruleCase{
		{name: "brace index", src: "Hello {0}, you have {1} messages.", mt: "Hallo, Sie haben {1} Nachrichten.", reject: true, reasonSubstr: `placeholder not preserved: "{0}"`},
		{name: "named brace", src: "Welcome, {name}!", mt: "Willkommen, {Name}!", reject: true, reasonSubstr: "{name}"},
		{name: "mustache", src: "Hi {{ user }}", mt: "Hallo {{user}}"},
		{name: "mustache lost", src: "Hi {{user}}", mt: "Hallo user", reject: true},
		{name: "dollar brace", src: "Total: ${count} items", mt: "Gesamt: {count} Artikel", reject: true, reasonSubstr: "${count}"},
		{name: "printf", src: "Saved %s of %d files", mt: "%s von %d Dateien gespeichert"},
		{name: "printf lost", src: "Saved %s of %d files", mt: "%s von Dateien gespeichert", reject: true, reasonSubstr: `"%d"`},
		{name: "positional printf", src: "%1$s sent %2$s", mt: "%2$s wurde von %1$s gesendet"},
		{name: "positional printf lost", src: "%1$s sent %2$s", mt: "%1$s hat gesendet", reject: true, reasonSubstr: "%2$s"},
		{name: "precision verb", src: "Rate: %.2f%%", mt: "Rate: %.2f %%"},
		{name: "percent prose is not a verb", src: "Prices rose 50% during the year", mt: "Die Preise stiegen im Jahr um 50 Prozent"},
		{name: "100%ige", src: "a 100%ige guarantee %s", mt: "eine Garantie %s"},
		{name: "count matters", src: "{0} and {0}", mt: "{0} und", reject: true, reasonSubstr: "(1 of 2)"},
		{name: "bold tag", src: "Click <b>Save</b> now", mt: "Klicken Sie jetzt auf <b>Speichern</b>"},
		{name: "bold tag lost", src: "Click <b>Save</b> now", mt: "Klicken Sie jetzt auf Speichern", reject: true, reasonSubstr: `tag not preserved: "<b>", "</b>"`},
		{name: "br forms are equal", src: "Line one<br/>line two", mt: "Zeile eins<br>Zeile zwei"},
		{name: "attributes may be translated", src: `<img alt="cat"> a cat`, mt: `<img alt="Katze"> eine Katze`},
		{name: "less-than in prose", src: "if a < b and b > c then", mt: "wenn a < b und b > c dann"},
		{name: "URL", src: "See https://example.org/docs/page-7.", mt: "Siehe https://example.org/docs/page-7."},
		{name: "URL translated", src: "See https://example.org/docs/page-7.", mt: "Siehe https://example.org/dokumente/seite-7.", reject: true, reasonSubstr: `URL not preserved: "https://example.org/docs/page-7"`},
		{name: "www URL split by tokenizer", src: "Visit www.example.com today", mt: "Besuchen Sie heute www. example. com", reject: true},
		{name: "URL with percent escapes and braces", src: "Open https://x.org/a%20b?q={id}", mt: "Öffnen Sie https://x.org/a%20b?q={id}"},
		{name: "long URL quoted short", src: "See https://example.org/" + strings.Repeat("a", 500), mt: "Siehe", reject: true, reasonSubstr: `aaa..."`},
		{name: "e-mail", src: "Write to Help@Example.com.", mt: "Schreiben Sie an help@example.com."},
		{name: "e-mail lost", src: "Write to help@example.com.", mt: "Schreiben Sie uns.", reject: true, reasonSubstr: "e-mail address not preserved"},
		{name: "mixed kinds", src: "{0} at https://a.org", mt: "bei", reject: true, reasonSubstr: "placeholders/tags/URLs not preserved"},
		{name: "nothing to protect", src: srcEN, mt: mtDE},
		{name: "at sign in prose", src: "Meet @ noon", mt: "Treffen um zwölf"},
	})
}

func TestNumbers(t *testing.T) {
	runCases(t, RuleNumbers, nil, []ruleCase{
		{name: "changed year", src: "He was born in 1832.", mt: "Er wurde 1923 geboren.", reject: true, reasonSubstr: `numbers changed: "1832" missing in MT (MT has "1923")`},
		{name: "same year", src: "He was born in 1832.", mt: "Er wurde 1832 geboren."},
		{name: "grouping comma vs dot", src: "a remnant of 50,000 men", mt: "einen Rest von 50.000 Mann"},
		{name: "grouping vs none", src: "1,000,000 people", mt: "1000000 Menschen"},
		{name: "thin space grouping", src: "10\u202f000 people", mt: "10.000 Menschen"},
		{name: "space grouping", src: "10 000 people", mt: "10000 Menschen"},
		{name: "decimal comma", src: "3.5 km", mt: "3,5 km"},
		{name: "decimal changed", src: "3.5 km", mt: "3,6 km", reject: true},
		{name: "list split", src: "sections 1,2,3", mt: "Abschnitte 1, 2, 3"},
		{name: "single digit spelled out", src: "3 children", mt: "drei Kinder"},
		{name: "two digits missing", src: "42 children", mt: "zweiundvierzig Kinder", reject: true, reasonSubstr: `"42"`},
		{name: "leading zero", src: "at 0600 UTC", mt: "um 600 UTC"},
		{name: "Arabic-Indic digits", src: "في عام ١٨٣٢", mt: "In 1832", srcL: "ar", tgtL: "en"},
		{name: "Devanagari digits", src: "२०१२ मा", mt: "In 2012", srcL: "ne", tgtL: "en"},
		{name: "Devanagari digits changed", src: "२०१२ मा", mt: "In 2013", srcL: "ne", tgtL: "en", reject: true, reasonSubstr: `"२०१२"`},
		{name: "date reordered", src: "5/12/2010", mt: "12.5.2010"},
		{name: "Chinese numerals", src: "on August 22", mt: "八月二十二日", tgtL: "zh"},
		{name: "Chinese positional year", src: "in 1989", mt: "一九八九年", tgtL: "zh"},
		{name: "Chinese scale", src: "as much as 50,000 cords", mt: "多达 5 万条", tgtL: "zh"},
		{name: "Chinese scale with decimals", src: "About 3.6 million commuters", mt: "大约 360 万通勤者", tgtL: "zh"},
		{name: "decade", src: "in the 1920s", mt: "20 世纪 20 年代", tgtL: "zh"},
		{name: "MT tokenizer split group", src: "at 9000 yd", mt: "在 9, 000 码", tgtL: "zh"},
		{name: "split group with scale", src: "to perhaps 10 million hearers", mt: "向大约 1, 000 万听众", tgtL: "zh"},
		{name: "short year written in full", src: "În anii '90, transportul", mt: "In the 1990s, shipping", srcL: "ro", tgtL: "en"},
		{name: "short year changed", src: "În anii '90, transportul", mt: "In the 1980s, shipping", srcL: "ro", tgtL: "en", reject: true},
		{name: "digits typo", src: "până în 1660.", mt: "until 16660.", srcL: "ro", tgtL: "en", reject: true, reasonSubstr: `"1660" missing in MT (MT has "16660")`},
		{name: "number in placeholder ignored", src: "Hello {0}, see https://x.org/p/123", mt: "Hallo"},
		{name: "no numbers", src: srcEN, mt: mtDE},
	})
	runCases(t, RuleNumbers, func(c *Config) { c.Numbers.MinDigits = 1 }, []ruleCase{
		{name: "min_digits 1 checks single digits", src: "3 children", mt: "drei Kinder", reject: true},
	})
}

func TestDigitValue(t *testing.T) {
	for _, tc := range []struct {
		r    rune
		want int
	}{{'0', 0}, {'7', 7}, {'٣', 3}, {'९', 9}, {'০', 0}, {'𝟗', 9}, {'𝟬', 0}, {'５', 5}} {
		if got := digitValue(tc.r); got != tc.want {
			t.Errorf("digitValue(%q) = %d, want %d", tc.r, got, tc.want)
		}
	}
}

func TestCheckOrderAndReason(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(c.Rules(), ","), strings.Join(AllRules(), ","); got != want {
		t.Fatalf("Rules() = %s, want %s", got, want)
	}
	long := "Simultaneously, the Legion took part in the pacification of Algeria in 1832, plagued by rebellions."
	for _, tc := range []struct {
		name, mt, rule string
	}{
		{"empty before all", "", RuleEmpty},
		{"copy before script and length", long, RuleCopy},
		{"loop before length", "Gleichzeitig nahm die Legion die Legion die Legion die Legion die Legion die Legion teil 1832.", RuleRepetition},
		{"length before numbers", "Gleichzeitig", RuleLengthRatio},
		{"numbers", "Gleichzeitig nahm die Legion 1923 an der Befriedung Algeriens teil, von Aufständen geplagt.", RuleNumbers},
		{"passes", "Gleichzeitig nahm die Legion 1832 an der Befriedung Algeriens teil, von Aufständen geplagt.", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := c.Check(long, tc.mt, "en", "de")
			if v.Rule != tc.rule || (v.Rule != "") != (v.Reason != "") {
				t.Fatalf("Check = %+v, want rule %q with a reason iff rejected", v, tc.rule)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr string
		rules   int
	}{
		{name: "zero value is the defaults", rules: len(order)},
		{name: "all disabled", cfg: Config{Disabled: true}, rules: 0},
		{name: "one disabled", cfg: Config{Copy: CopyConfig{Disabled: true}}, rules: len(order) - 1},
		{name: "similarity above 1", cfg: Config{Copy: CopyConfig{MinSimilarity: 1.5}}, wantErr: "rules.copy.min_similarity"},
		{name: "negative letters", cfg: Config{Copy: CopyConfig{MinLetters: -1}}, wantErr: "rules.copy.min_letters"},
		{name: "share negative", cfg: Config{Script: ScriptConfig{MinShare: -0.1}}, wantErr: "rules.script.min_share"},
		{name: "max_n too big", cfg: Config{Repetition: RepetitionConfig{MaxN: 99}}, wantErr: "rules.repetition.max_n"},
		{name: "min_repeats 1", cfg: Config{Repetition: RepetitionConfig{MinRepeats: 1}}, wantErr: "rules.repetition.min_repeats"},
		{name: "quantile not in table", cfg: Config{LengthRatio: LengthRatioConfig{Quantile: 0.2}}, wantErr: "want one of 0.001, 0.005, 0.01, 0.025"},
		{name: "slack below 1", cfg: Config{LengthRatio: LengthRatioConfig{Slack: 0.5}}, wantErr: "rules.length_ratio.slack"},
		{name: "bad bounds", cfg: Config{LengthRatio: LengthRatioConfig{Bounds: map[string][]float64{"en-de": {2, 1}}}}, wantErr: "rules.length_ratio.bounds.en-de"},
		{name: "bounds of one", cfg: Config{LengthRatio: LengthRatioConfig{Bounds: map[string][]float64{"en-de": {2}}}}, wantErr: "want [lo, hi]"},
		{name: "negative digits", cfg: Config{Numbers: NumbersConfig{MinDigits: -2}}, wantErr: "rules.numbers.min_digits"},
		{name: "valid overrides", cfg: Config{Copy: CopyConfig{MinSimilarity: 1}, LengthRatio: LengthRatioConfig{Quantile: 0.025, Slack: 1}}, rules: len(order)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New: %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Rules()) != tc.rules {
				t.Fatalf("Rules() = %v, want %d", c.Rules(), tc.rules)
			}
			if v := c.Check("", "", "en", "de"); tc.rules == 0 && !v.Passed() {
				t.Fatalf("disabled checker rejected: %+v", v)
			}
		})
	}
}

func TestShippedBounds(t *testing.T) {
	for _, q := range Levels {
		lb, ok := ShippedBounds(q)
		if !ok {
			t.Fatalf("level %v missing from length_bounds.json", q)
		}
		for lp, b := range lb.ByPair {
			if !(b[0] > 0 && b[0] < 1 && b[1] > 1 && b[1] < 5) {
				t.Errorf("%v %s: bounds %v implausible", q, lp, b)
			}
		}
		if !(lb.Fallback[0] > 0 && lb.Fallback[1] > lb.Fallback[0]) {
			t.Errorf("%v: fallback %v", q, lb.Fallback)
		}
	}
}

func TestLangPair(t *testing.T) {
	for _, tc := range []struct{ src, tgt, lp, tag string }{
		{"en", "de", "en-de", "de"},
		{"EN", "pt_BR", "en-pt", "pt-br"},
		{"zh-Hant", "en-GB", "zh-en", "en-gb"},
		{"", "", "-", ""},
	} {
		lp, tag := langPair(tc.src, tc.tgt)
		if lp != tc.lp || tag != tc.tag {
			t.Errorf("langPair(%q, %q) = %q, %q; want %q, %q", tc.src, tc.tgt, lp, tag, tc.lp, tc.tag)
		}
	}
}

// TestIssue12 replays the pairs of issue 12 that the gate published with
// high scores; each must now be stopped by the rule meant for it. The
// unrelated German sentence is the model's job: the rules let it through,
// and this test says so.
func TestIssue12(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	src := "In 1832 the town council decided to build a new bridge over the river, which was finished eleven years later after many delays and a flood."
	for _, tc := range []struct{ name, mt, rule string }{
		{"untranslated copy", src, RuleCopy},
		{"Cyrillic translation", "В 1832 году городской совет решил построить новый мост через реку, который был закончен через одиннадцать лет.", RuleScript},
		{"changed year", "Im Jahr 1923 beschloss der Stadtrat, eine neue Brücke über den Fluss zu bauen, die nach vielen Verzögerungen und einer Flut elf Jahre später fertig war.", RuleNumbers},
		{"3 words for 25", "Der Stadtrat beschloss", RuleLengthRatio},
		{"unrelated German sentence (model's job)", "Das Museum auf dem Hügel ist montags und an allen gesetzlichen Feiertagen geschlossen, im Sommer aber bis 1832 Uhr geöffnet.", ""},
		{"good translation", "Im Jahr 1832 beschloss der Stadtrat, eine neue Brücke über den Fluss zu bauen, die nach vielen Verzögerungen und einer Flut elf Jahre später fertig war.", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if v := c.Check(src, tc.mt, "en", "de"); v.Rule != tc.rule {
				t.Fatalf("Check = %+v, want rule %q", v, tc.rule)
			}
		})
	}
}
