package pipeline

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/pipeline/pipelinetest"
)

// brokenScorer scores like LengthScorer but returns NaN for MT "nan" and
// +Inf for MT "inf", as a broken model does. The real NaN model runs in
// the fault suite (cmd/qegate, scenario nan_model).
type brokenScorer struct{ pipelinetest.LengthScorer }

func (s *brokenScorer) Score(ctx context.Context, pairs []qe.Pair) ([]qe.Result, error) {
	res, err := s.LengthScorer.Score(ctx, pairs)
	if err != nil {
		return nil, err
	}
	for i, p := range pairs {
		switch p.MT {
		case "nan":
			res[i].Score = float32(math.NaN())
		case "inf":
			res[i].Score = float32(math.Inf(1))
		}
	}
	return res, nil
}

type feedItem struct {
	key     string
	value   string
	headers []qe.Header
}

// runEngine decodes items, runs an engine over them and returns it with
// the number of acked items.
func runEngine(t *testing.T, cfg EngineConfig, sc Scorer, s Sink, dcfg DecoderConfig, items []feedItem, prep func(*Engine)) (*Engine, int64) {
	t.Helper()
	dec := NewDecoder(dcfg)
	in := make(chan *Item, len(items))
	var acked atomic.Int64
	for i, f := range items {
		var once sync.Once
		var key []byte
		if f.key != "" {
			key = []byte(f.key)
		}
		it := NewItem(Origin{"in", 0, int64(i)}, key, []byte(f.value), f.headers, func() { once.Do(func() { acked.Add(1) }) }, nil)
		dec.Decode(it)
		in <- it
	}
	close(in)
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 8
	}
	cfg.BatchWait, cfg.RetryBackoff = time.Millisecond, time.Millisecond
	r := NewRouter(RoutesConfig{Publish: "pub.{tgt_lang}", PostEdit: "pe.{tgt_lang}", DeadLetter: "dlq"}, qe.ModelID{Name: "m", Version: "1"})
	e := NewEngine(cfg, sc, r, s, nil, nil)
	if prep != nil {
		prep(e)
	}
	e.Run(context.Background(), in)
	return e, acked.Load()
}

func TestEngineNonFiniteScoresDeadLettered(t *testing.T) {
	ms := &pipelinetest.MemSink{}
	items := []feedItem{
		{value: pairJSON("a", "long enough", "de")},
		{value: pairJSON("a", "nan", "de")},
		{value: pairJSON("a", "inf", "de")},
		{value: `{"src":"a","mt":"nan","src_lang":"en","tgt_lang":"de","qe":{"old":1}}`},
	}
	_, acked := runEngine(t, EngineConfig{}, &brokenScorer{}, ms, DecoderConfig{}, items, nil)
	if acked != int64(len(items)) {
		t.Fatalf("acked %d of %d", acked, len(items))
	}
	dead := 0
	for _, rec := range ms.Records() {
		if rec.Topic == "dlq" {
			dead++
			if r := string(rec.Header(qe.HeaderError)); !strings.HasPrefix(r, "scoring failed: model returned a non-finite score") {
				t.Errorf("dead letter reason %q", r)
			}
			continue
		}
		// Every scored output is a JSON object whose qe member parses
		// (a NaN used to give `"qe":}`).
		var out struct {
			QE struct {
				Score float64 `json:"score"`
			} `json:"qe"`
		}
		if err := json.Unmarshal(rec.Value, &out); err != nil {
			t.Errorf("output is not JSON: %v: %s", err, rec.Value)
		}
	}
	if dead != 3 {
		t.Fatalf("%d dead letters, want 3 (NaN, Inf, NaN with a stale qe): %v", dead, ms.ByTopic())
	}
}

func TestWithQERejectsNonFinite(t *testing.T) {
	r := NewRouter(RoutesConfig{Publish: "p", PostEdit: "e", DeadLetter: "d"}, qe.ModelID{Name: "m", Version: "1"})
	dec := NewDecoder(DecoderConfig{})
	for _, res := range []qe.Result{
		{Score: float32(math.NaN()), Threshold: 0.5},
		{Score: float32(math.Inf(-1)), Threshold: 0.5},
		{Score: 0.7, Threshold: float32(math.NaN())},
	} {
		it := &Item{Value: []byte(pairJSON("a", "b", "de"))}
		dec.Decode(it)
		if _, rec, err := r.Scored(it, res); err == nil {
			t.Errorf("score %v threshold %v: no error, value %s", res.Score, res.Threshold, rec.Value)
		}
	}
	// The encoder itself is checked too, not only the numbers.
	if _, err := (qe.Verdict{Score: json.Number("NaN")}).AddTo([]byte(`{"a":1}`)); err == nil {
		t.Error("AddTo encoded an invalid number")
	}
}

func TestDecodeKeyAndHeaderBounds(t *testing.T) {
	big := strings.Repeat("k", 2000)
	tests := []struct {
		name    string
		key     string
		headers []qe.Header
		want    string
	}{
		{"small key and headers", "id-1", []qe.Header{{Key: "trace", Value: []byte("t")}}, ""},
		{"key at the limit", big[:1000], nil, ""},
		{"key over the limit", big[:1001], nil, "key too large: 1001 bytes > limit 1000"},
		{"headers over the limit", "", []qe.Header{{Key: "a", Value: []byte(big[:600])}, {Key: "b", Value: []byte(big[:600])}}, "headers too large: 1202 bytes in 2 headers > limit 1000"},
	}
	dec := NewDecoder(DecoderConfig{MaxKeyBytes: 1000, MaxHeaderBytes: 1000})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := NewItem(Origin{}, []byte(tc.key), []byte(pairJSON("a", "b", "de")), tc.headers, nil, nil)
			dec.Decode(it)
			got := ""
			if it.Err != nil {
				got = it.Err.Error()
			}
			if got != tc.want {
				t.Fatalf("err %q, want %q", got, tc.want)
			}
		})
	}
}

// A message whose key (or headers) no output topic accepts used to be
// retried forever: its dead letter kept the key. It is now dead-lettered
// without value, key and headers, keeping reason and position.
func TestEngineOversizedKeyNeverRetriedForever(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		headers []qe.Header
	}{
		{"key", strings.Repeat("k", 50_000), nil},
		{"headers", "small", []qe.Header{{Key: "h", Value: []byte(strings.Repeat("v", 50_000))}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The input limits allow 64 KiB; the topics take 10 kB records.
			ms := &pipelinetest.MemSink{MaxRecordBytes: 10_000}
			items := []feedItem{{key: tc.key, value: pairJSON("a", "long enough", "de"), headers: tc.headers}, {value: pairJSON("a", "long enough", "de")}}
			e, acked := runEngine(t, EngineConfig{}, &pipelinetest.LengthScorer{}, ms, DecoderConfig{}, items, nil)
			if e.Err() != nil || acked != 2 {
				t.Fatalf("acked %d of 2, engine err %v", acked, e.Err())
			}
			var dl []qe.Record
			for _, r := range ms.Records() {
				if r.Topic == "dlq" {
					dl = append(dl, r)
				}
			}
			if len(dl) != 1 || dl[0].Key != nil || dl[0].Value != nil || string(dl[0].Header(qe.HeaderSource)) != "in:0:0" {
				t.Fatalf("dead letters %+v, want one bare record for in:0:0", dl)
			}
			if r := string(dl[0].Header(qe.HeaderError)); !strings.Contains(r, "cannot deliver to pub.de") || !strings.Contains(r, "header bytes dropped") {
				t.Fatalf("reason %q", r)
			}
			if ms.Refused() > 8 {
				t.Fatalf("%d refusals: retried a permanent size error", ms.Refused())
			}
		})
	}
}

func TestEngineDeadLetterTopicRefusingEverythingStops(t *testing.T) {
	ms := &pipelinetest.MemSink{Permanent: "dlq"}
	e, acked := runEngine(t, EngineConfig{BatchSize: 1, Workers: 1}, &pipelinetest.LengthScorer{}, ms, DecoderConfig{},
		[]feedItem{{value: "garbage"}, {value: pairJSON("a", "long enough", "de")}}, nil)
	if e.Err() == nil || !strings.Contains(e.Err().Error(), `dead-letter topic "dlq" refuses a bare record`) {
		t.Fatalf("engine err %v", e.Err())
	}
	if acked != 0 {
		t.Fatalf("acked %d after the fault, want 0 (nothing after it may be committed)", acked)
	}
}

func TestEngineMissingTopic(t *testing.T) {
	tests := []struct {
		name      string
		sink      *pipelinetest.MemSink
		timeout   time.Duration
		expect    bool // the topic was checked at start-up
		wantTopic map[string]int
		wantErr   string
		wantAcked int64
	}{
		// Metadata lag: the topic answers after two refusals; good
		// records reach it instead of the dead-letter topic.
		{"metadata lag", &pipelinetest.MemSink{Missing: "pub.de", MissingFor: 2}, time.Minute, true,
			map[string]int{"pub.de": 2}, "", 2},
		{"never existed: dead-lettered after the timeout", &pipelinetest.MemSink{Missing: "pub.fr"}, time.Millisecond, false,
			map[string]int{"dlq": 2}, "", 2},
		{"deleted: the engine stops, nothing acked", &pipelinetest.MemSink{Missing: "pub.fr"}, time.Millisecond, true,
			map[string]int{}, `output topic "pub.fr" does not exist any more`, 0},
		{"dead-letter topic deleted", &pipelinetest.MemSink{Missing: "dlq"}, time.Millisecond, false,
			map[string]int{}, `output topic "dlq" does not exist any more`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tgt := strings.TrimPrefix(tc.sink.Missing, "pub.")
			v := pairJSON("a", "long enough", tgt)
			if tc.sink.Missing == "dlq" {
				v = "garbage"
			}
			e, acked := runEngine(t, EngineConfig{BatchSize: 2, Workers: 1, MissingTopicTimeout: tc.timeout}, &pipelinetest.LengthScorer{}, tc.sink, DecoderConfig{},
				[]feedItem{{value: v}, {value: v}}, func(e *Engine) {
					if tc.expect {
						e.ExpectTopics("pub." + tgt)
					}
				})
			if got := tc.sink.ByTopic(); len(got) != len(tc.wantTopic) || got["pub.de"] != tc.wantTopic["pub.de"] || got["dlq"] != tc.wantTopic["dlq"] {
				t.Fatalf("topics %v, want %v", got, tc.wantTopic)
			}
			if (tc.wantErr == "") != (e.Err() == nil) || (e.Err() != nil && !strings.Contains(e.Err().Error(), tc.wantErr)) {
				t.Fatalf("engine err %v, want %q", e.Err(), tc.wantErr)
			}
			if acked != tc.wantAcked {
				t.Fatalf("acked %d, want %d", acked, tc.wantAcked)
			}
			if tc.wantTopic["dlq"] > 0 {
				for _, r := range tc.sink.Records() {
					if got := string(r.Header(qe.HeaderError)); got != "cannot deliver to pub.fr: topic does not exist" {
						t.Fatalf("reason %q", got)
					}
				}
			}
		})
	}
}

func TestEngineLangPairLabels(t *testing.T) {
	ms := &pipelinetest.MemSink{}
	m := NewMetrics(nil)
	dec := NewDecoder(DecoderConfig{})
	in := make(chan *Item, 3)
	for i, v := range []string{
		`{"src":"a","mt":"long enough","src_lang":"en","tgt_lang":"de"}`,
		`{"src":"a","mt":"long enough","src_lang":"xx","tgt_lang":"de"}`,
		`{"src":"a","mt":"long enough","src_lang":"abc-zz","tgt_lang":"de"}`,
	} {
		it := NewItem(Origin{"in", 0, int64(i)}, nil, []byte(v), nil, nil, nil)
		dec.Decode(it)
		in <- it
	}
	close(in)
	r := NewRouter(RoutesConfig{Publish: "pub", PostEdit: "pe", DeadLetter: "dlq"}, qe.ModelID{Name: "m", Version: "1"})
	m.LimitLangPairs([]string{"en-de"})
	e := NewEngine(EngineConfig{BatchWait: time.Millisecond}, &pipelinetest.LengthScorer{}, r, ms, m, nil)
	e.Run(context.Background(), in)
	if n := testutil.CollectAndCount(m.Messages); n != 2 {
		t.Fatalf("%d label sets, want 2 (en-de, other)", n)
	}
	if got := testutil.ToFloat64(m.Messages.WithLabelValues("accepted", "other")); got != 2 {
		t.Fatalf("other = %v, want 2", got)
	}
	if got := e.Stats().Snapshot().ByLP; len(got) != 2 || got["other"].Accepted != 2 {
		t.Fatalf("stats by pair %v", got)
	}
}

func TestByteBudget(t *testing.T) {
	b := newByteBudget(1000)
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for i := 0; i < 4; i++ {
		if err := b.acquire(ctx, 250); err != nil {
			t.Fatal(err)
		}
	}
	// Full: one more byte would block (a cancelled context says so).
	if err := b.acquire(cancelled, 1); err == nil {
		t.Fatal("acquired beyond the budget")
	}
	b.release(250)
	if err := b.acquire(cancelled, 250); err != nil {
		t.Fatalf("released bytes not reusable: %v", err)
	}
	for i := 0; i < 4; i++ {
		b.release(250)
	}
	// An item larger than the whole budget passes alone, never with others.
	if err := b.acquire(cancelled, 5000); err != nil {
		t.Fatalf("oversized item on an empty budget: %v", err)
	}
	if err := b.acquire(cancelled, 1); err == nil {
		t.Fatal("acquired next to an oversized item")
	}
	b.release(5000)
	if b.inUse() != 0 {
		t.Fatalf("in use %d after releasing everything", b.inUse())
	}
}

// TestAdmitReleasesWhenEngineIsDone runs the budget between a feeder and a
// real engine: every item's bytes come back once it is written or
// dead-lettered, and none are held at the end.
func TestAdmitReleasesWhenEngineIsDone(t *testing.T) {
	ms := &pipelinetest.MemSink{}
	r := NewRouter(RoutesConfig{Publish: "pub", PostEdit: "pe", DeadLetter: "dlq"}, qe.ModelID{Name: "m", Version: "1"})
	e := NewEngine(EngineConfig{BatchWait: time.Millisecond}, &pipelinetest.LengthScorer{}, r, ms, nil, nil)
	queue := make(chan *Item, 4)
	budget := newByteBudget(3000)
	out, closeOut := admit(context.Background(), budget, queue)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Run(context.Background(), queue)
	}()
	dec := NewDecoder(DecoderConfig{})
	for i := 0; i < 200; i++ {
		v := pairJSON(strings.Repeat("a", 900), "long enough", "de")
		if i%7 == 0 {
			v = "garbage" + strings.Repeat("x", 900)
		}
		it := NewItem(Origin{"in", 0, int64(i)}, nil, []byte(v), nil, nil, nil)
		dec.Decode(it)
		out <- it
	}
	closeOut()
	<-done
	if n := len(ms.Records()); n != 200 {
		t.Fatalf("%d records written, want 200", n)
	}
	if b := budget.inUse(); b != 0 {
		t.Fatalf("%d bytes still held", b)
	}
}
