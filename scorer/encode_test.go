package scorer

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/qegate/qegate/internal/qe"
)

// truncateLoop is the contract's algorithm, step by step.
func truncateLoop(src, mt []uint32, budget int) ([]uint32, []uint32) {
	for len(src)+len(mt) > budget && len(src)+len(mt) > 0 {
		if len(src) >= len(mt) {
			src = src[:len(src)-1]
		} else {
			mt = mt[:len(mt)-1]
		}
	}
	return src, mt
}

func seq(n, base int) []uint32 {
	s := make([]uint32, n)
	for i := range s {
		s[i] = uint32(base + i)
	}
	return s
}

func TestTruncatePairMatchesContract(t *testing.T) {
	for ls := 0; ls <= 12; ls++ {
		for lm := 0; lm <= 12; lm++ {
			for budget := -2; budget <= 26; budget++ {
				src, mt := seq(ls, 100), seq(lm, 200)
				gs, gm := truncatePair(src, mt, budget)
				ws, wm := truncateLoop(src, mt, budget)
				if !slices.Equal(gs, ws) || !slices.Equal(gm, wm) {
					t.Fatalf("ls=%d lm=%d budget=%d: got (%d,%d), want (%d,%d)", ls, lm, budget, len(gs), len(gm), len(ws), len(wm))
				}
			}
		}
	}
}

// fakeTokenizer maps every whitespace-separated word to 10+len(word) and
// records the longest text it was given.
type fakeTokenizer struct{ longest int }

func (f *fakeTokenizer) tokenize(text string) []uint32 {
	f.longest = max(f.longest, len(text))
	var ids []uint32
	for _, w := range strings.Fields(text) {
		ids = append(ids, uint32(10+len(w)))
	}
	return ids
}

func TestEncoderAssemble(t *testing.T) {
	long := strings.Repeat("abc ", 100000) // 400 kB, 100k tokens
	for _, tc := range []struct {
		name   string
		maxLen int
		src    string
		mt     string
		want   []int64
	}{
		{"no truncation", 16, "a bb", "ccc", []int64{0, 11, 12, 2, 2, 13, 2}},
		{"exact fit", 7, "a bb", "ccc", []int64{0, 11, 12, 2, 2, 13, 2}},
		{"src longer is cut", 8, "a a a a a a", "b b", []int64{0, 11, 11, 2, 2, 11, 11, 2}},
		{"mt longer is cut", 8, "a", "b bb bbb bbbb", []int64{0, 11, 2, 2, 11, 12, 13, 2}},
		{"equal sides, src first", 7, "a a", "b b", []int64{0, 11, 2, 2, 11, 11, 2}},
		// budget 1: the last drop happens on a tie, so the source side empties.
		{"max_len 5 equal sides empties src", 5, "a a a", "b b b", []int64{0, 2, 2, 11, 2}},
		{"max_len 5 longer src empties", 5, "a a a", "b", []int64{0, 2, 2, 11, 2}},
		{"max_len 5 shorter src empties", 5, "a", "b b", []int64{0, 2, 2, 11, 2}},
		{"max_len 6 keeps both", 6, "a a a", "b b b", []int64{0, 11, 2, 2, 11, 2}},
		{"max_len 4 empties both", 4, "a a", "b", []int64{0, 2, 2, 2}},
		{"very long src", 10, long, "b bb", []int64{0, 13, 13, 13, 13, 2, 2, 11, 12, 2}},
		{"both very long", 9, long, long, []int64{0, 13, 13, 2, 2, 13, 13, 13, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := &fakeTokenizer{}
			e := &encoder{tokenize: ft.tokenize, maxLen: tc.maxLen, bos: 0, eos: 2, maxInputBytes: 64 * tc.maxLen}
			b, err := e.encode([]qe.Pair{{Src: tc.src, MT: tc.mt, SrcLang: "en", TgtLang: "de"}})
			if err != nil {
				t.Fatal(err)
			}
			got := b.TokenIDs(0)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if len(got) > tc.maxLen {
				t.Fatalf("len %d > max_len %d", len(got), tc.maxLen)
			}
			if ft.longest > 64*tc.maxLen {
				t.Fatalf("tokenizer saw %d bytes, cap is %d", ft.longest, 64*tc.maxLen)
			}
			// The fake tokenizer gives one token per word: a row longer than
			// max_len must be flagged, one that fits must not.
			if want := len(strings.Fields(tc.src))+len(strings.Fields(tc.mt))+4 > tc.maxLen; b.Truncated(0) != want {
				t.Fatalf("Truncated = %v, want %v", b.Truncated(0), want)
			}
			if b.LangPair(0) != "en-de" || b.Len() != 1 || b.MaxSeqLen() != len(tc.want) {
				t.Fatalf("batch metadata: %q %d %d", b.LangPair(0), b.Len(), b.MaxSeqLen())
			}
		})
	}
}

func TestEncoderReportsBadPair(t *testing.T) {
	ft := &fakeTokenizer{}
	e := &encoder{tokenize: ft.tokenize, maxLen: 16, bos: 0, eos: 2}
	pairs := []qe.Pair{{Src: "a", MT: "b"}, {Src: "a", MT: "b"}, {Src: "a", MT: "\xff"}}
	_, err := e.encode(pairs)
	var pe *qe.TextError
	if !errors.As(err, &pe) || pe.Index != 2 || pe.Field != "mt" || !errors.Is(err, qe.ErrInvalidUTF8) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "pair 2: mt") {
		t.Fatalf("message %q does not name the pair", err)
	}
}

func TestCutText(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"short", "hello world", 64, "hello world"},
		{"no cut when disabled", "hello world", -1, "hello world"},
		{"at space", "hello world again", 13, "hello world"},
		{"rune boundary", strings.Repeat("é", 10), 5, "éé"}, // no space: cut inside runes backs off
		{"cjk", strings.Repeat("日本語", 4), 7, "日本"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cutText(tc.in, tc.max); got != tc.want {
				t.Fatalf("cutText(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

// TestEncodeRealTokenizer covers the tiny model's tokenizer on edge cases.
func TestEncodeRealTokenizer(t *testing.T) {
	longEN := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 5000)
	longJA := strings.Repeat("日本語の文章はスペースなしで続きます。", 3000)
	for _, tc := range []struct {
		name   string
		maxLen int
		p      qe.Pair
		check  func(t *testing.T, ids []int64)
	}{
		{"long english hits max_len", 0, qe.Pair{Src: longEN, MT: "Kurz."}, func(t *testing.T, ids []int64) {
			if len(ids) != 128 {
				t.Fatalf("len %d, want 128", len(ids))
			}
		}},
		{"long japanese both sides", 0, qe.Pair{Src: longJA, MT: longJA}, func(t *testing.T, ids []int64) {
			if len(ids) != 128 {
				t.Fatalf("len %d, want 128", len(ids))
			}
		}},
		{"max_len 5 leaves the source empty", 5, qe.Pair{Src: "Hello there", MT: "Hallo"}, func(t *testing.T, ids []int64) {
			if len(ids) != 5 || ids[0] != 0 || ids[1] != 2 || ids[2] != 2 || ids[4] != 2 {
				t.Fatalf("ids %v, want [0 2 2 x 2]", ids)
			}
		}},
		{"max_len 4 only specials", 4, qe.Pair{Src: "Hello", MT: "Hallo"}, func(t *testing.T, ids []int64) {
			if !slices.Equal(ids, []int64{0, 2, 2, 2}) {
				t.Fatalf("ids %v", ids)
			}
		}},
		{"emoji and unknown script", 0, qe.Pair{Src: "🌞🌞 ꦲꦏ꧀ꦱꦫ", MT: "ok"}, func(t *testing.T, ids []int64) {
			if len(ids) < 6 {
				t.Fatalf("ids %v", ids)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScorer(t, Config{MaxLen: tc.maxLen, Sessions: 1, IntraOpThreads: 1})
			b, err := s.Encode([]qe.Pair{tc.p})
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, b.TokenIDs(0))
			// An input cut at 64 x max_len bytes must not change natural text.
			cut := newScorer(t, Config{MaxLen: tc.maxLen, Sessions: 1, IntraOpThreads: 1, MaxInputBytes: 64 * 128})
			ub, err := cut.Encode([]qe.Pair{tc.p})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(b.TokenIDs(0), ub.TokenIDs(0)) {
				t.Fatalf("cut input changed ids:\n%v\n%v", ub.TokenIDs(0), b.TokenIDs(0))
			}
			if _, err := s.Score(bg, []qe.Pair{tc.p}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A tokenizer.json that carries its own truncation or padding must not change
// the pair encoding: the contract truncates and pads itself.
func TestTokenizerPaddingTruncationIgnored(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(tinyDir, TokenizerFile))
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	if err := json.Unmarshal(raw, &tok); err != nil {
		t.Fatal(err)
	}
	tok["truncation"] = map[string]any{"direction": "Right", "max_length": 3, "strategy": "LongestFirst", "stride": 0}
	tok["padding"] = map[string]any{"strategy": map[string]any{"Fixed": 200}, "direction": "Right",
		"pad_to_multiple_of": nil, "pad_id": 1, "pad_type_id": 0, "pad_token": "<pad>"}
	dir := t.TempDir()
	for _, f := range []string{ManifestFile, ModelFile} {
		b, err := os.ReadFile(filepath.Join(tinyDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, TokenizerFile), mustJSON(t, tok), 0o644); err != nil {
		t.Fatal(err)
	}
	pairs := tinyPairs(t)[:5]
	want, err := newScorer(t, Config{}).Encode(pairs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := newScorer(t, Config{ModelDir: dir}).Encode(pairs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pairs {
		if !slices.Equal(got.TokenIDs(i), want.TokenIDs(i)) {
			t.Fatalf("pair %d: %v, want %v", i, got.TokenIDs(i), want.TokenIDs(i))
		}
	}
}
