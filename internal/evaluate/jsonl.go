package evaluate

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSONL writes recs as JSON Lines, one record per line, with <, > and &
// kept as they are: the texts are translations, and a reader comparing
// them with the input must see the same characters.
func WriteJSONL[T any](w io.Writer, recs []T) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range recs {
		if err := enc.Encode(recs[i]); err != nil {
			return fmt.Errorf("write record %d: %w", i+1, err)
		}
	}
	return nil
}
