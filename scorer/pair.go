package scorer

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Pair is one translation to score: the source text, the machine translation
// and their language codes (e.g. "en" and "de").
type Pair struct {
	Src     string // source text
	MT      string // machine translation of Src
	SrcLang string // source language code, e.g. "en"
	TgtLang string // target language code, e.g. "de"
}

// LangPair returns the language-pair key used for per-pair thresholds:
// SrcLang + "-" + TgtLang, e.g. "en-de". Codes are used as given (no case
// folding), matching the keys of model.json.
func (p Pair) LangPair() string { return p.SrcLang + "-" + p.TgtLang }

// Errors describing an unusable pair; a [*PairError] wraps one of them.
var (
	ErrEmptyText   = errors.New("text is empty or whitespace only")
	ErrInvalidUTF8 = errors.New("text is not valid UTF-8")
	ErrNULByte     = errors.New("text contains a NUL byte")
)

// PairError reports which pair of a call could not be encoded. Callers that
// want to drop bad pairs and score the rest can find it with errors.As.
type PairError struct {
	Index int    // index of the pair in the slice passed to Score or Encode
	Field string // "src" or "mt"
	Err   error  // ErrEmptyText, ErrInvalidUTF8 or ErrNULByte
}

// Error implements error.
func (e *PairError) Error() string {
	return fmt.Sprintf("scorer: pair %d: %s: %v", e.Index, e.Field, e.Err)
}

// Unwrap returns the cause, so errors.Is(err, ErrEmptyText) works.
func (e *PairError) Unwrap() error { return e.Err }

// ValidatePair reports why p cannot be scored, or nil. Score and Encode run
// the same check; a pipeline may call it first to dead-letter bad records.
func ValidatePair(p Pair) error {
	if err := checkText(p.Src); err != nil {
		return &PairError{Field: "src", Err: err}
	}
	if err := checkText(p.MT); err != nil {
		return &PairError{Field: "mt", Err: err}
	}
	return nil
}

func checkText(s string) error {
	switch {
	case !utf8.ValidString(s):
		return ErrInvalidUTF8
	case strings.IndexByte(s, 0) >= 0:
		// C strings stop at NUL: the tokenizer would silently see a prefix.
		return ErrNULByte
	case strings.TrimSpace(s) == "":
		return ErrEmptyText
	}
	return nil
}
