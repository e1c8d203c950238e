package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qegate/qegate/pipeline"
	"github.com/qegate/qegate/scorer"
	"github.com/qegate/qegate/sink"
	"github.com/qegate/qegate/source"
)

// Gate is a wired gate plus the parts its owner reads or closes.
type Gate struct {
	*pipeline.Gate
	Router  *pipeline.Router
	Sink    pipeline.Sink
	Metrics *pipeline.Metrics
	// Files is the file source of a file gate, nil for Kafka.
	Files *source.File
}

// Options choose where a gate reads and writes and where it reports. The
// zero value is the Kafka gate of the configuration, unregistered metrics
// and slog.Default().
type Options struct {
	// Files, when set, makes a file gate (corpus cleaning, backfills from
	// files): the source reads Files.Input and the sink writes one
	// JSON-lines file per route under Files.OutDir.
	Files *FileOptions
	// Log receives the pipeline's logs; nil means slog.Default().
	Log *slog.Logger
	// Registry, when set, gets the pipeline's qegate_* metrics.
	Registry *prometheus.Registry
}

// FileOptions are the input and output of a file gate.
type FileOptions struct {
	Input  source.FileConfig
	OutDir string
}

// FileRoutes are the routes of a file gate: accepted, rejected, review
// (with reviewMargin > 0) and dead_letter, one output file each.
func FileRoutes(reviewMargin float64) pipeline.RoutesConfig {
	r := pipeline.RoutesConfig{Publish: "accepted", PostEdit: "rejected", DeadLetter: "dead_letter"}
	if reviewMargin > 0 {
		r.Review, r.ReviewMargin = "review", reviewMargin
	}
	return r
}

// Build wires source, decoder, engine, router and sink from cfg around an
// open scorer. For a Kafka gate it first checks that the brokers answer and
// that every input topic and every output topic of the model's language
// pairs exists. The caller runs the gate, then calls Close.
func Build(ctx context.Context, cfg *Config, sc *scorer.Scorer, opts Options) (*Gate, error) {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	man := sc.Manifest()
	router := pipeline.NewRouter(cfg.Routes, pipeline.ModelInfo{Name: man.Name, Version: man.Version, Output: sc.DecisionOutput().Name})
	var reg prometheus.Registerer // a nil *Registry in an interface is not nil
	if opts.Registry != nil {
		reg = opts.Registry
	}
	m := pipeline.NewMetrics(reg)
	dec := pipeline.NewDecoder(cfg.Input)

	g := &Gate{Router: router, Metrics: m}
	lps := LangPairs(sc, cfg.Input.LangPairs)
	var expect []string // output topics checked to exist at start-up
	var src pipeline.Source
	if opts.Files != nil {
		fs, err := source.NewFile(opts.Files.Input, dec, log)
		if err != nil {
			return nil, err
		}
		snk, err := sink.NewFile(opts.Files.OutDir)
		if err != nil {
			return nil, err
		}
		src, g.Sink, g.Files = fs, snk, fs
	} else {
		if router.Templated() && len(lps) == 0 {
			log.Warn("routes use language templates but the model names no language pairs; output topics are checked as they are used")
		}
		topics := append(append([]string{}, cfg.Kafka.Topics...), router.Topics(lps)...)
		if err := CheckTopics(ctx, cfg.Kafka.Brokers, topics); err != nil {
			return nil, err
		}
		snk, err := sink.NewKafka(sink.KafkaConfig{Brokers: cfg.Kafka.Brokers})
		if err != nil {
			return nil, err
		}
		expect = router.Topics(lps)
		kc := cfg.Kafka
		// The partition readers' prefetch gets half the byte budget of the
		// queue, so fetched-ahead messages are bounded in bytes too.
		kc.PrefetchBytes = cfg.Pipeline.WithDefaults().QueueBytes / 2
		kc.MaxMessageBytes = cfg.Input.WithDefaults().MaxBytes
		ks := source.NewKafka(kc, dec, m, log)
		if opts.Registry != nil {
			opts.Registry.MustRegister(ks.Collector())
		}
		src, g.Sink = ks, snk
	}
	pc := cfg.Pipeline
	if pc.Workers <= 0 {
		sessions, _ := sc.PoolSize()
		pc.Workers = sessions + 1 // one more than sessions: a batch writes while the next scores
	}
	pc.LangPairLabels = lps
	eng := pipeline.NewEngine(pc.EngineConfig, sc, router, g.Sink, m, log)
	eng.ExpectTopics(expect...)
	g.Gate = &pipeline.Gate{Source: src, Engine: eng, QueueSize: pc.QueueSize, QueueBytes: pc.WithDefaults().QueueBytes, DrainTimeout: pc.DrainTimeout, Log: log}
	return g, nil
}

// Close closes the sink: call it after Run has returned.
func (g *Gate) Close() error {
	if err := g.Sink.Close(); err != nil {
		return fmt.Errorf("close sink: %w", err)
	}
	return nil
}

// Summary is the one log line a finished gate leaves.
func (g *Gate) Summary(log *slog.Logger, rep pipeline.Report, runErr error) {
	s := g.Engine.Stats().Snapshot()
	args := []any{"accepted", s.Total.Accepted, "rejected", s.Total.Rejected, "review", s.Total.Review,
		"dead_letter", s.Total.DeadLetter, "dropped_uncommitted", rep.Dropped, "elapsed", rep.Elapsed}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		log.Error("gate stopped", append(args, "err", runErr)...)
		return
	}
	log.Info("gate stopped", args...)
}
