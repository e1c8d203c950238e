package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/pipeline/pipelinetest"
	"github.com/qegate/qegate/pipeline/rules"
)

func feed(t *testing.T, values []string) (chan *Item, *atomic.Int64) {
	t.Helper()
	dec := NewDecoder(DecoderConfig{})
	in := make(chan *Item, len(values))
	var acked atomic.Int64
	for i, v := range values {
		var once sync.Once
		it := NewItem(Origin{"in", 0, int64(i)}, nil, []byte(v), nil, func() { once.Do(func() { acked.Add(1) }) }, nil)
		dec.Decode(it)
		in <- it
	}
	close(in)
	return in, &acked
}

func pairJSON(src, mt, tgt string) string {
	return fmt.Sprintf(`{"src":%q,"mt":%q,"src_lang":"en","tgt_lang":%q}`, src, mt, tgt)
}

func TestEngineRoutesEverything(t *testing.T) {
	tests := []struct {
		name      string
		sink      *pipelinetest.MemSink
		values    []string
		wantTopic map[string]int
	}{
		{
			name:      "mixed",
			sink:      &pipelinetest.MemSink{},
			values:    []string{pairJSON("a", "long enough", "de"), pairJSON("a", "no", "de"), "garbage", pairJSON("a", "long enough", "zh")},
			wantTopic: map[string]int{"pub.de": 1, "pe.de": 1, "dlq": 1, "pub.zh": 1},
		},
		{
			name:      "transient sink failures are retried",
			sink:      &pipelinetest.MemSink{FailFirst: 3},
			values:    []string{pairJSON("a", "long enough", "de"), pairJSON("a", "x", "de")},
			wantTopic: map[string]int{"pub.de": 1, "pe.de": 1},
		},
		{
			name:      "missing output topic dead-letters",
			sink:      &pipelinetest.MemSink{Permanent: "pub.fr"},
			values:    []string{pairJSON("a", "long enough", "fr"), pairJSON("a", "long enough", "de")},
			wantTopic: map[string]int{"dlq": 1, "pub.de": 1},
		},
		{
			name:      "scoring failure isolates the bad pair",
			sink:      &pipelinetest.MemSink{},
			values:    []string{pairJSON("boom", "long enough", "de"), pairJSON("a", "long enough", "de"), pairJSON("a", "x", "de")},
			wantTopic: map[string]int{"dlq": 1, "pub.de": 1, "pe.de": 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRouter(RoutesConfig{Publish: "pub.{tgt_lang}", PostEdit: "pe.{tgt_lang}", DeadLetter: "dlq"}, qe.ModelID{Name: "m", Version: "1"})
			e := NewEngine(EngineConfig{BatchSize: 8, BatchWait: time.Millisecond, RetryBackoff: time.Millisecond}, &pipelinetest.LengthScorer{}, r, tc.sink, nil, nil)
			in, acked := feed(t, tc.values)
			e.Run(context.Background(), in)
			got := tc.sink.ByTopic()
			if fmt.Sprint(got) != fmt.Sprint(tc.wantTopic) {
				t.Fatalf("topics %v, want %v", got, tc.wantTopic)
			}
			if acked.Load() != int64(len(tc.values)) {
				t.Fatalf("acked %d of %d", acked.Load(), len(tc.values))
			}
			if s := e.Stats().Snapshot().Total.Sum(); s != int64(len(tc.values)) {
				t.Fatalf("stats sum %d, want %d", s, len(tc.values))
			}
		})
	}
}

// TestEngineHardStopDoesNotAck: with the broker down for good, the engine
// keeps retrying (with backoff) until the hard stop, then returns with
// nothing acked. The bubble's clock makes the 100ms of retries instant.
func TestEngineHardStopDoesNotAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := NewRouter(RoutesConfig{Publish: "p", PostEdit: "e", DeadLetter: "d"}, qe.ModelID{})
		s := &pipelinetest.MemSink{FailFirst: 1 << 30} // broker down for good
		e := NewEngine(EngineConfig{BatchWait: time.Millisecond, RetryBackoff: time.Millisecond}, &pipelinetest.LengthScorer{}, r, s, nil, nil)
		in, acked := feed(t, []string{pairJSON("a", "bb", "de"), pairJSON("a", "cc", "de")})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		e.Run(ctx, in)
		if took := time.Since(start); took != 100*time.Millisecond {
			t.Fatalf("Run returned after %s, want at the hard stop (100ms)", took)
		}
		if acked.Load() != 0 {
			t.Fatalf("acked %d messages that were never written", acked.Load())
		}
		// Backoff 1, 2, 4, ... 64ms: seven attempts before the stop.
		if tried := 1<<30 - s.FailFirst; tried != 7 {
			t.Fatalf("%d write attempts in 100ms, want 7 (backoff doubling from 1ms)", tried)
		}
	})
}

func TestEngineAbandonsRevokedItems(t *testing.T) {
	r := NewRouter(RoutesConfig{Publish: "p", PostEdit: "e", DeadLetter: "d"}, qe.ModelID{})
	s := &pipelinetest.MemSink{}
	e := NewEngine(EngineConfig{}, &pipelinetest.LengthScorer{}, r, s, nil, nil)
	in := make(chan *Item, 1)
	it := NewItem(Origin{}, nil, []byte(pairJSON("a", "b", "de")), nil, nil, func() bool { return false })
	NewDecoder(DecoderConfig{}).Decode(it)
	in <- it
	close(in)
	e.Run(context.Background(), in)
	if len(s.Records()) != 0 || e.Stats().Snapshot().Abandoned != 1 {
		t.Fatalf("revoked item was written: %d records", len(s.Records()))
	}
}

// TestEngineBatchesBySizeOrDeadline: nine pairs with BatchSize 4 are
// scored as [4 4 1]: the full batches at once, the partial one exactly
// BatchWait after its first pair arrived (the bubble's clock), without in
// being closed.
func TestEngineBatchesBySizeOrDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const wait = 50 * time.Millisecond
		r := NewRouter(RoutesConfig{Publish: "p", PostEdit: "e", DeadLetter: "d"}, qe.ModelID{})
		var mu sync.Mutex
		var sizes []int
		batches := func() string {
			mu.Lock()
			defer mu.Unlock()
			return fmt.Sprint(sizes)
		}
		sc := scorerFunc(func(ctx context.Context, pairs []qe.Pair) ([]qe.Result, error) {
			mu.Lock()
			sizes = append(sizes, len(pairs))
			mu.Unlock()
			return make([]qe.Result, len(pairs)), nil
		})
		e := NewEngine(EngineConfig{BatchSize: 4, BatchWait: wait, Workers: 1}, sc, r, &pipelinetest.MemSink{}, nil, nil)
		in := make(chan *Item)
		done := make(chan struct{})
		go func() { e.Run(context.Background(), in); close(done) }()
		// Also on a failure: a goroutine left blocked fails the bubble.
		stop := sync.OnceFunc(func() { close(in); <-done })
		defer stop()
		dec := NewDecoder(DecoderConfig{})
		var acked atomic.Int64
		for i := 0; i < 9; i++ {
			it := NewItem(Origin{}, nil, []byte(pairJSON("a", "bb", "de")), nil, func() { acked.Add(1) }, nil)
			dec.Decode(it)
			in <- it
		}
		synctest.Wait() // every goroutine of the engine is blocked: what is due is done
		if got := batches(); got != "[4 4]" || acked.Load() != 8 {
			t.Fatalf("before the deadline: batches %s, %d acked; want [4 4] and 8", got, acked.Load())
		}
		time.Sleep(wait - time.Nanosecond) // scenario, on the bubble's clock: up to 1ns before the deadline
		synctest.Wait()
		if got := batches(); got != "[4 4]" {
			t.Fatalf("1ns before the deadline: batches %s, want [4 4]", got)
		}
		time.Sleep(time.Nanosecond) // scenario, on the bubble's clock: the deadline
		synctest.Wait()
		if got := batches(); got != "[4 4 1]" || acked.Load() != 9 {
			t.Fatalf("at the deadline: batches %s, %d acked; want [4 4 1] and 9", got, acked.Load())
		}
		stop()
		if got := batches(); got != "[4 4 1]" {
			t.Fatalf("closing in scored more: batches %s", got)
		}
	})
}

type scorerFunc func(ctx context.Context, pairs []qe.Pair) ([]qe.Result, error)

func (f scorerFunc) Score(ctx context.Context, pairs []qe.Pair) ([]qe.Result, error) {
	return f(ctx, pairs)
}

// batchLimitSink rejects, as a broker does for a record batch over
// message.max.bytes, every write that holds a value over limit: the whole
// call fails permanently, batch-mates included.
type batchLimitSink struct {
	pipelinetest.MemSink
	limit int
}

func (b *batchLimitSink) Write(ctx context.Context, recs []qe.Record) error {
	for _, r := range recs {
		if len(r.Value) > b.limit {
			return &qe.PermanentError{Err: errors.New("message size too large")}
		}
	}
	return b.MemSink.Write(ctx, recs)
}

func TestEngineTooLargeDeadLetter(t *testing.T) {
	r := NewRouter(RoutesConfig{Publish: "p", PostEdit: "e", DeadLetter: "d"}, qe.ModelID{})
	s := &batchLimitSink{limit: 1000}
	e := NewEngine(EngineConfig{BatchWait: 20 * time.Millisecond, RetryBackoff: time.Millisecond, Workers: 1}, &pipelinetest.LengthScorer{}, r, s, nil, nil)
	big := `{"id":"big","src":"` + strings.Repeat("z", 1500) + `","mt":"x","src_lang":"en","tgt_lang":"de",` // truncated JSON: dead letter
	in, acked := feed(t, []string{pairJSON("a", "bb", "de"), big, pairJSON("a", "cccccc", "de")})
	e.Run(context.Background(), in)
	if acked.Load() != 3 {
		t.Fatalf("acked %d of 3", acked.Load())
	}
	got := s.ByTopic()
	if got["p"]+got["e"] != 2 || got["d"] != 1 {
		t.Fatalf("batch-mates of a too-large record must be delivered, not dead-lettered: %v", got)
	}
	for _, rec := range s.Records() {
		if rec.Topic == "d" && (rec.Value != nil || !strings.Contains(string(rec.Header(qe.HeaderError)), "bytes dropped")) {
			t.Fatalf("too-large dead letter: value %d bytes, reason %q", len(rec.Value), rec.Header(qe.HeaderError))
		}
	}
}

// TestEnginePrefilter: pairs a rule rejects go to the post-edit route (or
// RuleRejects) with the rule and reason and are never scored; the rest are.
func TestEnginePrefilter(t *testing.T) {
	checker, err := rules.New(rules.Config{})
	if err != nil {
		t.Fatal(err)
	}
	src := "The museum on the main square is closed on Mondays in 1832."
	tests := []struct {
		name      string
		routes    RoutesConfig
		values    []string
		wantTopic map[string]int
		wantRule  string
		scored    int
	}{
		{
			name:      "copy and changed number rejected, good pair scored",
			routes:    RoutesConfig{Publish: "pub.{tgt_lang}", PostEdit: "pe.{tgt_lang}", DeadLetter: "dlq"},
			values:    []string{pairJSON(src, src, "de"), pairJSON(src, "Das Museum am Hauptplatz ist montags 1923 geschlossen.", "de"), pairJSON(src, "Das Museum am Hauptplatz ist 1832 montags geschlossen.", "de")},
			wantTopic: map[string]int{"pe.de": 2, "pub.de": 1},
			scored:    1,
		},
		{
			name:      "rule rejects to their own topic",
			routes:    RoutesConfig{Publish: "pub", PostEdit: "pe", DeadLetter: "dlq", RuleRejects: "rules.{lp}"},
			values:    []string{pairJSON(src, src, "de")},
			wantTopic: map[string]int{"rules.en-de": 1},
			wantRule:  rules.RuleCopy,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := &pipelinetest.LengthScorer{}
			s := &pipelinetest.MemSink{}
			m := NewMetrics(nil)
			e := NewEngine(EngineConfig{BatchWait: time.Millisecond}, sc, NewRouter(tc.routes, qe.ModelID{Name: "m", Version: "1"}), s, m, nil)
			e.Prefilter = checker
			in, acked := feed(t, tc.values)
			e.Run(context.Background(), in)
			if got := s.ByTopic(); fmt.Sprint(got) != fmt.Sprint(tc.wantTopic) {
				t.Fatalf("topics %v, want %v", got, tc.wantTopic)
			}
			if acked.Load() != int64(len(tc.values)) {
				t.Fatalf("acked %d of %d", acked.Load(), len(tc.values))
			}
			scoredPairs := 0
			var rejected int
			for _, r := range s.Records() {
				if rule := string(r.Header(qe.HeaderRule)); rule != "" {
					rejected++
					var v struct{ QE map[string]any }
					if err := json.Unmarshal(r.Value, &v); err != nil {
						t.Fatal(err)
					}
					if v.QE["rule"] != rule || v.QE["reason"] == "" || v.QE["score"] != nil || v.QE["route"] != "rejected" ||
						len(r.Header(qe.HeaderReason)) == 0 || string(r.Header(qe.HeaderLabel)) != "rejected" {
						t.Fatalf("rule rejection lacks its verdict: %s %v", r.Value, r.Headers)
					}
					if tc.wantRule != "" && rule != tc.wantRule {
						t.Fatalf("rule %s, want %s", rule, tc.wantRule)
					}
				} else {
					scoredPairs++
				}
			}
			if scoredPairs != tc.scored || e.Stats().Snapshot().Total.Rejected < int64(rejected) {
				t.Fatalf("scored %d (want %d), rejected %d, stats %+v", scoredPairs, tc.scored, rejected, e.Stats().Snapshot().Total)
			}
			var total float64
			for _, r := range rules.AllRules() {
				total += testutil.ToFloat64(m.RuleRejections.WithLabelValues(r))
			}
			if int(total) != rejected {
				t.Fatalf("qegate_rule_rejections_total %v, want %d", total, rejected)
			}
		})
	}
}
