package pipeline

import (
	"fmt"
	"unicode/utf8"

	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/pipeline/segment"
)

// Values of SegmentConfig.OverMaxSegments.
const (
	OverMaxDeadLetter = "dead_letter"
	OverMaxTruncate   = "truncate"
)

// SegmentConfig bounds how a long input is scored: a pair with more than
// one sentence on both sides is split into aligned sentence pieces
// (pipeline/segment), each scored like a pair of its own, because the
// model reads at most max_len tokens and was trained on single sentences.
// It is part of the input section of the configuration.
type SegmentConfig struct {
	// MaxSegments is the most pieces one message is scored in, so one huge
	// message cannot stall a worker: scoring time and memory grow with the
	// pieces (one model row each). Zero means 64: a long help-center
	// article, while a whole book in one message is refused.
	MaxSegments int `mapstructure:"max_segments"`
	// OverMaxSegments is what happens to a message of more pieces:
	// "dead_letter" (empty means this) sends it to the dead-letter route
	// with the reason; "truncate" scores its first MaxSegments pieces and
	// marks the output "truncated": true.
	OverMaxSegments string `mapstructure:"over_max_segments"`
}

// WithDefaults returns c with every zero value replaced by its default.
func (c SegmentConfig) WithDefaults() SegmentConfig {
	if c.MaxSegments <= 0 {
		c.MaxSegments = 64
	}
	if c.OverMaxSegments == "" {
		c.OverMaxSegments = OverMaxDeadLetter
	}
	return c
}

// Validate checks the values a configuration file can get wrong.
func (c SegmentConfig) Validate() error {
	if c.MaxSegments < 0 {
		return fmt.Errorf("input.max_segments: must be >= 0, got %d", c.MaxSegments)
	}
	switch c.OverMaxSegments {
	case "", OverMaxDeadLetter, OverMaxTruncate:
		return nil
	}
	return fmt.Errorf("input.over_max_segments: want %s or %s, got %q", OverMaxDeadLetter, OverMaxTruncate, c.OverMaxSegments)
}

// pieces are the pairs one item is scored as: the item's own pair when it
// is one sentence (today's path, bit for bit), else its aligned sentence
// pieces.
type pieces struct {
	pairs []qe.Pair
	// whole is true when pairs is the item's pair itself.
	whole bool
	// truncated is true when pieces after MaxSegments were left out.
	truncated bool
}

// split returns the pieces of p, or an *InputError when p has more pieces
// than the configuration allows and it says to dead-letter.
func (c SegmentConfig) split(p qe.Pair) (pieces, error) {
	ps, n := segment.Segment(p.Src, p.MT, p.SrcLang, p.TgtLang, c.MaxSegments)
	if n <= 1 {
		return pieces{pairs: []qe.Pair{p}, whole: true}, nil
	}
	truncated := n > c.MaxSegments
	if truncated && c.OverMaxSegments != OverMaxTruncate {
		return pieces{}, &InputError{fmt.Sprintf("too many sentences: %d pieces, input.max_segments is %d", n, c.MaxSegments)}
	}
	out := pieces{pairs: make([]qe.Pair, len(ps)), truncated: truncated}
	for i, s := range ps {
		// No MT score: the message's score is of the whole translation,
		// not of one of its sentences.
		out.pairs[i] = qe.Pair{Src: s.Src, MT: s.MT, SrcLang: p.SrcLang, TgtLang: p.TgtLang}
	}
	return out, nil
}

// combine makes one result of the pieces' results: acceptable only if
// every piece is; the score, threshold and model of the piece that
// decided (the least margin above its threshold, the first of equals);
// every output the mean of the pieces' weighted by their length, so z is
// the paragraph's; the critical verdict of the most probable critical
// error; truncated if any piece was cut.
func (ps pieces) combine(res []qe.Result) qe.Result {
	if ps.whole {
		return res[0]
	}
	worst := 0
	for k := range res {
		if res[k].Score-res[k].Threshold < res[worst].Score-res[worst].Threshold {
			worst = k
		}
	}
	out := res[worst]
	out.Glassbox = false
	out.Segments, out.WorstSegment = len(res), worst
	out.Truncated = ps.truncated
	var total float64
	mean := make([]float64, len(out.Outputs))
	for k, r := range res {
		w := float64(utf8.RuneCountInString(ps.pairs[k].Src) + utf8.RuneCountInString(ps.pairs[k].MT))
		total += w
		for j := range mean {
			if j < len(r.Outputs) {
				mean[j] += w * float64(r.Outputs[j])
			}
		}
		out.Acceptable = out.Acceptable && r.Acceptable
		out.Truncated = out.Truncated || r.Truncated
		if c := r.Critical; c != nil && (out.Critical == nil || c.Prob > out.Critical.Prob) {
			out.Critical = c
		}
	}
	out.Outputs = make([]float32, len(mean))
	for j, v := range mean {
		out.Outputs[j] = float32(v / total)
	}
	if out.Critical != nil {
		// Flagged whatever piece is: with one threshold per language pair
		// the most probable is flagged when any is, but say it outright.
		c := *out.Critical
		for _, r := range res {
			c.Flagged = c.Flagged || (r.Critical != nil && r.Critical.Flagged)
		}
		out.Critical = &c
	}
	return out
}
