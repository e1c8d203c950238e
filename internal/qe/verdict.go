package qe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Verdict is the "qe" member an output object carries (README "Message
// contract"). It is only ever encoded with encoding/json, so its names are
// unique whatever fields are set.
type Verdict struct {
	// Score and Threshold are written with 6 decimals; absent for rule
	// rejections and dead letters.
	Score        json.Number `json:"score,omitempty"`
	Label        string      `json:"label"`
	Threshold    json.Number `json:"threshold,omitempty"`
	Model        string      `json:"model"`
	ModelVersion string      `json:"model_version"`
	Output       string      `json:"output,omitempty"`
	Route        string      `json:"route"`
	// Glassbox says the score combined the message's MT score with the
	// model's outputs; omitted (false) when the text alone was scored.
	Glassbox bool `json:"glassbox,omitempty"`
	// Critical is the model's probability of a critical error and
	// CriticalThreshold the pair's threshold for it, 6 decimals each;
	// absent when the model has no critical output (and for rule
	// rejections and dead letters).
	Critical          json.Number `json:"critical,omitempty"`
	CriticalThreshold json.Number `json:"critical_threshold,omitempty"`
	// Segments is how many sentence pieces a long input was scored in and
	// WorstSegment the index (from 0) of the piece that decided the
	// verdict (the lowest score, or the piece a rule rejected); both
	// absent for a pair scored whole.
	Segments     int  `json:"segments,omitempty"`
	WorstSegment *int `json:"worst_segment,omitempty"`
	// Truncated says the model did not see all of the text: one piece
	// longer than the model's max_len tokens, or more pieces than
	// input.max_segments with input.over_max_segments: truncate.
	Truncated bool `json:"truncated,omitempty"`
	// Rule and Reason name the prefilter rule that rejected the pair and
	// why; for a pair flagged as a critical error Reason says so (no
	// Rule); for a dead letter Reason is why it could not be scored.
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Source is the input's position (the qe-source header's value). The
	// router leaves it out of Value; the filter's annotated.jsonl names it.
	Source string `json:"source,omitempty"`
}

// AddTo returns object with v as its "qe" member (see SetQE).
func (v Verdict) AddTo(object []byte) ([]byte, error) { return SetQE(object, v) }

// SetQE returns object (a JSON object) with member, encoded by
// encoding/json, as its "qe" member. The object's bytes (field order,
// number formatting) are kept as the producer wrote them and the member
// appended; an existing top-level "qe" member is replaced instead (the
// object is then re-encoded). Every encoding step is checked: a member
// that does not encode never yields `"qe":}`. The object itself is not
// validated beyond its closing brace: callers pass decoded input.
func SetQE(object []byte, member any) ([]byte, error) {
	qb, err := marshalNoEscape(member)
	if err != nil {
		return nil, fmt.Errorf("encode qe member: %w", err)
	}
	if mayHaveQE(object) {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(object, &obj); err != nil {
			return nil, fmt.Errorf("add qe member: %w", err)
		}
		if _, ok := obj["qe"]; ok {
			obj["qe"] = qb
			out, err := marshalNoEscape(obj)
			if err != nil {
				return nil, fmt.Errorf("replace qe member: %w", err)
			}
			return out, nil
		}
	}
	o := bytes.TrimRight(object, " \t\r\n")
	if len(o) == 0 || o[len(o)-1] != '}' {
		return nil, errors.New("append qe member: value is not a JSON object")
	}
	body := bytes.TrimRight(o[:len(o)-1], " \t\r\n")
	out := make([]byte, 0, len(o)+len(qb)+8)
	out = append(out, body...)
	if len(body) > 0 && body[len(body)-1] != '{' {
		out = append(out, ',')
	}
	out = append(out, `"qe":`...)
	out = append(out, qb...)
	out = append(out, '}')
	return out, nil
}

// marshalNoEscape is json.Marshal without its HTML escaping: the object
// re-encoded when a "qe" member is replaced must keep the producer's other
// members byte for byte where encoding/json allows (an id {"&":1} must not
// come back as {"\u0026":1}, or `qegate audit` and every consumer that
// matches ids by their bytes would see a different message).
func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// mayHaveQE is a cheap test that object cannot have a "qe" member: the
// name, literally or with a \u escape, must appear somewhere in it.
func mayHaveQE(object []byte) bool {
	return bytes.Contains(object, []byte(`"qe"`)) || bytes.Contains(object, []byte(`\u`))
}
