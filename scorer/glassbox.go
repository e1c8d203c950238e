package scorer

import (
	"fmt"
	"math"
)

// Glassbox is model.json's optional "glassbox" block: a stacking layer that
// combines the model's raw outputs with the MT system's own score of the
// translation (qe.Pair.MTScore, e.g. its sentence log-probability). It is
// fitted by `qegate-train glassbox` on the training split and selected on
// dev (docs/compression.md). The scorer applies it only to pairs that carry
// an MT score; every other pair is scored exactly as without the block.
type Glassbox struct {
	// Feature names the input field the block expects (informational:
	// "mt_score").
	Feature string `json:"feature"`
	// Inputs names the model outputs whose raw ONNX columns (logits for
	// classification outputs, before any transform) are the first features,
	// in weight order; the standardised MT score is the last feature.
	Inputs []string `json:"inputs"`
	// Pairs holds one fit per language pair ("en-de").
	Pairs map[string]GlassboxFit `json:"pairs"`
	// Default, when present, is the pooled fit used for language pairs
	// absent from Pairs. Nil: such pairs are scored without the MT score.
	Default *GlassboxFit `json:"default,omitempty"`
}

// GlassboxFit is the stacking layer of one language pair.
type GlassboxFit struct {
	// MTMean and MTStd standardise the MT score with training statistics:
	// feature = (mt_score - MTMean) / MTStd.
	MTMean float64 `json:"mt_mean"`
	MTStd  float64 `json:"mt_std"`
	// Outputs maps an output name to its linear layer. Outputs absent here
	// keep the model's own value for pairs with an MT score.
	Outputs map[string]GlassboxLinear `json:"outputs"`
}

// GlassboxLinear is one output's linear layer: value = Bias + sum of
// Weights[i] * x[i], then the output's own transform (sigmoid for a
// classification output, identity for regression).
type GlassboxLinear struct {
	Weights []float64 `json:"weights"`
	Bias    float64   `json:"bias"`
	// Threshold replaces the output's per-pair threshold when the fit was
	// applied: combined scores live on their own scale.
	Threshold float32 `json:"threshold"`
}

// fit returns the block's fit for language pair lp, or nil.
func (g *Glassbox) fit(lp string) *GlassboxFit {
	if g == nil {
		return nil
	}
	if f, ok := g.Pairs[lp]; ok {
		return &f
	}
	return g.Default
}

// problems validates the block against the manifest's outputs.
func (g *Glassbox) problems(m *Manifest) []error {
	if g == nil {
		return nil
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("glassbox: "+format, args...)) }
	if len(g.Inputs) == 0 {
		bad("inputs is empty")
	}
	for _, n := range g.Inputs {
		if m.Output(n) == nil {
			bad("input %q names no output", n)
		}
	}
	check := func(where string, f GlassboxFit) {
		if !(f.MTStd > 0) || math.IsInf(f.MTStd, 0) || math.IsNaN(f.MTMean) || math.IsInf(f.MTMean, 0) {
			bad("%s: mt_std must be positive and finite, mt_mean finite", where)
		}
		for name, l := range f.Outputs {
			if m.Output(name) == nil {
				bad("%s: output %q names no output", where, name)
			}
			if len(l.Weights) != len(g.Inputs)+1 {
				bad("%s: output %q has %d weights, want %d (inputs + mt score)", where, name, len(l.Weights), len(g.Inputs)+1)
			}
			ok := !math.IsNaN(l.Bias) && !math.IsInf(l.Bias, 0) && finite(l.Threshold)
			for _, w := range l.Weights {
				ok = ok && !math.IsNaN(w) && !math.IsInf(w, 0)
			}
			if !ok {
				bad("%s: output %q has a non-finite weight, bias or threshold", where, name)
			}
		}
	}
	for lp, f := range g.Pairs {
		check(fmt.Sprintf("pairs[%q]", lp), f)
	}
	if g.Default != nil {
		check("default", *g.Default)
	}
	return errs
}

// combine overwrites out (transformed outputs in manifest order) with the
// fit's values for the outputs it covers, computed from raw (ONNX columns)
// and the MT score. It reports whether the decision output was among them,
// and its glass-box threshold.
func (f *GlassboxFit) combine(m *Manifest, inputs []string, raw []float32, mt float64, out []float32, decision int) (bool, float32) {
	x := make([]float64, 0, len(inputs)+1)
	for _, n := range inputs {
		x = append(x, float64(raw[m.Output(n).Index]))
	}
	x = append(x, (mt-f.MTMean)/f.MTStd)
	used, th := false, float32(0)
	for j := range m.Outputs {
		o := &m.Outputs[j]
		l, ok := f.Outputs[o.Name]
		if !ok {
			continue
		}
		v := l.Bias
		for i, w := range l.Weights {
			v += w * x[i]
		}
		if o.Transform == TransformSigmoid {
			v = 1 / (1 + math.Exp(-v))
		}
		out[j] = float32(v)
		if j == decision {
			used, th = true, l.Threshold
		}
	}
	return used, th
}
