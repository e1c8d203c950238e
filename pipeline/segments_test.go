package pipeline

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/pipeline/pipelinetest"
	"github.com/qegate/qegate/pipeline/rules"
)

// recordingScorer is a LengthScorer that keeps every pair it was given.
type recordingScorer struct {
	pipelinetest.LengthScorer
	mu    sync.Mutex
	pairs []qe.Pair
}

func (s *recordingScorer) Score(ctx context.Context, pairs []qe.Pair) ([]qe.Result, error) {
	s.mu.Lock()
	s.pairs = append(s.pairs, pairs...)
	s.mu.Unlock()
	return s.LengthScorer.Score(ctx, pairs)
}

// qeMember is the qe member of an output as the message contract names it.
type qeMember struct {
	Score        json.Number `json:"score"`
	Route        string      `json:"route"`
	Rule         string      `json:"rule"`
	Reason       string      `json:"reason"`
	Segments     int         `json:"segments"`
	WorstSegment *int        `json:"worst_segment"`
	Truncated    bool        `json:"truncated"`
}

func TestEngineLongInputs(t *testing.T) {
	tests := []struct {
		name     string
		seg      SegmentConfig
		src, mt  string
		wantQE   qeMember
		wantDLQ  string // dead-letter reason
		wantRows int    // pairs the scorer saw
	}{
		{
			name: "one sentence is scored whole",
			src:  "The museum is closed.", mt: "Das Museum ist zu.",
			wantQE:   qeMember{Score: "1.000000", Route: "accepted"},
			wantRows: 1,
		},
		{
			name: "every piece acceptable",
			src:  "One is good. Two is good. Three is good.", mt: "Eins ist gut. Zwei ist gut. Drei ist gut.",
			wantQE:   qeMember{Score: "1.000000", Route: "accepted", Segments: 3, WorstSegment: ptr(0)},
			wantRows: 3,
		},
		{
			name: "one bad piece rejects the pair with its score",
			src:  "One is good. Two is bad. Three is good.", mt: "Eins ist gut. Nö. Drei ist gut.",
			wantQE:   qeMember{Score: "0.400000", Route: "rejected", Segments: 3, WorstSegment: ptr(1)},
			wantRows: 3,
		},
		{
			name: "too many pieces dead-letter",
			seg:  SegmentConfig{MaxSegments: 2},
			src:  "One is good. Two is good. Three is good.", mt: "Eins ist gut. Zwei ist gut. Drei ist gut.",
			wantDLQ: "too many sentences: 3 pieces, input.max_segments is 2",
		},
		{
			name: "too many pieces truncate",
			seg:  SegmentConfig{MaxSegments: 2, OverMaxSegments: OverMaxTruncate},
			src:  "One is good. Two is good. Three is bad.", mt: "Eins ist gut. Zwei ist gut. Nö.",
			wantQE:   qeMember{Score: "1.000000", Route: "accepted", Segments: 2, WorstSegment: ptr(0), Truncated: true},
			wantRows: 2,
		},
		{
			name: "a rule rejects one piece",
			src:  "The museum opened in 1832. It is big.", mt: "Das Museum wurde 1923 eröffnet. Es ist groß.",
			wantQE: qeMember{Route: "rejected", Rule: rules.RuleNumbers, Segments: 2, WorstSegment: ptr(0)},
		},
		{
			name: "a rule rejects the second piece",
			src:  "It is big. The museum opened in 1832.", mt: "Es ist groß. Das Museum wurde 1923 eröffnet.",
			wantQE: qeMember{Route: "rejected", Rule: rules.RuleNumbers, Segments: 2, WorstSegment: ptr(1)},
		},
	}
	checker, err := rules.New(rules.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := &recordingScorer{}
			s := &pipelinetest.MemSink{}
			m := NewMetrics(nil)
			r := NewRouter(RoutesConfig{Publish: "pub", PostEdit: "pe", DeadLetter: "dlq"}, qe.ModelID{Name: "m", Version: "1"})
			e := NewEngine(EngineConfig{BatchWait: time.Millisecond}, sc, r, s, m, nil)
			e.SetSegments(tc.seg)
			e.Prefilter = checker
			in, _ := feed(t, []string{pairJSON(tc.src, tc.mt, "de")})
			e.Run(context.Background(), in)
			recs := s.Records()
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			rec := recs[0]
			if tc.wantDLQ != "" {
				if rec.Route != qe.RouteDeadLetter || string(rec.Header(qe.HeaderError)) != tc.wantDLQ {
					t.Fatalf("route %v, qe-error %q; want dead letter %q", rec.Route, rec.Header(qe.HeaderError), tc.wantDLQ)
				}
				return
			}
			var v struct{ QE qeMember }
			if err := json.Unmarshal(rec.Value, &v); err != nil {
				t.Fatal(err)
			}
			got := v.QE
			got.Reason = ""
			if !reflect.DeepEqual(got, tc.wantQE) {
				t.Fatalf("qe member %s\n got %+v\nwant %+v", rec.Value, got, tc.wantQE)
			}
			if tc.wantQE.Rule == "" && len(sc.pairs) != tc.wantRows {
				t.Fatalf("scorer saw %d pairs, want %d", len(sc.pairs), tc.wantRows)
			}
			if rec.Segments != tc.wantQE.Segments || (rec.Segments > 0 && rec.WorstSegment != *tc.wantQE.WorstSegment) {
				t.Fatalf("record segments %d worst %d", rec.Segments, rec.WorstSegment)
			}
			if n := testutil.CollectAndCount(m.Segments); n != 1 {
				t.Fatalf("qegate_segments_per_message has %d series", n)
			}
			wantTrunc := 0.0
			if tc.wantQE.Truncated {
				wantTrunc = 1
			}
			if got := testutil.ToFloat64(m.Truncated); got != wantTrunc {
				t.Fatalf("qegate_truncated_total = %v, want %v", got, wantTrunc)
			}
		})
	}
}

func ptr(i int) *int { return &i }

// TestEngineShortPairIsUntouched: a one-sentence pair reaches the scorer
// exactly as decoded (MT score included) and its output has no segment
// members, so its score is today's bit for bit.
func TestEngineShortPairIsUntouched(t *testing.T) {
	sc := &recordingScorer{}
	s := &pipelinetest.MemSink{}
	r := NewRouter(RoutesConfig{Publish: "pub", PostEdit: "pe", DeadLetter: "dlq"}, qe.ModelID{Name: "m", Version: "1"})
	e := NewEngine(EngineConfig{BatchWait: time.Millisecond}, sc, r, s, nil, nil)
	in, _ := feed(t, []string{`{"src":"Dr. Smith arrived. Nobody came","mt":"Dr. Smith kam an, niemand kam","src_lang":"en","tgt_lang":"de","mt_score":-0.5}`})
	e.Run(context.Background(), in)
	want := qe.Pair{Src: "Dr. Smith arrived. Nobody came", MT: "Dr. Smith kam an, niemand kam", SrcLang: "en", TgtLang: "de"}
	if len(sc.pairs) != 1 || sc.pairs[0].MTScore == nil || *sc.pairs[0].MTScore != -0.5 {
		t.Fatalf("scorer saw %+v", sc.pairs)
	}
	got := sc.pairs[0]
	got.MTScore = nil
	if got != want {
		t.Fatalf("scorer saw %+v, want %+v", got, want)
	}
	if v := string(s.Records()[0].Value); strings.Contains(v, "segments") || strings.Contains(v, "truncated") {
		t.Fatalf("short pair output names segments: %s", v)
	}
}

func TestCombine(t *testing.T) {
	crit := func(p float32, flagged bool) *qe.Critical {
		return &qe.Critical{Prob: p, Threshold: 0.5, Flagged: flagged}
	}
	ps := pieces{pairs: []qe.Pair{{Src: "aaa", MT: "b"}, {Src: "cccccc", MT: "dd"}}} // weights 4 and 8
	res := []qe.Result{
		{Score: 0.9, Threshold: 0.5, Acceptable: true, Outputs: []float32{0.9, 1}, Critical: crit(0.6, true)},
		{Score: 0.3, Threshold: 0.5, Acceptable: false, Outputs: []float32{0.3, 4}, Critical: crit(0.2, false), Truncated: true},
	}
	got := ps.combine(res)
	want := qe.Result{Score: 0.3, Threshold: 0.5, Acceptable: false, Outputs: []float32{0.5, 3},
		Critical: crit(0.6, true), Truncated: true, Segments: 2, WorstSegment: 1}
	for j := range got.Outputs {
		if math.Abs(float64(got.Outputs[j]-want.Outputs[j])) > 1e-6 {
			t.Fatalf("outputs %v, want the length-weighted means %v", got.Outputs, want.Outputs)
		}
	}
	got.Outputs = want.Outputs
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("combine\n got %+v\nwant %+v", got, want)
	}
	if res[0].Critical.Prob != 0.6 || res[1].Outputs[0] != 0.3 {
		t.Fatal("combine changed its input")
	}
	whole := pieces{pairs: []qe.Pair{{Src: "a", MT: "b"}}, whole: true}
	if got := whole.combine(res[:1]); !reflect.DeepEqual(got, res[0]) {
		t.Fatalf("a whole pair's result changed: %+v", got)
	}
}

func TestSegmentConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		c       SegmentConfig
		wantErr string
	}{
		{SegmentConfig{}, ""},
		{SegmentConfig{MaxSegments: 8, OverMaxSegments: OverMaxTruncate}, ""},
		{SegmentConfig{MaxSegments: -1}, "input.max_segments"},
		{SegmentConfig{OverMaxSegments: "drop"}, "input.over_max_segments"},
	} {
		err := tc.c.Validate()
		if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.c, err, tc.wantErr)
		}
	}
}
