package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/pipeline/pipelinetest"
)

// critResult is a scored result with a critical verdict (threshold 0.5).
func critResult(score, prob float32) qe.Result {
	r := fakeResult(score)
	r.Critical = &qe.Critical{Prob: prob, Threshold: 0.5, Flagged: prob >= 0.5}
	return r
}

// TestRouterCriticalPrecedence: a pair the model flags as a critical error
// is never published: it goes to routes.critical when set, else to the
// post-edit route, whatever its score and even inside the review band; an
// unflagged pair is routed as before, with its probability on record.
func TestRouterCriticalPrecedence(t *testing.T) {
	withCritical := RoutesConfig{Publish: "publish.{tgt_lang}", PostEdit: "postedit.{tgt_lang}", Critical: "critical.{tgt_lang}",
		Review: "review.{lp}", ReviewMargin: 0.05, DeadLetter: "dlq"}
	noCritical := withCritical
	noCritical.Critical = ""
	noResult := fakeResult(0.9) // a model without a critical output
	tests := []struct {
		name      string
		routes    RoutesConfig
		res       qe.Result
		wantRoute qe.Route
		wantTopic string
		wantLabel string
		wantProb  string // qe.critical and the qe-critical header; "" = absent
		wantWhy   bool   // a critical-error reason in qe.reason and qe-reason
	}{
		{"clean, accepted", withCritical, critResult(0.9, 0.1), qe.RouteAccepted, "publish.de", "acceptable", "0.100000", false},
		{"clean, rejected", withCritical, critResult(0.1, 0.49), qe.RouteRejected, "postedit.de", "rejected", "0.490000", false},
		{"clean, review band", withCritical, critResult(0.52, 0.2), qe.RouteReview, "review.en-de", "acceptable", "0.200000", false},
		{"flagged overrides accept", withCritical, critResult(0.95, 0.8), qe.RouteCritical, "critical.de", "rejected", "0.800000", true},
		{"flagged at the threshold", withCritical, critResult(0.95, 0.5), qe.RouteCritical, "critical.de", "rejected", "0.500000", true},
		{"flagged beats the review band", withCritical, critResult(0.52, 0.7), qe.RouteCritical, "critical.de", "rejected", "0.700000", true},
		{"flagged and rejected", withCritical, critResult(0.1, 0.9), qe.RouteCritical, "critical.de", "rejected", "0.900000", true},
		{"flagged, no critical route: post-edit", noCritical, critResult(0.95, 0.8), qe.RouteRejected, "postedit.de", "rejected", "0.800000", true},
		{"flagged in band, no critical route: post-edit", noCritical, critResult(0.52, 0.8), qe.RouteRejected, "postedit.de", "rejected", "0.800000", true},
		{"no critical output", withCritical, noResult, qe.RouteAccepted, "publish.de", "acceptable", "", false},
	}
	dec := NewDecoder(DecoderConfig{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRouter(tc.routes, qe.ModelID{Name: "qe", Version: "2", Output: "da51"})
			it := &Item{Value: []byte(`{"src":"a","mt":"b","src_lang":"en","tgt_lang":"de"}`), Origin: Origin{"in", 0, 1},
				Headers: []qe.Header{{Key: qe.HeaderCritical, Value: []byte("stale")}, {Key: qe.HeaderReason, Value: []byte("stale")}}}
			dec.Decode(it)
			route, rec, err := r.Scored(it, tc.res)
			if err != nil {
				t.Fatal(err)
			}
			if route != tc.wantRoute || rec.Route != tc.wantRoute || rec.Topic != tc.wantTopic {
				t.Fatalf("route %v (record %v) topic %s, want %v %s", route, rec.Route, rec.Topic, tc.wantRoute, tc.wantTopic)
			}
			var out struct {
				QE map[string]json.RawMessage `json:"qe"`
			}
			if err := json.Unmarshal(rec.Value, &out); err != nil {
				t.Fatalf("output not JSON: %s", rec.Value)
			}
			if got := string(out.QE["label"]); got != `"`+tc.wantLabel+`"` || string(rec.Header(qe.HeaderLabel)) != tc.wantLabel {
				t.Errorf("label %s / header %s, want %s", got, rec.Header(qe.HeaderLabel), tc.wantLabel)
			}
			if got := string(out.QE["route"]); got != `"`+tc.wantRoute.String()+`"` {
				t.Errorf("qe.route %s, want %s", got, tc.wantRoute)
			}
			prob, hasProb := out.QE["critical"]
			if string(prob) != tc.wantProb || string(rec.Header(qe.HeaderCritical)) != tc.wantProb || hasProb != (tc.wantProb != "") {
				t.Errorf("qe.critical %s / header %q, want %q", prob, rec.Header(qe.HeaderCritical), tc.wantProb)
			}
			if tc.wantProb != "" {
				if string(out.QE["critical_threshold"]) != "0.500000" || rec.Critical == nil || fmt.Sprintf("%.6f", *rec.Critical) != tc.wantProb {
					t.Errorf("qe.critical_threshold %s, record %v", out.QE["critical_threshold"], rec.Critical)
				}
			} else if rec.Critical != nil || out.QE["critical_threshold"] != nil {
				t.Errorf("no critical output, yet record %v, qe %s", rec.Critical, rec.Value)
			}
			reason := string(rec.Header(qe.HeaderReason))
			want := "critical error: probability " + tc.wantProb + " at or above threshold 0.500000"
			var qeReason string
			_ = json.Unmarshal(out.QE["reason"], &qeReason) // absent: ""
			if tc.wantWhy != (reason == want) || tc.wantWhy != (qeReason == want) {
				t.Errorf("qe-reason %q, qe.reason %s, want reason %v (%q)", reason, out.QE["reason"], tc.wantWhy, want)
			}
			if !tc.wantWhy && reason != "" {
				t.Errorf("stale qe-reason header kept: %q", reason)
			}
			if _, ok := out.QE["rule"]; ok {
				t.Errorf("a critical error names a rule: %s", rec.Value)
			}
		})
	}
}

// TestRouterCriticalNotFinite: a NaN probability is never >= its
// threshold, so it must not pass as a clean pair: the item is dead-lettered.
func TestRouterCriticalNotFinite(t *testing.T) {
	r := NewRouter(RoutesConfig{Publish: "p", PostEdit: "e", Critical: "c", DeadLetter: "d"}, qe.ModelID{Name: "m", Version: "1"})
	dec := NewDecoder(DecoderConfig{})
	for _, c := range []qe.Critical{{Prob: float32(math.NaN()), Threshold: 0.5}, {Prob: 0.2, Threshold: float32(math.Inf(1))}} {
		it := &Item{Value: []byte(`{"src":"a","mt":"b","src_lang":"en","tgt_lang":"de"}`)}
		dec.Decode(it)
		res := fakeResult(0.9)
		res.Critical = &c
		route, _, err := r.Scored(it, res)
		if err == nil || route != qe.RouteDeadLetter || !strings.Contains(err.Error(), "non-finite critical") {
			t.Fatalf("critical %+v: route %v, err %v", c, route, err)
		}
	}
}

func TestRoutesCriticalConfig(t *testing.T) {
	c := RoutesConfig{Publish: "p.{tgt_lang}", PostEdit: "e", Critical: "critical.{language}", DeadLetter: "d"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "routes.critical") {
		t.Fatalf("bad critical template: %v", err)
	}
	c.Critical = "critical.{tgt_lang}"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	r := NewRouter(c, qe.ModelID{})
	got := strings.Join(r.Topics([]string{"en-de", "en-cs"}), ",")
	if want := "d,p.de,e,critical.de,p.cs,critical.cs"; got != want {
		t.Fatalf("Topics = %s, want %s", got, want)
	}
	if !NewRouter(RoutesConfig{Publish: "p", PostEdit: "e", Critical: "c.{lp}", DeadLetter: "d"}, qe.ModelID{}).Templated() {
		t.Fatal("a templated critical route is not reported as templated")
	}
}

// criticalScorer flags pairs whose MT contains "NOT!" as critical errors
// and accepts every pair by score.
type criticalScorer struct{}

func (criticalScorer) Score(_ context.Context, pairs []qe.Pair) ([]qe.Result, error) {
	out := make([]qe.Result, len(pairs))
	for i, p := range pairs {
		prob := float32(0.1)
		if strings.Contains(p.MT, "NOT!") {
			prob = 0.9
		}
		out[i] = qe.Result{Score: 0.9, Threshold: 0.5, Acceptable: true,
			Critical: &qe.Critical{Prob: prob, Threshold: 0.5, Flagged: prob >= 0.5}}
	}
	return out, nil
}

// TestEngineCritical: through the engine, flagged pairs reach the critical
// topic, count in the stats' critical column and in
// qegate_critical_total{lang_pair}; the others are published.
func TestEngineCritical(t *testing.T) {
	sink := &pipelinetest.MemSink{}
	r := NewRouter(RoutesConfig{Publish: "pub.{tgt_lang}", PostEdit: "pe.{tgt_lang}", Critical: "crit.{tgt_lang}", DeadLetter: "dlq"}, qe.ModelID{Name: "m", Version: "2"})
	m := NewMetrics(nil)
	e := NewEngine(EngineConfig{BatchSize: 4, BatchWait: time.Millisecond, RetryBackoff: time.Millisecond}, criticalScorer{}, r, sink, m, nil)
	in, acked := feed(t, []string{
		pairJSON("a", "long enough NOT!", "de"), pairJSON("a", "long enough", "de"),
		pairJSON("a", "long enough NOT!", "cs"), pairJSON("a", "long enough NOT!", "de"), pairJSON("a", "fine", "cs"),
	})
	e.Run(context.Background(), in)
	if acked.Load() != 5 {
		t.Fatalf("acked %d of 5", acked.Load())
	}
	if got, want := fmt.Sprint(sink.ByTopic()), fmt.Sprint(map[string]int{"crit.de": 2, "crit.cs": 1, "pub.de": 1, "pub.cs": 1}); got != want {
		t.Fatalf("topics %s, want %s", got, want)
	}
	if s := e.Stats().Snapshot(); s.Total.Critical != 3 || s.Total.Accepted != 2 || s.Total.Sum() != 5 || s.ByLP["en-de"].Critical != 2 {
		t.Fatalf("stats %+v", s)
	}
	for lp, want := range map[string]float64{"en-de": 2, "en-cs": 1} {
		if got := testutil.ToFloat64(m.Critical.WithLabelValues(lp)); got != want {
			t.Errorf("qegate_critical_total{lang_pair=%q} = %v, want %v", lp, got, want)
		}
	}
	if got := testutil.ToFloat64(m.Messages.WithLabelValues("critical", "en-de")); got != 2 {
		t.Errorf("qegate_messages_total{route=critical,lang_pair=en-de} = %v", got)
	}
}
