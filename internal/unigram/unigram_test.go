package unigram

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// testJSON is a small tokenizer.json of the recipe's kind: the XLM-R
// normalizer and pre-tokenizer, four specials, a handful of pieces.
const testJSON = `{
  "added_tokens": [
    {"id": 0, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 2, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 3, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
  ],
  "normalizer": {"type": "Sequence", "normalizers": [
    {"type": "Replace", "pattern": {"Regex": "[\\x{1}\\x{7F}]"}, "content": ""},
    {"type": "Replace", "pattern": {"Regex": "[\\x{9}\\x{A}\\x{FFFD}]"}, "content": " "},
    {"type": "NFKC"},
    {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
  "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": false},
  "model": {"type": "Unigram", "unk_id": 3, "byte_fallback": false, "vocab": [
    ["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0],
    ["\u2581", -2.0], ["\u2581a", -1.0], ["b", -1.5], ["\u2581ab", -4.0], ["c", -3.0], ["fi", -2.5],
    ["\u2581x", -1.0], ["x", -6.0], ["xy", -1.0], ["\u2581c", -5.0], ["c", -0.5]]}
}`

func TestEncode(t *testing.T) {
	tk, err := Parse([]byte(testJSON))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, text string
		want       []uint32
	}{
		{"empty", "", nil},
		{"only spaces normalize away to one meta piece", "   ", []uint32{4}},
		{"best path beats the longest piece", "ab", []uint32{5, 6}},    // -2.5 > -4
		{"a repeated piece maps to its last id", "c", []uint32{4, 14}}, // "▁"+"c"(-0.5) > "▁c"(-5)
		{"unknown characters fuse into one unk", "qqq", []uint32{4, 3}},
		{"unknown between pieces", "aqqb", []uint32{5, 3, 6}},
		{"a fused run that is a piece is that piece", "axy", []uint32{5, 12}},
		{"added tokens split the raw text", "a<s>b</s>", []uint32{5, 0, 4, 6, 2}},
		{"leftmost added token first", "</s><s>", []uint32{2, 0}},
		{"no added token without its end", "<s", []uint32{4, 3}},
		{"NFKC: the fi ligature", "ﬁ", []uint32{4, 9}},
		{"NFKC can make a special's text; it is then a piece", "＜s＞", []uint32{4, 0}},
		{"control characters dropped, tabs are spaces", "a\x01\tb", []uint32{5, 4, 6}},
		{"the text ends at NUL", "a\x00b", []uint32{5}},
		{"invalid UTF-8 reads as U+FFFD, a space", "a\xff\xfeb", []uint32{5, 4, 6}},
		{"newer NFKC decompositions are left alone", "\ua7f2", []uint32{4, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tk.Encode(tc.text); !slices.Equal(got, tc.want) {
				t.Errorf("Encode(%q) = %v, want %v", tc.text, got, tc.want)
			}
		})
	}
}

func TestParseUnsupported(t *testing.T) {
	for _, tc := range []struct{ name, old, new string }{
		{"BPE model", `"type": "Unigram"`, `"type": "BPE"`},
		{"byte fallback", `"byte_fallback": false`, `"byte_fallback": true`},
		{"split pre-tokenizer", `"split": false`, `"split": true`},
		{"prepend first", `"prepend_scheme": "always"`, `"prepend_scheme": "first"`},
		{"normalized added token", `"normalized": false, "special": true},
    {"id": 2`, `"normalized": true, "special": true},
    {"id": 2`},
		{"other normalizer", `{"type": "NFKC"}`, `{"type": "Lowercase"}`},
		{"no unk", `"unk_id": 3`, `"unk_id": null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(testJSON, tc.old) {
				t.Fatalf("test JSON lacks %q", tc.old)
			}
			_, err := Parse([]byte(strings.Replace(testJSON, tc.old, tc.new, 1)))
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("Parse = %v, want ErrUnsupported", err)
			}
		})
	}
	if _, err := Parse([]byte("{")); err == nil || errors.Is(err, ErrUnsupported) {
		t.Errorf("Parse(bad JSON) = %v, want a parse error", err)
	}
}

func TestTrie(t *testing.T) {
	pieces := []string{"abc", "ab", "b", "", "abd", "ab"}
	tr := newTrie(pieces)
	for _, tc := range []struct {
		s    string
		want int32
	}{{"abc", 0}, {"ab", 5}, {"b", 2}, {"abd", 4}, {"a", -1}, {"abcd", -1}, {"x", -1}, {"", 3}} {
		if got := tr.lookup(tc.s); got != tc.want {
			t.Errorf("lookup(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
}
