package evaluate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const tsvHeader = "index\toriginal\ttranslation\tscores\tmean\tz_scores\tz_mean\tmodel_scores\n"

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func fp(v float64) *float64 { return &v }
func bp(v bool) *bool       { return &v }

func TestReadTSV(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		rows    []Row    // expected Src, MT, langs, labels (File/Line checked separately)
		bad     []string // expected "line: reason substring"
		wantErr string
	}{
		{
			name: "quotes in text are literal",
			file: "en-de.tsv",
			content: tsvHeader +
				"0\tHe said \"hi\" to her.\tEr sagte \"hallo\" zu ihr.\t[1]\t64.5\t[0]\t-0.31\t-0.2\n" +
				"1\t\"Unbalanced quote\tEin \"\"doppelt\"\" Zitat\t[1]\t80\t[0]\t0.4\t-0.1\n",
			rows: []Row{
				{Src: `He said "hi" to her.`, MT: `Er sagte "hallo" zu ihr.`, SrcLang: "en", TgtLang: "de", DA: fp(64.5), Z: fp(-0.31)},
				{Src: `"Unbalanced quote`, MT: `Ein ""doppelt"" Zitat`, SrcLang: "en", TgtLang: "de", DA: fp(80), Z: fp(0.4)},
			},
		},
		{
			name: "columns found by header name, CRLF, BOM, blank lines",
			file: "dev.ro_en.tsv",
			content: "\ufeffz_mean\tmean\ttranslation\toriginal\r\n" +
				"0.5\t70\tThe house\tCasa\r\n\r\n" +
				"-1\t20\tA dog\tUn câine\r\n",
			rows: []Row{
				{Src: "Casa", MT: "The house", SrcLang: "ro", TgtLang: "en", DA: fp(70), Z: fp(0.5)},
				{Src: "Un câine", MT: "A dog", SrcLang: "ro", TgtLang: "en", DA: fp(20), Z: fp(-1)},
			},
		},
		{
			name: "bad rows are reported and the rest is read",
			file: "si-en.tsv",
			content: tsvHeader +
				"0\tgood\tgood\t[]\t60\t[]\t0.1\t0\n" +
				"1\ttoo\tfew\tcolumns\n" +
				"2\tx\ty\t[]\tabc\t[]\t0.1\t0\n" +
				"3\t\ty\t[]\t50\t[]\t0.1\t0\n" +
				"4\tx\t   \t[]\t50\t[]\t0.1\t0\n" +
				"5\tx\ty\t[]\t50\t[]\tNaN\t0\n" +
				"6\t\xff\xfe\ty\t[]\t50\t[]\t0.1\t0\n" +
				"7\tx\ty\t[]\t150\t[]\t0.1\t0\n" +
				"8\tx\ty\t[]\t50\t[]\t0.1\t0\textra\n" +
				"9\tlast\tgood\t[]\t40\t[]\t-0.2\t0\n",
			rows: []Row{
				{Src: "good", MT: "good", SrcLang: "si", TgtLang: "en", DA: fp(60), Z: fp(0.1)},
				{Src: "last", MT: "good", SrcLang: "si", TgtLang: "en", DA: fp(40), Z: fp(-0.2)},
			},
			bad: []string{
				"3: 4 columns, header has 8",
				`4: mean "abc" is not a number`,
				"5: original is empty",
				"6: translation is empty",
				`7: z_mean "NaN" is not finite`,
				"8: original is not valid UTF-8",
				"9: mean 150 is outside [0, 100]",
				"10: 9 columns, header has 8",
			},
		},
		{
			name:    "only z label",
			file:    "en-zh.tsv",
			content: "original\ttranslation\tz_mean\nA\tB\t0.25\n",
			rows:    []Row{{Src: "A", MT: "B", SrcLang: "en", TgtLang: "zh", Z: fp(0.25)}},
		},
		{name: "no language pair in name", file: "dev.tsv", content: tsvHeader, wantErr: "language pair"},
		{name: "no header", file: "en-de.tsv", content: "\n\n", wantErr: "no header"},
		{name: "missing text columns", file: "en-de.tsv", content: "src\tmt\tmean\n", wantErr: `"original"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), tt.file, tt.content)
			d, err := ReadPath(p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkRows(t, d, tt.rows, tt.bad, p)
		})
	}
}

func checkRows(t *testing.T, d *Data, rows []Row, bad []string, file string) {
	t.Helper()
	if len(d.Rows) != len(rows) {
		t.Fatalf("got %d rows %+v, want %d", len(d.Rows), d.Rows, len(rows))
	}
	eqF := func(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	eqB := func(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	for i, w := range rows {
		g := d.Rows[i]
		if g.Src != w.Src || g.MT != w.MT || g.SrcLang != w.SrcLang || g.TgtLang != w.TgtLang ||
			!eqF(g.DA, w.DA) || !eqF(g.Z, w.Z) || !eqB(g.Acceptable, w.Acceptable) {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
		if g.File != file || g.Line < 2 {
			t.Errorf("row %d at %s:%d", i, g.File, g.Line)
		}
	}
	if len(d.BadRows) != len(bad) {
		t.Fatalf("bad rows %v, want %d: %v", d.BadRows, len(bad), bad)
	}
	for i, w := range bad {
		got := d.BadRows[i].String()
		if !strings.HasPrefix(got, file+":") || !strings.Contains(got, w) {
			t.Errorf("bad row %d = %q, want %s:%s", i, got, file, w)
		}
	}
}

func TestReadJSONL(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		rows    []Row
		bad     []string
	}{
		{
			name: "label variants",
			file: "mixed.jsonl",
			content: `{"src":"a \"q\"","mt":"b","src_lang":"en","tgt_lang":"de","da":72.5,"z":0.3}
{"src":"a","mt":"b","src_lang":"en","tgt_lang":"de","da":40}
{"src":"a","mt":"b","src_lang":"et","tgt_lang":"en","z":-1.5}
{"src":"a","mt":"b","src_lang":"ne","tgt_lang":"en","acceptable":true}
{"src":"a","mt":"b","src_lang":"ne","tgt_lang":"en","acceptable":false,"da":null}
{"src":"a","mt":"b","src_lang":"ro","tgt_lang":"en","mean":55,"z_mean":0.1}
`,
			rows: []Row{
				{Src: `a "q"`, MT: "b", SrcLang: "en", TgtLang: "de", DA: fp(72.5), Z: fp(0.3)},
				{Src: "a", MT: "b", SrcLang: "en", TgtLang: "de", DA: fp(40)},
				{Src: "a", MT: "b", SrcLang: "et", TgtLang: "en", Z: fp(-1.5)},
				{Src: "a", MT: "b", SrcLang: "ne", TgtLang: "en", Acceptable: bp(true)},
				{Src: "a", MT: "b", SrcLang: "ne", TgtLang: "en", Acceptable: bp(false)},
				{Src: "a", MT: "b", SrcLang: "ro", TgtLang: "en", DA: fp(55), Z: fp(0.1)},
			},
		},
		{
			name:    "language pair from the file name when fields are missing",
			file:    "si-en.jsonl",
			content: `{"src":"a","mt":"b","da":10}` + "\n",
			rows:    []Row{{Src: "a", MT: "b", SrcLang: "si", TgtLang: "en", DA: fp(10)}},
		},
		{
			name: "bad rows",
			file: "bad.jsonl",
			content: `{"src":"a","mt":"b","src_lang":"en","tgt_lang":"de","da":"high"}
{"src":"a","mt":"b","src_lang":"en","tgt_lang":"de"}
{"src":"a","mt":"b","src_lang":"en","tgt_lang":"de","acceptable":"yes"}
{"src":"","mt":"b","src_lang":"en","tgt_lang":"de","da":50}
{"src":"a","mt":"b","da":50}
not json
{"src":"a","mt":"BADBYTE","src_lang":"en","tgt_lang":"de","da":50}
{"src":"a","mt":"b","src_lang":"en","tgt_lang":"de","da":-3}
{"src":"a","mt":"nul\u0000","src_lang":"en","tgt_lang":"de","da":50}
{"src":"ok","mt":"ok","src_lang":"en","tgt_lang":"de","z":1}
`,
			rows: []Row{{Src: "ok", MT: "ok", SrcLang: "en", TgtLang: "de", Z: fp(1)}},
			bad: []string{
				`1: da "high" is not a number`,
				"2: no label",
				`3: acceptable "yes" is not a boolean`,
				"4: src is empty",
				"5: missing src_lang or tgt_lang",
				"6: invalid JSON",
				"7: not valid UTF-8",
				"8: da -3 is outside [0, 100]",
				"9: mt contains a NUL byte",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			content := strings.ReplaceAll(tt.content, "BADBYTE", "\xff")
			p := writeFile(t, t.TempDir(), tt.file, content)
			d, err := ReadPath(p)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.rows {
				tt.rows[i].File = p
			}
			checkRowsJSONL(t, d, tt.rows, tt.bad, p)
		})
	}
}

// checkRowsJSONL is checkRows without the header-line assumption.
func checkRowsJSONL(t *testing.T, d *Data, rows []Row, bad []string, file string) {
	t.Helper()
	for i := range d.Rows {
		d.Rows[i].Line++ // JSONL has no header; checkRows expects line >= 2
	}
	checkRows(t, d, rows, bad, file)
}

func TestReadDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "en-de.tsv", tsvHeader+"0\ta\tb\t[]\t60\t[]\t0.1\t0\n")
	writeFile(t, dir, "extra.jsonl", `{"src":"a","mt":"b","src_lang":"et","tgt_lang":"en","acceptable":true}`+"\n")
	writeFile(t, dir, "README.md", "ignored")
	d, err := ReadPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Rows) != 2 || d.Rows[0].LangPair() != "en-de" || d.Rows[1].LangPair() != "et-en" {
		t.Fatalf("rows = %+v", d.Rows)
	}
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "README.md") {
		t.Errorf("notes = %v", d.Notes)
	}
	if _, err := ReadPath(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing path: no error")
	}
	empty := t.TempDir()
	if _, err := ReadPath(empty); err == nil {
		t.Error("empty directory: no error")
	}
}

func TestLangPairFromName(t *testing.T) {
	for name, want := range map[string]string{
		"en-de.tsv": "en-de", "/x/y/dev.si_en.tsv": "si-en", "EN-ZH.tsv": "en-zh", "train.tsv": "",
	} {
		s, tg, ok := LangPairFromName(name)
		got := ""
		if ok {
			got = s + "-" + tg
		}
		if got != want {
			t.Errorf("LangPairFromName(%q) = %q, want %q", name, got, want)
		}
	}
}

// FuzzReaders checks that no input makes the readers panic, and that every
// accepted row is scoreable text with sane labels.
func FuzzReaders(f *testing.F) {
	f.Add(tsvHeader+"0\ta \"b\"\tc\t[]\t50\t[]\t0.1\t0\n", `{"src":"a","mt":"b","src_lang":"en","tgt_lang":"de","da":5}`)
	f.Add("original\ttranslation\n\t\n", `{"acceptable":1}`)
	f.Add("\xff\t\n", "[]\n{}\nnull")
	f.Fuzz(func(t *testing.T, tsv, jsonl string) {
		dir := t.TempDir()
		writeFile(t, dir, "en-de.tsv", tsv)
		writeFile(t, dir, "x.jsonl", jsonl)
		d, err := ReadPath(dir)
		if err != nil {
			return
		}
		for _, r := range d.Rows {
			if checkText("src", r.Src) != "" || checkText("mt", r.MT) != "" {
				t.Errorf("accepted bad text %+v", r)
			}
			if r.DA != nil && (*r.DA < 0 || *r.DA > 100) {
				t.Errorf("accepted DA %v", *r.DA)
			}
		}
	})
}
