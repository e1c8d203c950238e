package evaluate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Goal is a calibration goal: maximise the F1 of the acceptable class, or reach a
// precision target with as much recall as possible.
type Goal struct {
	// MaxF1 selects the threshold of highest F1 (ties: the higher threshold).
	MaxF1 bool
	// Precision, when MaxF1 is false, is the target in (0, 1]: the lowest threshold
	// whose precision is at least this is chosen (the highest recall).
	Precision float64
}

// String formats the goal as ParseGoal reads it.
func (g Goal) String() string {
	if g.MaxF1 {
		return "max-f1"
	}
	return "precision=" + strconv.FormatFloat(g.Precision, 'g', -1, 64)
}

// ParseGoal reads "max-f1" or "precision=P" with 0 < P <= 1.
func ParseGoal(s string) (Goal, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "max-f1" {
		return Goal{MaxF1: true}, nil
	}
	if v, ok := strings.CutPrefix(s, "precision="); ok {
		p, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(p) || p <= 0 || p > 1 {
			return Goal{}, fmt.Errorf("parse goal %q: precision must be a number in (0, 1]", s)
		}
		return Goal{Precision: p}, nil
	}
	return Goal{}, fmt.Errorf("parse goal %q: want max-f1 or precision=P", s)
}

// Point is one operating point of a threshold: the pairs with score >= Threshold
// are predicted acceptable.
type Point struct {
	Threshold float32
	Confusion
	Precision, Recall, F1 float64
}

// Curve returns the operating points at every distinct score, from the highest
// threshold (fewest acceptable) to the lowest (all acceptable). Each threshold is
// a short decimal between the distinct score and the next lower one, so the
// decisions it makes on this data equal those at the score itself.
func Curve(scores []float32, gold []bool) []Point {
	type sg struct {
		s float32
		g bool
	}
	v := make([]sg, 0, len(scores))
	pos := 0
	for i := 0; i < len(scores) && i < len(gold); i++ {
		if math.IsNaN(float64(scores[i])) {
			continue
		}
		v = append(v, sg{scores[i], gold[i]})
		if gold[i] {
			pos++
		}
	}
	sort.Slice(v, func(a, b int) bool { return v[a].s > v[b].s })
	var pts []Point
	tp, fp := 0, 0
	for i := 0; i < len(v); {
		j := i
		for j < len(v) && v[j].s == v[i].s {
			if v[j].g {
				tp++
			} else {
				fp++
			}
			j++
		}
		th := v[i].s
		if j < len(v) {
			th = between(v[j].s, v[i].s)
		}
		c := Confusion{TP: tp, FP: fp, FN: pos - tp, TN: len(v) - j - (pos - tp)}
		pts = append(pts, Point{Threshold: th, Confusion: c, Precision: c.Precision(), Recall: c.Recall(), F1: c.F1()})
		i = j
	}
	return pts
}

// between returns a short decimal t with lo < t <= hi (in float32), falling back to hi.
func between(lo, hi float32) float32 {
	mid := (float64(lo) + float64(hi)) / 2
	for d := 1; d <= 8; d++ {
		p := math.Pow(10, float64(d))
		for _, c := range []float64{math.Round(mid*p) / p, math.Ceil(mid*p) / p} {
			if t := float32(c); t > lo && t <= hi {
				return t
			}
		}
	}
	return hi
}

// Choice is the threshold chosen for one language pair.
type Choice struct {
	Point
	// OK is false when no threshold meets the goal (Reason says why).
	OK     bool
	Reason string
}

// Choose picks the threshold that meets the goal on a curve from Curve.
func Choose(g Goal, curve []Point) Choice {
	if len(curve) == 0 {
		return Choice{Reason: "no scored rows"}
	}
	last := curve[len(curve)-1]
	if last.TP+last.FN == 0 {
		return Choice{Reason: "no gold-acceptable rows"}
	}
	if g.MaxF1 {
		best := 0
		for i, p := range curve {
			if p.F1 > curve[best].F1 {
				best = i
			}
		}
		return Choice{Point: curve[best], OK: true}
	}
	best := -1
	for i, p := range curve {
		if p.TP+p.FP > 0 && p.Precision >= g.Precision {
			best = i // later points have lower thresholds, higher recall
		}
	}
	if best < 0 {
		maxP := 0.0
		for _, p := range curve {
			maxP = math.Max(maxP, p.Precision)
		}
		return Choice{Reason: fmt.Sprintf("precision %.3f is not reached (best %.3f)", g.Precision, maxP)}
	}
	return Choice{Point: curve[best], OK: true}
}

// Tradeoff picks about n points of a curve, evenly spread over recall, plus the
// chosen one, from the highest threshold to the lowest, for a printed table.
func Tradeoff(curve []Point, chosen Choice, n int) []Point {
	if len(curve) == 0 || n <= 0 {
		return nil
	}
	seen := map[int]bool{}
	var idx []int
	add := func(i int) {
		if !seen[i] {
			seen[i] = true
			idx = append(idx, i)
		}
	}
	for k := 1; k <= n; k++ {
		target := float64(k) / float64(n)
		for i, p := range curve {
			if p.Recall >= target-1e-12 {
				add(i)
				break
			}
		}
	}
	if chosen.OK {
		for i, p := range curve {
			if p.Threshold == chosen.Threshold {
				add(i)
			}
		}
	}
	sort.Ints(idx)
	out := make([]Point, len(idx))
	for k, i := range idx {
		out[k] = curve[i]
	}
	return out
}

// WriteThresholds stores per-pair thresholds for one output into dir/model.json:
// the output's "thresholds" gets these entries (entries for other pairs are kept)
// and everything else in the file keeps its value and key order. The old file is
// kept as model.json.bak; the new one is written to a temporary file and renamed
// over model.json.
func WriteThresholds(dir, output string, th map[string]float32) error {
	path := filepath.Join(dir, "model.json")
	orig, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("write thresholds: %w", err)
	}
	out, err := setThresholds(orig, output, th)
	if err != nil {
		return fmt.Errorf("write thresholds to %s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("write thresholds: %w", err)
	}
	if err := writeAtomic(path+".bak", orig, st.Mode().Perm()); err != nil {
		return fmt.Errorf("write thresholds backup: %w", err)
	}
	if err := writeAtomic(path, out, st.Mode().Perm()); err != nil {
		return fmt.Errorf("write thresholds: %w", err)
	}
	return nil
}

func writeAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	return nil
}

// setThresholds rewrites the named output's thresholds in model.json bytes,
// preserving key order and all other values.
func setThresholds(orig []byte, output string, th map[string]float32) ([]byte, error) {
	var top orderedObject
	if err := json.Unmarshal(orig, &top); err != nil {
		return nil, fmt.Errorf("parse model.json: %w", err)
	}
	rawOutputs, ok := top.get("outputs")
	if !ok {
		return nil, errors.New("model.json has no outputs")
	}
	var outputs []orderedObject
	if err := json.Unmarshal(rawOutputs, &outputs); err != nil {
		return nil, fmt.Errorf("parse outputs: %w", err)
	}
	found := false
	for i := range outputs {
		rawName, _ := outputs[i].get("name")
		var name string
		if json.Unmarshal(rawName, &name) != nil || name != output {
			continue
		}
		found = true
		merged := map[string]float32{}
		if old, ok := outputs[i].get("thresholds"); ok && string(old) != "null" {
			if err := json.Unmarshal(old, &merged); err != nil {
				return nil, fmt.Errorf("parse thresholds of %q: %w", output, err)
			}
		}
		for lp, t := range th {
			merged[lp] = t
		}
		b, err := json.Marshal(merged) // map keys are sorted
		if err != nil {
			return nil, fmt.Errorf("encode thresholds: %w", err)
		}
		outputs[i].set("thresholds", b)
	}
	if !found {
		return nil, fmt.Errorf("no output named %q", output)
	}
	// Assembled by hand, not with json.Marshal, which would HTML-escape strings.
	var arr bytes.Buffer
	arr.WriteByte('[')
	for i := range outputs {
		if i > 0 {
			arr.WriteByte(',')
		}
		b, err := outputs[i].MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("encode outputs: %w", err)
		}
		arr.Write(b)
	}
	arr.WriteByte(']')
	top.set("outputs", arr.Bytes())
	flat, err := top.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode model.json: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, flat, "", "  "); err != nil {
		return nil, fmt.Errorf("indent model.json: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// orderedObject is a JSON object that keeps its keys in file order.
type orderedObject struct {
	keys    []string
	rawKeys map[string][]byte // keys as written in the input, escapes kept
	vals    map[string]json.RawMessage
}

func (o *orderedObject) get(k string) (json.RawMessage, bool) {
	v, ok := o.vals[k]
	return v, ok
}

func (o *orderedObject) set(k string, v json.RawMessage) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
		if _, ok := o.rawKeys[k]; !ok {
			kb, _ := json.Marshal(k) // a string always encodes
			o.rawKeys[k] = kb
		}
	}
	o.vals[k] = v
}

// UnmarshalJSON reads an object, remembering key order.
func (o *orderedObject) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	t, err := dec.Token()
	if err != nil {
		return fmt.Errorf("read object: %w", err)
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return errors.New("not a JSON object")
	}
	o.keys, o.rawKeys, o.vals = nil, map[string][]byte{}, map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("read key: %w", err)
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("read value of %q: %w", k, err)
		}
		o.set(k, v)
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("read object end: %w", err)
	}
	return nil
}

// MarshalJSON writes the object with its keys in the remembered order.
func (o *orderedObject) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(o.rawKeys[k])
		buf.WriteByte(':')
		buf.Write(o.vals[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// WriteTradeoff prints a small table of operating points for one pair.
func WriteTradeoff(w io.Writer, lp string, pts []Point, chosen Choice) {
	fmt.Fprintf(w, "%s:\n  %10s %9s %9s %9s %8s\n", lp, "threshold", "precision", "recall", "f1", "accepted")
	for _, p := range pts {
		mark := ""
		if chosen.OK && p.Threshold == chosen.Threshold {
			mark = "  <- chosen"
		}
		fmt.Fprintf(w, "  %10.4g %9.3f %9.3f %9.3f %8d%s\n", p.Threshold, p.Precision, p.Recall, p.F1, p.TP+p.FP, mark)
	}
	if !chosen.OK {
		fmt.Fprintf(w, "  no threshold: %s\n", chosen.Reason)
	}
}
