package scorer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/daulet/tokenizers"

	"github.com/qegate/qegate/internal/unigram"
)

// tokenizer is a loaded tokenizer.json: the tokenize function of the
// encoder and what frees it.
type tokenizer struct {
	tokenize tokenizeFunc
	close    func() error
	pureGo   bool // the internal/unigram implementation, not the Rust library
}

// loadTokenizer reads tokenizer.json. A Unigram tokenizer of the kind the
// recipe ships is encoded in Go (internal/unigram: the same ids as the Rust
// library, in ~20 MB instead of ~270 MB for the full 250k-piece vocabulary);
// any other goes to the HuggingFace Rust library, with its own padding and
// truncation disabled: the pair encoding truncates and pads itself
// (docs/ARCHITECTURE.md), exactly as the Python recipe does.
func loadTokenizer(path string) (*tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ut, err := unigram.Parse(b)
	switch {
	case err == nil:
		return &tokenizer{tokenize: ut.Encode, close: func() error { return nil }, pureGo: true}, nil
	case !errors.Is(err, unigram.ErrUnsupported):
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	changed := false
	for _, k := range []string{"padding", "truncation"} {
		if v, ok := top[k]; ok && string(v) != "null" {
			top[k] = json.RawMessage("null")
			changed = true
		}
	}
	if changed {
		if b, err = json.Marshal(top); err != nil {
			return nil, err
		}
	}
	tk, err := tokenizers.FromBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &tokenizer{
		tokenize: func(text string) []uint32 { return tk.EncodeWithOptions(text, false).IDs },
		close:    tk.Close,
	}, nil
}
