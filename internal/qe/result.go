package qe

// Result is the model's verdict on one pair.
type Result struct {
	// Score is the decision output after its transform.
	Score float32
	// Acceptable is Score >= Threshold.
	Acceptable bool
	// Threshold is the threshold applied (per language pair, else default).
	Threshold float32
	// Outputs holds every model output after its transform, in the model
	// manifest's order.
	Outputs []float32
	// Glassbox is true when the decision output was combined with the
	// pair's MTScore (the model's glass-box block; Score and Threshold are
	// then the block's); false when the pair had no finite MT score or the
	// model has no block for its language pair.
	Glassbox bool
	// Model is the model that produced the result; zero when the scorer
	// does not say (the router then names its configured model).
	Model ModelID
	// Critical is the model's critical-error verdict; nil when the model
	// has no critical output. It is independent of Acceptable: a pair can
	// be acceptable by the decision output and still be flagged, and the
	// router then never publishes it.
	Critical *Critical
	// Truncated is true when the model did not see all of the pair's text:
	// a single sentence (piece) longer than the model's max_len tokens, cut
	// before scoring, or a long input of more pieces than
	// input.max_segments scored on its first ones only.
	Truncated bool
	// Segments is how many sentence pieces a long pair was scored in (the
	// pipeline's segment step); 0 when it was scored whole. WorstSegment
	// is then the index of the piece that decided: the one whose score is
	// furthest below (or least above) its threshold.
	Segments     int
	WorstSegment int
}

// Critical is a critical-error verdict: the model's probability that the
// translation conveys a dangerously different meaning (WMT21 critical
// error detection: toxicity, negation, named entities, numbers...).
type Critical struct {
	// Prob is the probability of a critical error, in [0, 1].
	Prob float32
	// Threshold is the per-language-pair threshold from model.json.
	Threshold float32
	// Flagged is Prob >= Threshold.
	Flagged bool
}

// ModelID identifies the model, and its decision output, that scored a
// pair: with hot reload, consecutive outputs can come from different
// models.
type ModelID struct {
	Name    string
	Version string
	// Output is the name of the decision output (e.g. da51).
	Output string
}

// Tag is the model as the qe-model header names it: name@version.
func (m ModelID) Tag() string { return m.Name + "@" + m.Version }
