package evaluate

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Metric is a float64 that is written to JSON as null when it is undefined (NaN),
// e.g. Pearson against constant predictions.
type Metric float64

// NaN is the undefined Metric.
var NaN = Metric(math.NaN())

// Defined reports whether the value is a number.
func (m Metric) Defined() bool { return !math.IsNaN(float64(m)) && !math.IsInf(float64(m), 0) }

// MarshalJSON writes null for NaN and infinities, else the shortest float.
func (m Metric) MarshalJSON() ([]byte, error) {
	if !m.Defined() {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(m), 'g', -1, 64), nil
}

// F32 converts a float32 to the Metric with the same shortest decimal, so that a
// threshold of 0.6 in model.json is reported as 0.6, not 0.6000000238418579.
func F32(f float32) Metric {
	v, err := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	if err != nil {
		return NaN
	}
	return Metric(v)
}

// UnmarshalJSON reads a number or null (as NaN).
func (m *Metric) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*m = NaN
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("metric: %w", err)
	}
	*m = Metric(f)
	return nil
}

// Report is the result of `qegate eval`. Its JSON form (`qegate eval --json`) has
// these keys, all always present (undefined numbers are null):
//
//	model                       object: name, version, dir, and which output each metric used:
//	                            correlation_output, at51_output, at70_output
//	pairs.<lp>                  per language pair (e.g. "en-de"), see PairReport
//	avg                         macro average over the pairs, same shape as pairs.<lp>
//	pairs_per_s                 scoring rate of the model over all scored rows
//	skipped_rows                number of rows not evaluated (len(bad_rows))
//	bad_rows                    [{file, line, reason}]
//	notes                       [string]: skipped metrics, undefined values, label sources
//
// PairReport keys:
//
//	n                           rows evaluated for the pair
//	correlation_gold            "z" (z_mean), "da" (mean DA) or "" when neither label is present
//	pearson, spearman           correlation of the correlation output with correlation_gold
//	at51, at70                  BinaryReport for the gold label DA >= 51 and DA >= 70
//
// BinaryReport keys:
//
//	n, positives                rows with this gold label, and how many are acceptable
//	f1                          F1 of the acceptable class
//	macro_f1                    mean F1 of the acceptable and unacceptable classes
//	precision, recall, mcc      of the acceptable class; Matthews correlation
//	threshold                   decision threshold used (per pair; null in avg)
//
// In avg, every metric is the mean over the pairs where it is defined; n and
// positives are sums.
type Report struct {
	Model       ModelReport            `json:"model"`
	Pairs       map[string]*PairReport `json:"pairs"`
	Avg         *PairReport            `json:"avg"`
	PairsPerS   Metric                 `json:"pairs_per_s"`
	SkippedRows int                    `json:"skipped_rows"`
	BadRows     []BadRow               `json:"bad_rows"`
	Notes       []string               `json:"notes"`
	// Rules is the rule prefilters' effect; nil when eval ran without them.
	Rules *RulesReport `json:"rules,omitempty"`
}

// ModelReport names the model and the outputs that the metrics used.
type ModelReport struct {
	Name              string `json:"name"`
	Version           string `json:"version"`
	Dir               string `json:"dir"`
	CorrelationOutput string `json:"correlation_output"`
	At51Output        string `json:"at51_output"`
	At70Output        string `json:"at70_output"`
}

// PairReport holds the metrics of one language pair (or their average).
type PairReport struct {
	N               int           `json:"n"`
	CorrelationGold string        `json:"correlation_gold"`
	Pearson         Metric        `json:"pearson"`
	Spearman        Metric        `json:"spearman"`
	At51            *BinaryReport `json:"at51"`
	At70            *BinaryReport `json:"at70"`
}

// BinaryReport holds the classification metrics at one DA cut.
type BinaryReport struct {
	N         int    `json:"n"`
	Positives int    `json:"positives"`
	F1        Metric `json:"f1"`
	MacroF1   Metric `json:"macro_f1"`
	Precision Metric `json:"precision"`
	Recall    Metric `json:"recall"`
	MCC       Metric `json:"mcc"`
	Threshold Metric `json:"threshold"`
}

func undefinedBinary() *BinaryReport {
	return &BinaryReport{F1: NaN, MacroF1: NaN, Precision: NaN, Recall: NaN, MCC: NaN, Threshold: NaN}
}

// LangPairs returns the report's language pairs in sorted order.
func (r *Report) LangPairs() []string {
	lps := make([]string, 0, len(r.Pairs))
	for lp := range r.Pairs {
		lps = append(lps, lp)
	}
	sort.Strings(lps)
	return lps
}
