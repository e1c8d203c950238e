//go:build integration

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/qegate/qegate/internal/app"
	"github.com/qegate/qegate/internal/demo"
	"github.com/qegate/qegate/internal/kafkatest"
	"github.com/qegate/qegate/internal/native"
	"github.com/qegate/qegate/pipeline"
)

// TestBenchRealKafka is the end-to-end throughput of `qegate bench` through
// a real Apache Kafka broker (internal/kafkatest) instead of the in-process
// kfake one: the gate's default configuration over MLQE-PE dev pairs, next
// to the raw scorer on the same pairs before and after. It logs the figures
// and asserts only that every pair was routed (no timing assertions).
// QEGATE_BENCH_PAIRS sets the number of pairs (default 2000).
func TestBenchRealKafka(t *testing.T) {
	n := 2000
	if v := os.Getenv("QEGATE_BENCH_PAIRS"); v != "" {
		fmt.Sscan(v, &n)
	}
	modelDir := native.DefaultModelDir()
	if modelDir == "" || native.ORTLibrary() == "" {
		t.Skip("no model or ONNX Runtime library (make native)")
	}
	pairs, source, err := benchPairs("", n)
	if err != nil {
		t.Fatal(err)
	}
	b := kafkatest.Start(t, kafkatest.Options{DisableAutoCreateTopics: true})
	cfg, err := app.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Kafka.Brokers = []string{b.Addr()}
	cfg.Model.ModelDir = modelDir
	sc, err := app.OpenScorer(cfg.Model)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	tgts := map[string]bool{}
	for _, p := range pairs {
		tgts[p.TgtLang] = true
	}
	for _, lp := range app.LangPairs(sc, nil) {
		tgts[lp[strings.LastIndexByte(lp, '-')+1:]] = true
	}
	var outputs []string
	for tl := range tgts {
		outputs = append(outputs, pipeline.Expand(cfg.Routes.Publish, "", tl), pipeline.Expand(cfg.Routes.PostEdit, "", tl))
	}
	sort.Strings(outputs)
	b.CreateTopics(t, 4, cfg.Kafka.Topics...)
	b.CreateTopics(t, 1, append(outputs, cfg.Routes.DeadLetter)...)

	ctx := context.Background()
	o := Options{MinSeconds: 3, LatencyN: 30}
	sessions, threads := sc.PoolSize()
	before, err := qegateRef(ctx, modelDir, pairs, o, 32, sessions, threads)
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]demo.Message, len(pairs))
	for i, p := range pairs {
		id := fmt.Sprintf("b%d", i)
		v, _ := json.Marshal(map[string]string{"id": id, "src": p.Src, "mt": p.MT, "src_lang": p.SrcLang, "tgt_lang": p.TgtLang})
		msgs[i] = demo.Message{Key: id, Value: v, LangPair: p.LangPair()}
	}
	if err := demo.Produce(ctx, cfg.Kafka.Brokers, cfg.Kafka.Topics[0], msgs); err != nil {
		t.Fatal(err)
	}
	g, err := app.Build(ctx, cfg, sc, app.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := g.Run(stop)
		done <- err
	}()
	deadline := time.After(10 * time.Minute)
	var elapsed, first time.Duration
wait:
	for {
		select {
		case err := <-done:
			t.Fatalf("gate stopped early: %v", err)
		case <-deadline:
			t.Fatalf("only %d of %d routed", g.Engine.Stats().Snapshot().Total.Sum(), len(msgs))
		case <-time.After(20 * time.Millisecond):
			got := g.Engine.Stats().Snapshot().Total.Sum()
			if got > 0 && first == 0 {
				first = time.Since(start)
			}
			if got >= int64(len(msgs)) {
				elapsed = time.Since(start)
				break wait
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := qegateRef(ctx, modelDir, pairs, o, 32, sessions, threads)
	if err != nil {
		t.Fatal(err)
	}
	e2e := float64(len(msgs)) / elapsed.Seconds()
	raw := (before.PairsPerS + after.PairsPerS) / 2
	t.Logf("real Kafka (%s): %d pairs from %s in %.2fs = %.1f pairs/s end to end; raw scorer alongside %.1f pairs/s (%.1f before, %.1f after); e2e/raw = %.0f%%",
		b.Addr(), len(msgs), source, elapsed.Seconds(), e2e, raw, before.PairsPerS, after.PairsPerS, 100*e2e/raw)
	steady := float64(len(msgs)) / (elapsed - first).Seconds()
	t.Logf("first pair routed after %.2fs (consumer group join); from then on %.1f pairs/s = %.0f%% of raw", first.Seconds(), steady, 100*steady/raw)
}
