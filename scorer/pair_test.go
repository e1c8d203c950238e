package scorer

import (
	"errors"
	"testing"
)

func TestLangPair(t *testing.T) {
	for _, tc := range []struct {
		p    Pair
		want string
	}{
		{Pair{SrcLang: "en", TgtLang: "de"}, "en-de"},
		{Pair{SrcLang: "si", TgtLang: "en"}, "si-en"},
		{Pair{}, "-"},
	} {
		if got := tc.p.LangPair(); got != tc.want {
			t.Errorf("%+v.LangPair() = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestValidatePair(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     Pair
		field string
		want  error
	}{
		{"ok", Pair{Src: "Hello", MT: "Hallo"}, "", nil},
		{"ok unicode", Pair{Src: "සුභ උදෑසනක්", MT: "Good morning 🌞"}, "", nil},
		{"empty src", Pair{Src: "", MT: "Hallo"}, "src", ErrEmptyText},
		{"empty mt", Pair{Src: "Hello", MT: ""}, "mt", ErrEmptyText},
		{"whitespace mt", Pair{Src: "Hello", MT: " \t\n\u3000"}, "mt", ErrEmptyText},
		{"invalid utf8 src", Pair{Src: "a\xff\xfeb", MT: "x"}, "src", ErrInvalidUTF8},
		{"truncated rune mt", Pair{Src: "x", MT: "caf\xc3"}, "mt", ErrInvalidUTF8},
		{"nul src", Pair{Src: "a\x00b", MT: "x"}, "src", ErrNULByte},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidatePair(tc.p)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var pe *PairError
			if !errors.As(err, &pe) || !errors.Is(err, tc.want) || pe.Field != tc.field {
				t.Fatalf("err = %v, want PairError{%s, %v}", err, tc.field, tc.want)
			}
		})
	}
}
