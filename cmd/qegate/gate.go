package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/pipeline"
	"github.com/qegate/qegate/scorer"
	"github.com/qegate/qegate/sink"
)

// openScorer loads the configured model.
func openScorer(mc ModelConfig) (*scorer.Scorer, error) {
	cfg := scorer.Config{
		ModelDir: mc.Dir, ORTLibrary: mc.ORTLibrary, Output: mc.Output,
		Sessions: mc.Sessions, IntraOpThreads: mc.IntraOpThreads, MaxLen: mc.MaxLen,
	}
	sc, err := scorer.New(cfg)
	if err != nil {
		return nil, err
	}
	if len(mc.Thresholds) > 0 {
		// Config thresholds override the manifest's per pair; pairs not
		// named keep the model's own.
		out := sc.DecisionOutput()
		t := &scorer.Thresholds{Default: out.DefaultThreshold, ByLangPair: map[string]float32{}}
		for lp, v := range out.Thresholds {
			t.ByLangPair[lp] = v
		}
		for lp, v := range mc.Thresholds {
			if lp == "default" {
				t.Default = float32(v)
				continue
			}
			t.ByLangPair[strings.ToLower(lp)] = float32(v)
		}
		sc.Close()
		cfg.Thresholds = t
		if sc, err = scorer.New(cfg); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

// modelLangPairs lists the language pairs the model has thresholds for,
// plus the configured allow-list: the pairs whose topics must exist.
func modelLangPairs(sc *scorer.Scorer, extra []string) []string {
	seen := map[string]bool{}
	for _, o := range sc.Manifest().Outputs {
		for lp := range o.Thresholds {
			seen[lp] = true
		}
	}
	for _, lp := range extra {
		seen[strings.ToLower(lp)] = true
	}
	out := make([]string, 0, len(seen))
	for lp := range seen {
		out = append(out, lp)
	}
	sort.Strings(out)
	return out
}

// checkTopics fails with one clear message when the brokers cannot be
// reached or a topic is missing; producing to a missing topic later would
// otherwise stall or dead-letter everything.
func checkTopics(ctx context.Context, brokers []string, topics []string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return fmt.Errorf("kafka: cannot reach brokers %s: %w", strings.Join(brokers, ","), err)
	}
	var missing []string
	for _, t := range md.Topics {
		if t.Error != nil {
			missing = append(missing, t.Name)
		}
	}
	if len(md.Topics) < len(topics) {
		got := map[string]bool{}
		for _, t := range md.Topics {
			got[t.Name] = true
		}
		for _, t := range topics {
			if !got[t] {
				missing = append(missing, t)
			}
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("kafka: topic(s) do not exist: %s (create them, or change routes/kafka.topics)", strings.Join(missing, ", "))
	}
	return nil
}

// gateParts is a wired gate plus what must be closed after it.
type gateParts struct {
	gate   *pipeline.Gate
	engine *pipeline.Engine
	sink   *sink.Kafka
	source *pipeline.KafkaSource
}

// buildGate wires source, engine, router and Kafka sink from cfg.
func buildGate(ctx context.Context, cfg *Config, sc *scorer.Scorer, log *slog.Logger, reg *prometheus.Registry) (*gateParts, error) {
	man := sc.Manifest()
	out := sc.DecisionOutput()
	router := pipeline.NewRouter(cfg.Routes, pipeline.ModelInfo{Name: man.Name, Version: man.Version, Output: out.Name})
	lps := modelLangPairs(sc, cfg.Input.LangPairs)
	if router.Templated() && len(lps) == 0 {
		log.Warn("routes use language templates but the model names no language pairs; output topics are checked as they are used")
	}
	topics := append(append([]string{}, cfg.Kafka.Topics...), router.Topics(lps)...)
	if err := checkTopics(ctx, cfg.Kafka.Brokers, topics); err != nil {
		return nil, err
	}
	var r prometheus.Registerer // a nil *Registry in an interface is not nil
	if reg != nil {
		r = reg
	}
	m := pipeline.NewMetrics(r)
	snk, err := sink.NewKafka(sink.KafkaConfig{Brokers: cfg.Kafka.Brokers})
	if err != nil {
		return nil, err
	}
	dec := pipeline.NewDecoder(pipeline.DecoderConfig{Fields: cfg.Input.Fields, MaxBytes: cfg.Input.MaxMessageBytes, LangPairs: cfg.Input.LangPairs})
	workers := cfg.Pipeline.Workers
	if workers <= 0 {
		sessions, _ := sc.PoolSize()
		workers = sessions + 1 // one more than sessions: a batch writes while the next scores
	}
	eng := pipeline.NewEngine(pipeline.EngineConfig{
		BatchSize: cfg.Pipeline.BatchSize, BatchWait: cfg.Pipeline.BatchWait,
		Workers: workers, RetryBackoff: cfg.Pipeline.RetryBackoff,
	}, sc, router, snk, m, log)
	src := pipeline.NewKafkaSource(cfg.Kafka, dec, m, log)
	if reg != nil {
		reg.MustRegister(src.Collector())
	}
	g := &pipeline.Gate{Source: src, Engine: eng, QueueSize: cfg.Pipeline.QueueSize, DrainTimeout: cfg.Pipeline.DrainTimeout, Log: log}
	return &gateParts{gate: g, engine: eng, sink: snk, source: src}, nil
}

// serveMetrics exposes /metrics and /healthz; the listener is bound before
// returning so a bad address fails start-up.
func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	log.Info("metrics listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
