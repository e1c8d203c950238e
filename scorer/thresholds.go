package scorer

import "maps"

// Thresholds decide acceptability for the decision output: a pair is
// acceptable when its score >= ByLangPair[lp], else >= Default.
type Thresholds struct {
	Default    float32            // threshold of language pairs not in ByLangPair
	ByLangPair map[string]float32 // language pair ("en-de") -> threshold
}

// For returns the threshold for language pair lp ("en-de").
func (t *Thresholds) For(lp string) float32 {
	if v, ok := t.ByLangPair[lp]; ok {
		return v
	}
	return t.Default
}

func (t Thresholds) clone() *Thresholds {
	t.ByLangPair = maps.Clone(t.ByLangPair)
	if t.ByLangPair == nil {
		t.ByLangPair = map[string]float32{}
	}
	return &t
}

// Threshold returns the threshold applied to language pair lp.
func (s *Scorer) Threshold(lp string) float32 { return s.thresholds.Load().For(lp) }

// Thresholds returns a copy of the thresholds in use.
func (s *Scorer) Thresholds() Thresholds { return *s.thresholds.Load().clone() }

// SetThresholds replaces the thresholds of the decision output (the
// manifest's, or Config.Thresholds) for later Score calls; calibrate uses it
// to try candidate thresholds. The map is copied. Safe to call concurrently
// with Score.
func (s *Scorer) SetThresholds(t Thresholds) { s.thresholds.Store(t.clone()) }
