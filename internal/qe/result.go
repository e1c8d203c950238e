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
