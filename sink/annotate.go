package sink

import (
	"encoding/base64"
	"encoding/json"
	"unicode/utf8"

	"github.com/qegate/qegate/internal/qe"
)

// annotate renders a record as its annotated.jsonl line: every input line
// once, with what became of it. Lines are built with encoding/json from the
// record's typed fields, so member names are unique.
func annotate(r qe.Record) []byte {
	if r.Route == qe.RouteDeadLetter {
		return annotateDead(r)
	}
	// The router's verdict plus the input's position (Verdict.Source), so
	// an annotated line names the input line it stands for (shards can be
	// merged back into input order by it).
	if b, err := r.Verdict.AddTo(r.Input); err == nil {
		return b
	}
	return routeValue(r)
}

// routeValue is a non-dead record's line in its route file: its value, or
// an envelope when the value is not a JSON object.
func routeValue(r qe.Record) []byte {
	if len(r.Value) == 0 || r.Value[0] != '{' {
		return envelope(r)
	}
	return r.Value
}

// envelope keeps a non-object value and its headers, so nothing is lost.
func envelope(r qe.Record) []byte {
	hs := map[string]string{}
	for _, h := range r.Headers {
		hs[h.Key] = string(h.Value)
	}
	b, _ := json.Marshal(map[string]any{"value_b64": base64.StdEncoding.EncodeToString(r.Value), "headers": hs})
	return b
}

// deadVerdict is a dead letter's qe member in annotated.jsonl.
type deadVerdict struct {
	Reason string `json:"reason"`
	Route  string `json:"route"`
	Source string `json:"source"`
}

// annotateDead renders a dead letter as one JSON line that keeps its input
// and says why: the input object with a "qe" member {reason, route,
// source}, or, for input that is not an object, {"qe": ..., "value": the
// text (or "value_b64" when not UTF-8)}.
func annotateDead(r qe.Record) []byte {
	q := deadVerdict{Reason: r.Verdict.Reason, Route: qe.RouteDeadLetter.String(), Source: r.Verdict.Source}
	v := r.Value
	if len(v) > 0 && v[0] == '{' && json.Valid(v) { // dead letters are whatever the sender sent
		if b, err := qe.SetQE(v, q); err == nil {
			return b
		}
	}
	env := struct {
		QE       deadVerdict `json:"qe"`
		Value    *string     `json:"value,omitempty"`
		ValueB64 *string     `json:"value_b64,omitempty"`
	}{QE: q}
	if utf8.Valid(v) {
		s := string(v)
		env.Value = &s
	} else {
		s := base64.StdEncoding.EncodeToString(v)
		env.ValueB64 = &s
	}
	b, _ := json.Marshal(env)
	return b
}
