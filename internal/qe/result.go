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
}
