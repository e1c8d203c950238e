package scorer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// File names inside a model directory.
const (
	ManifestFile  = "model.json"
	ModelFile     = "model.onnx"
	TokenizerFile = "tokenizer.json"
)

// Transforms applied to a raw model output column.
const (
	TransformSigmoid  = "sigmoid"  // logit -> probability (acceptable, critical error) or HTER in [0, 1]
	TransformIdentity = "identity" // value used as is (regression)
)

// Output kinds.
const (
	// KindClassification is an acceptability classifier (a logit; the
	// sigmoid is the probability of acceptable).
	KindClassification = "classification"
	// KindRegression is a regression output (z, or hter with a sigmoid).
	KindRegression = "regression"
	// KindCritical is a critical-error detector: a logit whose sigmoid is
	// the probability that the translation has a critical error (WMT21
	// CED). At most one output has it; it never decides acceptability
	// (default_output), and a pair is flagged when the probability is >=
	// its threshold (see Scorer.Score and qe.Critical).
	KindCritical = "critical"
)

// PairFormatXLMR is the only supported pair format: [bos] src [eos eos] mt [eos].
const PairFormatXLMR = "xlmr"

// Required ONNX input names.
const (
	InputIDs      = "input_ids"
	AttentionMask = "attention_mask"
)

// minMaxLen is the smallest usable max_len: the four special tokens.
const minMaxLen = 4

// Manifest mirrors model.json, the model directory contract of
// docs/ARCHITECTURE.md. Its JSON tags round-trip the file, so calibrate can
// marshal an edited Manifest back to model.json (unknown keys are dropped).
type Manifest struct {
	Name    string `json:"name"`    // model name, e.g. "qegate-e5s-L4"
	Version string `json:"version"` // model version, e.g. "1.0.0"
	// Head is the Kind of the DefaultOutput ("classification" or "regression").
	Head string `json:"head"`
	// MaxLen bounds a pair's encoded length, special tokens included.
	MaxLen int `json:"max_len"`
	// PairFormat must be "xlmr".
	PairFormat string `json:"pair_format"`
	// SpecialTokens holds the ids of <s>, <pad>, </s> and <unk>.
	SpecialTokens SpecialTokens `json:"special_tokens"`
	// ONNX names the graph's inputs and output.
	ONNX ONNXSpec `json:"onnx"`
	// Outputs describes the columns of the ONNX output, in manifest order.
	Outputs []OutputSpec `json:"outputs"`
	// DefaultOutput names the output that decides acceptability by default.
	DefaultOutput string `json:"default_output"`
	// Metrics holds evaluation results written by the recipe (free form).
	Metrics map[string]any `json:"metrics"`
	// Provenance records how the model was produced (free form).
	Provenance map[string]any `json:"provenance"`
	// SizeBytes is the size of model.onnx as recorded by the recipe.
	SizeBytes int64 `json:"size_bytes"`
	// SHA256 is the hex SHA-256 of model.onnx, written by the recipe's
	// ship step (or `sha256sum model.onnx`). Loading refuses a model whose
	// file does not match it: a corrupted model.onnx (a flipped bit in its
	// weights) still parses as a graph and scores without an error.
	SHA256 string `json:"sha256"`
	// BatchInvariant says a pair's outputs do not depend on the rows run
	// with it (up to float rounding): the recipe froze the int8 activation
	// scales (`qegate-train static-int8`), so Config.MaxBatch above 1
	// changes no score (TestBatchInvariance).
	BatchInvariant bool `json:"batch_invariant"`
	// LatencyMsBatch1 is the recipe's measured batch-1 latency.
	LatencyMsBatch1 float64 `json:"latency_ms_batch1"`
	// Glassbox, when present, combines the outputs with a pair's MT score
	// (qe.Pair.MTScore). Nil: MT scores are ignored.
	Glassbox *Glassbox `json:"glassbox,omitempty"`

	// Dir is the model directory the manifest was loaded from ("" when the
	// manifest was parsed from bytes). It is not part of model.json.
	Dir string `json:"-"`
}

// SpecialTokens are the vocabulary ids of the XLM-R special tokens.
type SpecialTokens struct {
	BOS int64 `json:"bos"` // <s>, starts a pair
	PAD int64 `json:"pad"` // <pad>, fills rows up to the batch's longest
	EOS int64 `json:"eos"` // </s>, ends and separates the sides
	UNK int64 `json:"unk"` // <unk>; informational, optional in model.json
}

// ONNXSpec names the graph's inputs and its single output.
type ONNXSpec struct {
	// Inputs lists the graph inputs in the order they are fed:
	// "input_ids" and "attention_mask" (int64, [batch, seq]).
	Inputs []string `json:"inputs"`
	// Output is the float32 [batch, K] output, K = len(Manifest.Outputs).
	Output string `json:"output"`
}

// OutputSpec describes one column of the ONNX output.
type OutputSpec struct {
	Name  string `json:"name"`  // unique name, e.g. "da51"
	Index int    `json:"index"` // column in the ONNX output, 0 <= Index < K
	// Kind is "classification", "regression" or "critical".
	Kind string `json:"kind"`
	// Transform is "sigmoid" or "identity".
	Transform string `json:"transform"`
	Label     string `json:"label"` // human description
	// DAThreshold is the DA cut-off a classification output was trained on.
	DAThreshold *float64 `json:"da_threshold,omitempty"`
	// DefaultThreshold applies to language pairs absent from Thresholds.
	DefaultThreshold float32 `json:"default_threshold"`
	// Thresholds maps a language pair ("en-de") to its threshold. A pair is
	// acceptable when the transformed score >= its threshold; for the
	// critical output, a pair is flagged as a critical error when its
	// probability >= its threshold.
	Thresholds map[string]float32 `json:"thresholds"`
}

// Threshold returns the threshold for language pair lp, falling back to
// DefaultThreshold.
func (o *OutputSpec) Threshold(lp string) float32 {
	if t, ok := o.Thresholds[lp]; ok {
		return t
	}
	return o.DefaultThreshold
}

// LoadManifest reads dir/model.json, checks that model.onnx and
// tokenizer.json exist, and validates the manifest.
func LoadManifest(dir string) (*Manifest, error) {
	if dir == "" {
		return nil, errors.New("scorer: load manifest: model directory is empty (set Config.ModelDir or QEGATE_MODEL_DIR)")
	}
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("scorer: load manifest: %w", err)
	}
	m, err := parseManifest(b, filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	m.Dir = dir
	for _, f := range []string{ModelFile, TokenizerFile} {
		p := filepath.Join(dir, f)
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("scorer: load manifest: model directory %s: %w", dir, err)
		}
		if st.IsDir() {
			return nil, fmt.Errorf("scorer: load manifest: %s is a directory", p)
		}
	}
	return m, nil
}

// ParseManifest decodes and validates model.json contents.
func ParseManifest(b []byte) (*Manifest, error) { return parseManifest(b, ManifestFile) }

// parseManifest is ParseManifest naming the file as name in errors.
func parseManifest(b []byte, name string) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("scorer: parse %s: %w", name, err)
	}
	// Ids and thresholds may legitimately be 0, so presence is checked on a
	// second decode with pointers.
	var present struct {
		SpecialTokens *struct{ BOS, PAD, EOS *int64 } `json:"special_tokens"`
		Outputs       []struct {
			DefaultThreshold *float32 `json:"default_threshold"`
		} `json:"outputs"`
	}
	_ = json.Unmarshal(b, &present) // same bytes decoded above
	var missing []error
	if st := present.SpecialTokens; st == nil {
		missing = append(missing, errors.New("special_tokens is missing"))
	} else {
		for _, f := range []struct {
			name string
			v    *int64
		}{{"bos", st.BOS}, {"pad", st.PAD}, {"eos", st.EOS}} {
			if f.v == nil {
				missing = append(missing, fmt.Errorf("special_tokens.%s is missing", f.name))
			}
		}
	}
	for i, o := range present.Outputs {
		if o.DefaultThreshold == nil {
			missing = append(missing, fmt.Errorf("outputs[%d] (%q): default_threshold is missing", i, m.Outputs[i].Name))
		}
	}
	if errs := append(missing, m.problems()...); len(errs) > 0 {
		return nil, fmt.Errorf("scorer: invalid %s: %w", name, errors.Join(errs...))
	}
	return &m, nil
}

// Validate checks the manifest against the contract and reports every
// problem found, joined into one error.
func (m *Manifest) Validate() error {
	if errs := m.problems(); len(errs) > 0 {
		return fmt.Errorf("scorer: invalid %s: %w", ManifestFile, errors.Join(errs...))
	}
	return nil
}

func (m *Manifest) problems() []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if m.MaxLen < minMaxLen {
		bad("max_len is %d, must be >= %d", m.MaxLen, minMaxLen)
	}
	if m.PairFormat != PairFormatXLMR {
		bad("pair_format %q is not supported (want %q)", m.PairFormat, PairFormatXLMR)
	}
	for k, v := range map[string]int64{"bos": m.SpecialTokens.BOS, "pad": m.SpecialTokens.PAD, "eos": m.SpecialTokens.EOS} {
		if v < 0 {
			bad("special_tokens.%s is negative (%d)", k, v)
		}
	}
	if len(m.ONNX.Inputs) != 2 || !((m.ONNX.Inputs[0] == InputIDs && m.ONNX.Inputs[1] == AttentionMask) ||
		(m.ONNX.Inputs[0] == AttentionMask && m.ONNX.Inputs[1] == InputIDs)) {
		bad("onnx.inputs is %q, want [%q %q]", m.ONNX.Inputs, InputIDs, AttentionMask)
	}
	if m.ONNX.Output == "" {
		bad("onnx.output is empty")
	}
	if _, err := hex.DecodeString(m.SHA256); m.SHA256 != "" && (err != nil || len(m.SHA256) != 64) {
		bad("sha256 %q is not 64 hex digits", m.SHA256)
	}
	if len(m.Outputs) == 0 {
		bad("outputs is empty")
	}
	names := map[string]int{}
	indexes := map[int]string{}
	critical := -1
	for i := range m.Outputs {
		o := &m.Outputs[i]
		where := fmt.Sprintf("outputs[%d] (%q)", i, o.Name)
		if o.Name == "" {
			bad("outputs[%d]: name is empty", i)
		} else if j, dup := names[o.Name]; dup {
			bad("%s: name repeats outputs[%d]", where, j)
		} else {
			names[o.Name] = i
		}
		if o.Index < 0 || o.Index >= len(m.Outputs) {
			bad("%s: index %d out of range [0, %d)", where, o.Index, len(m.Outputs))
		} else if other, dup := indexes[o.Index]; dup {
			bad("%s: index %d already used by %q", where, o.Index, other)
		} else {
			indexes[o.Index] = o.Name
		}
		switch o.Kind {
		case KindClassification, KindRegression:
		case KindCritical:
			if critical >= 0 {
				bad("%s: a second output of kind %q (outputs[%d] is one)", where, KindCritical, critical)
			}
			critical = i
			if o.Transform != TransformSigmoid {
				bad("%s: kind %q needs transform %q (a probability), not %q", where, KindCritical, TransformSigmoid, o.Transform)
			}
		default:
			bad("%s: unknown kind %q (want %q, %q or %q)", where, o.Kind, KindClassification, KindRegression, KindCritical)
		}
		if o.Transform != TransformSigmoid && o.Transform != TransformIdentity {
			bad("%s: unknown transform %q (want %q or %q)", where, o.Transform, TransformSigmoid, TransformIdentity)
		}
		if !finite(o.DefaultThreshold) {
			bad("%s: default_threshold is not finite", where)
		}
		for lp, t := range o.Thresholds {
			if !finite(t) {
				bad("%s: thresholds[%q] is not finite", where, lp)
			}
		}
	}
	errs = append(errs, m.Glassbox.problems(m)...)
	if j, ok := names[m.DefaultOutput]; !ok {
		bad("default_output %q names no output", m.DefaultOutput)
	} else if m.Outputs[j].Kind == KindCritical {
		bad("default_output %q is the critical-error output: it cannot decide acceptability", m.DefaultOutput)
	} else if m.Head != "" && m.Head != m.Outputs[j].Kind {
		bad("head %q differs from the kind %q of default_output %q", m.Head, m.Outputs[j].Kind, m.DefaultOutput)
	}
	return errs
}

// VerifyModel checks model.onnx's bytes against the manifest's sha256.
func (m *Manifest) VerifyModel(onnx []byte) error {
	if m.SHA256 == "" {
		return fmt.Errorf("scorer: %s has no sha256 of %s: add it (sha256sum %s) so a corrupted model cannot load", ManifestFile, ModelFile, ModelFile)
	}
	sum := sha256.Sum256(onnx)
	if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, m.SHA256) {
		return fmt.Errorf("scorer: %s is corrupted or was replaced: sha256 %s, %s says %s", ModelFile, got, ManifestFile, m.SHA256)
	}
	return nil
}

// FileSHA256 returns the hex SHA-256 of a file, as model.json records it.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("scorer: sha256: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("scorer: sha256: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Output returns the output named name, or nil.
func (m *Manifest) Output(name string) *OutputSpec {
	for i := range m.Outputs {
		if m.Outputs[i].Name == name {
			return &m.Outputs[i]
		}
	}
	return nil
}

// Critical returns the critical-error output (kind "critical"), or nil when
// the model has none (models before 2.0.0).
func (m *Manifest) Critical() *OutputSpec {
	for i := range m.Outputs {
		if m.Outputs[i].Kind == KindCritical {
			return &m.Outputs[i]
		}
	}
	return nil
}

func finite(f float32) bool {
	return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0)
}
