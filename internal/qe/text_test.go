package qe

import (
	"errors"
	"testing"
)

func TestValidatePair(t *testing.T) {
	cases := []struct {
		name  string
		p     Pair
		field string
		want  error
	}{
		{"ok", Pair{Src: "Hello", MT: "Hallo"}, "", nil},
		{"ok non-latin", Pair{Src: "日本語", MT: "ශ්\u200dරී ලංකාව"}, "", nil},
		{"empty src", Pair{Src: "", MT: "Hallo"}, "src", ErrEmptyText},
		{"empty mt", Pair{Src: "Hello", MT: ""}, "mt", ErrEmptyText},
		{"whitespace mt", Pair{Src: "Hello", MT: " \t\n\u3000"}, "mt", ErrEmptyText},
		{"invalid utf8 src", Pair{Src: "a\xff\xfeb", MT: "x"}, "src", ErrInvalidUTF8},
		{"truncated rune mt", Pair{Src: "x", MT: "caf\xc3"}, "mt", ErrInvalidUTF8},
		{"lone continuation", Pair{Src: "\x80abc", MT: "x"}, "src", ErrInvalidUTF8},
		{"nul src", Pair{Src: "a\x00b", MT: "x"}, "src", ErrNULByte},
		{"src checked first", Pair{}, "src", ErrEmptyText},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidatePair(tc.p)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("ValidatePair: %v", err)
				}
				return
			}
			var te *TextError
			if !errors.As(err, &te) || te.Field != tc.field || !errors.Is(err, tc.want) {
				t.Fatalf("ValidatePair = %v, want %s: %v", err, tc.field, tc.want)
			}
		})
	}
}

func TestLangPair(t *testing.T) {
	if got := (Pair{SrcLang: "pt-br", TgtLang: "en"}).LangPair(); got != "pt-br-en" {
		t.Fatalf("LangPair = %q", got)
	}
}
