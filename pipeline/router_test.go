package pipeline

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/qegate/qegate/internal/qe"
)

func fakeResult(score float32) qe.Result {
	return qe.Result{Score: score, Threshold: 0.5, Acceptable: score >= 0.5}
}

func validJSONObject(b []byte) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(b, &m) == nil && m != nil
}

func TestRoutesValidate(t *testing.T) {
	ok := RoutesConfig{Publish: "publish.{tgt_lang}", PostEdit: "postedit.{lp}", DeadLetter: "dlq"}
	tests := []struct {
		name    string
		mutate  func(*RoutesConfig)
		wantErr string
	}{
		{"ok", func(*RoutesConfig) {}, ""},
		{"no publish", func(c *RoutesConfig) { c.Publish = "" }, "routes.publish: required"},
		{"bad placeholder", func(c *RoutesConfig) { c.PostEdit = "pe.{lang}" }, "unknown placeholder"},
		{"unclosed", func(c *RoutesConfig) { c.Review = "rv.{lp" }, "unclosed"},
		{"templated dlq", func(c *RoutesConfig) { c.DeadLetter = "dlq.{lp}" }, "templates are not allowed"},
		{"negative margin", func(c *RoutesConfig) { c.ReviewMargin = -1 }, "review_margin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mutate(&c)
			err := c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestRouterScored(t *testing.T) {
	r := NewRouter(RoutesConfig{
		Publish: "publish.{tgt_lang}", PostEdit: "postedit.{tgt_lang}", Review: "review.{lp}",
		ReviewMargin: 0.05, DeadLetter: "dlq",
	}, qe.ModelID{Name: "qe", Version: "1.2", Output: "da51"})
	dec := NewDecoder(DecoderConfig{})
	mk := func(v string) *Item {
		it := &Item{Key: []byte("k1"), Value: []byte(v), Headers: []qe.Header{{Key: "trace", Value: []byte("t1")}, {Key: "qe-score", Value: []byte("old")}}, Origin: Origin{"in", 3, 77}}
		dec.Decode(it)
		if it.Err != nil {
			t.Fatal(it.Err)
		}
		return it
	}
	base := `{"id":"x","src":"a","mt":"b","src_lang":"en","tgt_lang":"de","n":1.50}`
	tests := []struct {
		score     float32
		wantRoute qe.Route
		wantTopic string
		wantLabel string
	}{
		{0.9, qe.RouteAccepted, "publish.de", "acceptable"},
		{0.1, qe.RouteRejected, "postedit.de", "rejected"},
		{0.52, qe.RouteReview, "review.en-de", "acceptable"},
		{0.47, qe.RouteReview, "review.en-de", "rejected"},
	}
	for _, tc := range tests {
		route, rec, err := r.Scored(mk(base), fakeResult(tc.score))
		if err != nil {
			t.Fatalf("score %v: %v", tc.score, err)
		}
		if route != tc.wantRoute || rec.Topic != tc.wantTopic {
			t.Fatalf("score %v: route %v topic %s, want %v %s", tc.score, route, rec.Topic, tc.wantRoute, tc.wantTopic)
		}
		var out map[string]json.RawMessage
		if err := json.Unmarshal(rec.Value, &out); err != nil {
			t.Fatalf("output not JSON: %s", rec.Value)
		}
		if string(out["n"]) != "1.50" || string(out["id"]) != `"x"` {
			t.Fatalf("input fields not preserved verbatim: %s", rec.Value)
		}
		var member struct {
			Score        float64 `json:"score"`
			Label        string  `json:"label"`
			Threshold    float64 `json:"threshold"`
			Model        string  `json:"model"`
			ModelVersion string  `json:"model_version"`
		}
		if err := json.Unmarshal(out["qe"], &member); err != nil {
			t.Fatal(err)
		}
		if member.Label != tc.wantLabel || member.Model != "qe" || member.ModelVersion != "1.2" || member.Threshold != 0.5 {
			t.Fatalf("qe = %+v", member)
		}
		if string(rec.Key) != "k1" || string(rec.Header("trace")) != "t1" || string(rec.Header(qe.HeaderLabel)) != tc.wantLabel ||
			string(rec.Header(qe.HeaderModel)) != "qe@1.2" || string(rec.Header(qe.HeaderSource)) != "in:3:77" {
			t.Fatalf("key/headers wrong: %+v", rec)
		}
		n := 0
		for _, h := range rec.Headers {
			if h.Key == qe.HeaderScore {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("want exactly one qe-score header, got %d", n)
		}
	}
}

// TestRouterGlassbox: the qe member says when the score combined the
// message's MT score, and stays as before (no member) when it did not.
func TestRouterGlassbox(t *testing.T) {
	r := NewRouter(RoutesConfig{Publish: "p", PostEdit: "e", DeadLetter: "d"}, qe.ModelID{Name: "m", Version: "1"})
	dec := NewDecoder(DecoderConfig{})
	for _, glass := range []bool{false, true} {
		it := &Item{Value: []byte(`{"src":"a","mt":"b","src_lang":"en","tgt_lang":"de","mt_score":-0.4}`)}
		dec.Decode(it)
		res := fakeResult(0.9)
		res.Glassbox = glass
		_, rec, err := r.Scored(it, res)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			QE map[string]json.RawMessage `json:"qe"`
		}
		if err := json.Unmarshal(rec.Value, &out); err != nil {
			t.Fatal(err)
		}
		g, ok := out.QE["glassbox"]
		if ok != glass || (glass && string(g) != "true") {
			t.Fatalf("glassbox %v: qe member %s", glass, rec.Value)
		}
	}
}

func TestWithQEReplacesExisting(t *testing.T) {
	r := NewRouter(RoutesConfig{Publish: "p", PostEdit: "e", DeadLetter: "d"}, qe.ModelID{Name: "m", Version: "1"})
	dec := NewDecoder(DecoderConfig{})
	it := &Item{Value: []byte(`{"src":"a","mt":"b","src_lang":"en","tgt_lang":"de","qe":{"score":0.1}}`)}
	dec.Decode(it)
	_, rec, err := r.Scored(it, fakeResult(0.9))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(rec.Value), `"qe"`) != 1 || !strings.Contains(string(rec.Value), `"acceptable"`) {
		t.Fatalf("qe not replaced: %s", rec.Value)
	}
	it = &Item{Value: []byte(" {\"src\":\"a\",\"mt\":\"b\",\"src_lang\":\"en\",\"tgt_lang\":\"de\"}\n")}
	dec.Decode(it)
	if _, rec, err = r.Scored(it, fakeResult(0.9)); err != nil {
		t.Fatal(err)
	}
	if !validJSONObject(rec.Value) {
		t.Fatalf("whitespace input: %q", rec.Value)
	}
}

func TestRouterTopics(t *testing.T) {
	r := NewRouter(RoutesConfig{Publish: "pub.{tgt_lang}", PostEdit: "pe", Review: "rv.{lp}", ReviewMargin: 0.1, DeadLetter: "dlq"}, qe.ModelID{})
	got := r.Topics([]string{"en-de", "et-en", "ro-en"})
	want := []string{"dlq", "pub.de", "pe", "rv.en-de", "pub.en", "rv.et-en", "rv.ro-en"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Topics = %v, want %v", got, want)
	}
}
