package ruleeval

import (
	"fmt"
	"math"

	"github.com/qegate/qegate/internal/evaluate"
)

// Pair is one labelled translation pair, as the rules see it.
type Pair struct {
	Src, MT          string
	SrcLang, TgtLang string
	// DA is the mean direct-assessment score (0-100); NaN when unknown.
	DA float64
}

// Load reads labelled pairs with evaluate.ReadPath (an MLQE-PE split
// directory such as da/dev, or one TSV or JSONL file). Rows ReadPath
// skips (unscorable text, bad labels) are not pairs; rows without a DA
// label get DA NaN.
func Load(path string) ([]Pair, error) {
	d, err := evaluate.ReadPath(path)
	if err != nil {
		return nil, fmt.Errorf("ruleeval: %w", err)
	}
	out := make([]Pair, 0, len(d.Rows))
	for _, r := range d.Rows {
		da := math.NaN()
		if r.DA != nil {
			da = *r.DA
		}
		out = append(out, Pair{Src: r.Src, MT: r.MT, SrcLang: r.SrcLang, TgtLang: r.TgtLang, DA: da})
	}
	return out, nil
}
