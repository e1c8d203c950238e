package evaluate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Output is one model output as model.json describes it (docs/ARCHITECTURE.md).
type Output struct {
	Name             string             `json:"name"`
	Index            int                `json:"index"`
	Kind             string             `json:"kind"` // "classification" or "regression"
	Transform        string             `json:"transform"`
	Label            string             `json:"label"`
	DAThreshold      *float64           `json:"da_threshold,omitempty"`
	DefaultThreshold float32            `json:"default_threshold"`
	Thresholds       map[string]float32 `json:"thresholds"`
}

// ThresholdFor returns the decision threshold of the output for a language pair:
// thresholds[lp], else default_threshold.
func (o Output) ThresholdFor(lp string) float32 {
	if t, ok := o.Thresholds[lp]; ok {
		return t
	}
	return o.DefaultThreshold
}

// ModelInfo is the part of model.json that evaluation needs. Outputs are in
// manifest order, the order of the scores a Scorer returns.
type ModelInfo struct {
	Dir           string   `json:"-"`
	Name          string   `json:"name"`
	Version       string   `json:"version"`
	Outputs       []Output `json:"outputs"`
	DefaultOutput string   `json:"default_output"`
}

// LoadModelInfo reads dir/model.json.
func LoadModelInfo(dir string) (*ModelInfo, error) {
	b, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		return nil, fmt.Errorf("load model info: %w", err)
	}
	var m ModelInfo
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, "model.json"), err)
	}
	m.Dir = dir
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	return &m, nil
}

func (m *ModelInfo) validate() error {
	if len(m.Outputs) == 0 {
		return fmt.Errorf("model.json lists no outputs")
	}
	if m.DefaultOutput == "" {
		if len(m.Outputs) == 1 {
			m.DefaultOutput = m.Outputs[0].Name
		} else {
			return fmt.Errorf("model.json has several outputs and no default_output")
		}
	}
	if m.OutputIndex(m.DefaultOutput) < 0 {
		return fmt.Errorf("default_output %q is not among the outputs", m.DefaultOutput)
	}
	return nil
}

// OutputIndex returns the manifest position of the named output, or -1.
func (m *ModelInfo) OutputIndex(name string) int {
	for i, o := range m.Outputs {
		if o.Name == name {
			return i
		}
	}
	return -1
}

// DecisionIndex is the manifest position of default_output.
func (m *ModelInfo) DecisionIndex() int {
	if i := m.OutputIndex(m.DefaultOutput); i >= 0 {
		return i
	}
	return 0
}

// ClassifierFor returns the manifest position of the classification output whose
// da_threshold equals da, else the decision output's position.
func (m *ModelInfo) ClassifierFor(da float64) int {
	for i, o := range m.Outputs {
		if o.Kind == "classification" && o.DAThreshold != nil && *o.DAThreshold == da {
			return i
		}
	}
	return m.DecisionIndex()
}

// CorrelationIndex returns the manifest position of the first regression output,
// else the decision output's position.
func (m *ModelInfo) CorrelationIndex() int {
	for i, o := range m.Outputs {
		if o.Kind == "regression" {
			return i
		}
	}
	return m.DecisionIndex()
}

// Scored returns a filter for Group: row i was scored and has every output the
// manifest lists (a short or missing result is left out rather than indexed).
func (m *ModelInfo) Scored(outputs [][]float32) func(i int) bool {
	return func(i int) bool { return i < len(outputs) && len(outputs[i]) >= len(m.Outputs) }
}
