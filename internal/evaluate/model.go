package evaluate

import "github.com/qegate/qegate/scorer"

// ManifestView is the part of a model's manifest that evaluation needs (built
// by FromManifest). Outputs are in manifest order, the order of the scores a
// Scorer returns.
type ManifestView struct {
	Dir           string              `json:"-"`
	Name          string              `json:"name"`
	Version       string              `json:"version"`
	Outputs       []scorer.OutputSpec `json:"outputs"`
	DefaultOutput string              `json:"default_output"`
}

// FromManifest is the evaluation view of a model's manifest: model.json is
// parsed and validated once, by scorer.LoadManifest.
func FromManifest(m *scorer.Manifest) *ManifestView {
	return &ManifestView{Dir: m.Dir, Name: m.Name, Version: m.Version, DefaultOutput: m.DefaultOutput,
		Outputs: append([]scorer.OutputSpec(nil), m.Outputs...)}
}

// OutputIndex returns the manifest position of the named output, or -1.
func (m *ManifestView) OutputIndex(name string) int {
	for i, o := range m.Outputs {
		if o.Name == name {
			return i
		}
	}
	return -1
}

// DecisionIndex is the manifest position of default_output.
func (m *ManifestView) DecisionIndex() int {
	if i := m.OutputIndex(m.DefaultOutput); i >= 0 {
		return i
	}
	return 0
}

// ClassifierFor returns the manifest position of the classification output whose
// da_threshold equals da, else the decision output's position.
func (m *ManifestView) ClassifierFor(da float64) int {
	for i, o := range m.Outputs {
		if o.Kind == "classification" && o.DAThreshold != nil && *o.DAThreshold == da {
			return i
		}
	}
	return m.DecisionIndex()
}

// CorrelationIndex returns the manifest position of the first regression output
// other than hter (predicted edit rate: lower is better, so it correlates
// negatively with DA), else the decision output's position.
func (m *ManifestView) CorrelationIndex() int {
	for i, o := range m.Outputs {
		if o.Kind == "regression" && o.Name != "hter" {
			return i
		}
	}
	return m.DecisionIndex()
}

// Scored returns a filter for Group: row i was scored and has every output the
// manifest lists (a short or missing result is left out rather than indexed).
func (m *ManifestView) Scored(outputs [][]float32) func(i int) bool {
	return func(i int) bool { return i < len(outputs) && len(outputs[i]) >= len(m.Outputs) }
}
