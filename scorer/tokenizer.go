package scorer

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/daulet/tokenizers"
)

// loadTokenizer reads tokenizer.json and returns a HuggingFace tokenizer with
// its own padding and truncation disabled: the pair encoding truncates and
// pads itself (docs/ARCHITECTURE.md), exactly as the Python recipe does.
func loadTokenizer(path string) (*tokenizers.Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
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
	return tk, nil
}
