package scorer

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/daulet/tokenizers"

	"github.com/qegate/qegate/internal/native"
	"github.com/qegate/qegate/internal/unigram"
)

// tokenizerParityTexts are inputs at the edges of the tokenizer contract:
// added tokens inside text, control characters, invalid UTF-8, NUL, space
// runs, compatibility characters that NFKC rewrites (to specials too).
var tokenizerParityTexts = []string{
	"", " ", "   ", "\t\n", "a", "Hello world", "  two  spaces  ", "<s>", "a<s>b", "<s><pad></s><unk>",
	"x </s> y", "<unk", "</s", "<<s>>", "＜s＞ ＜unk＞", "ﬁne ｆｕｌｌｗｉｄｔｈ ① ㌀ ½", "a\x00b", "\xff\xfeabc\xe2\x82",
	"tab\tnew\nline\r\n", "zero\u200bwidth\u200d", "\u2581already\u2581meta", "\ufeffbom", "ctl\x01\x1f\x7f",
	"Ελληνικά русский 中文 日本語 한국어 हिन्दी සිංහල नेपाली עברית العربية ไทย",
	"emoji 👍🏽 👩‍👩‍👧 🇪🇪", "\U0001F9FF\U00010000\U000E0001", "Ǆ ǅ ǆ Å Å", "e\u0301 \u1e9b\u0323",
	strings.Repeat("a", 300), strings.Repeat("ஔ", 50),
}

// TestUnigramMatchesRust checks the pure-Go tokenizer against the Rust
// library on the models' own tokenizer.json files: the edge texts above,
// every reference pair, MLQE-PE dev texts when the data is there, and every
// Unicode scalar value alone and between letters.
func TestUnigramMatchesRust(t *testing.T) {
	dirs := []string{tinyDir}
	if d := defaultModelDir(); d != "" {
		dirs = append(dirs, d)
	}
	// Every scalar value, alone after a space and between letters, 32 to a
	// text (a difference anywhere changes the text's ids).
	var sweep []string
	var b strings.Builder
	for r, n := rune(1), 0; r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		b.WriteString("a" + string(r) + "b " + string(r) + " ")
		if n++; n%32 == 0 || r == utf8.MaxRune {
			sweep = append(sweep, b.String())
			b.Reset()
		}
	}
	texts := append(slices.Clone(tokenizerParityTexts), mlqeDevTexts(t, 3000)...)
	for i, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, TokenizerFile))
			if err != nil {
				t.Fatal(err)
			}
			goTok, err := unigram.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			rust, err := tokenizers.FromBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			defer rust.Close()
			all := slices.Clone(texts)
			if i == len(dirs)-1 { // the sweep once, on the largest vocabulary
				all = append(all, sweep...)
			}
			for _, r := range readReference(t, filepath.Join(dir, "reference.jsonl")) {
				all = append(all, r.Src, r.MT)
			}
			bad := 0
			for _, s := range all {
				want := rust.EncodeWithOptions(s, false).IDs
				if got := goTok.Encode(s); !slices.Equal(got, want) {
					if bad++; bad <= 10 {
						t.Errorf("%q (%U): go %v, rust %v", s, []rune(s), got, want)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d texts differ", bad, len(all))
			}
		})
	}
}

// mlqeDevTexts returns up to n source and target texts of the MLQE-PE dev
// split, or none when the data is not on this machine.
func mlqeDevTexts(t *testing.T, n int) []string {
	t.Helper()
	root := native.RepoRoot()
	if root == "" {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(root, "..", "shared", "mlqe-pe", "da", "dev", "*.tsv"))
	var out []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for i := 0; sc.Scan() && i < n/len(files); i++ {
			if i == 0 {
				continue // header
			}
			if cols := strings.Split(sc.Text(), "\t"); len(cols) > 2 {
				out = append(out, cols[1], cols[2])
			}
		}
		fh.Close()
	}
	return out
}

// BenchmarkTokenize times one text through the pure-Go tokenizer and the
// Rust library (cgo call included) on the default model's reference texts.
func BenchmarkTokenize(b *testing.B) {
	dir := defaultModelDir()
	if dir == "" {
		b.Skip("no default model")
	}
	raw, err := os.ReadFile(filepath.Join(dir, TokenizerFile))
	if err != nil {
		b.Fatal(err)
	}
	var texts []string
	for _, r := range readReference(b, filepath.Join(dir, "reference.jsonl")) {
		texts = append(texts, r.Src, r.MT)
	}
	goTok, err := unigram.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	rust, err := tokenizers.FromBytes(raw)
	if err != nil {
		b.Fatal(err)
	}
	defer rust.Close()
	for _, tc := range []struct {
		name string
		fn   tokenizeFunc
	}{
		{"go", goTok.Encode},
		{"rust", func(s string) []uint32 { return rust.EncodeWithOptions(s, false).IDs }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				tc.fn(texts[i%len(texts)])
				i++
			}
		})
	}
}
