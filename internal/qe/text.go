package qe

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Reasons a text cannot be scored; a [*TextError] wraps one of them.
var (
	ErrEmptyText   = errors.New("text is empty or whitespace only")
	ErrInvalidUTF8 = errors.New("text is not valid UTF-8")
	ErrNULByte     = errors.New("text contains a NUL byte")
)

// CheckText reports why s cannot be scored, or nil. Every entry point runs
// this one check, so a text the decoder accepts is one the scorer and the
// evaluation readers accept too.
func CheckText(s string) error {
	switch {
	case !utf8.ValidString(s):
		return ErrInvalidUTF8
	case strings.IndexByte(s, 0) >= 0:
		// The tokenizer takes C strings: it would silently see a prefix.
		return ErrNULByte
	case strings.TrimSpace(s) == "":
		return ErrEmptyText
	}
	return nil
}

// TextError says which text of which pair failed [CheckText].
type TextError struct {
	// Index is the pair's position in the slice of a batch call (0 for a
	// single pair).
	Index int
	// Field names the text: "src" or "mt", or the caller's field name.
	Field string
	// Err is ErrEmptyText, ErrInvalidUTF8 or ErrNULByte.
	Err error
}

// Error implements error.
func (e *TextError) Error() string {
	return fmt.Sprintf("pair %d: %s: %v", e.Index, e.Field, e.Err)
}

// Unwrap returns the cause, so errors.Is(err, ErrEmptyText) works.
func (e *TextError) Unwrap() error { return e.Err }

// ValidatePair runs CheckText on both texts of p; the error is a *TextError
// naming the field.
func ValidatePair(p Pair) error {
	if err := CheckText(p.Src); err != nil {
		return &TextError{Field: "src", Err: err}
	}
	if err := CheckText(p.MT); err != nil {
		return &TextError{Field: "mt", Err: err}
	}
	return nil
}
