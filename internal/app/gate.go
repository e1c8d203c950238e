package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qegate/qegate/internal/kafkaconn"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/pipeline"
	"github.com/qegate/qegate/pipeline/rules"
	"github.com/qegate/qegate/sink"
	"github.com/qegate/qegate/source"
)

// Wired is a pipeline.Gate wired from the configuration, plus the parts
// its owner reads or closes.
type Wired struct {
	*pipeline.Gate
	Router  *pipeline.Router
	Sink    pipeline.Sink
	Metrics *pipeline.Metrics
	// Files is the file source of a file gate, nil for Kafka.
	Files *source.File

	model   GateScorer
	kafka   *source.Kafka // nil for a file gate
	brokers []string
	conn    kafkaconn.Config
	probe   brokerProbe
	// Out is the ordered output of a file gate, nil for Kafka.
	Out *sink.Ordered
	// Start is where a resumed file gate continues (the zero position for
	// a fresh run).
	Start qe.InputPos
	// Backfill is the bounded source of a backfill gate, else nil.
	Backfill *source.Backfill
	// AlreadyComplete marks a resumed file gate whose run had finished:
	// there is nothing to run (Gate is nil), only Out's summary to report.
	AlreadyComplete bool
}

// Options choose where a gate reads and writes and where it reports. The
// zero value is the Kafka gate of the configuration, unregistered metrics
// and slog.Default().
type Options struct {
	// Files, when set, makes a file gate (corpus cleaning, backfills from
	// files): the source reads Files.Input and an ordered sink writes one
	// JSON-lines file per route plus annotated.jsonl, in input order, with
	// a checkpoint for --resume.
	Files *FileOptions
	// Backfill, when set, makes a Kafka gate whose source is a bounded
	// read of Backfill.Topic (no consumer group, no commits) instead of
	// the configured consumer group; Brokers empty means kafka.brokers.
	Backfill *source.BackfillConfig
	// Log receives the pipeline's logs; nil means slog.Default().
	Log *slog.Logger
	// Registry, when set, gets the pipeline's qegate_* metrics.
	Registry *prometheus.Registry
}

// FileOptions are the input and output of a file gate. Input.Start is
// set by Build from Output's checkpoint; Input.MaxLineBytes zero means
// input.max_message_bytes.
type FileOptions struct {
	Input  source.FileConfig
	Output sink.OrderedConfig
}

// FileRoutes are the routes of a file gate: accepted, rejected, review
// (with reviewMargin > 0), critical (with critical: pairs the model flags
// as critical errors; else they go to rejected, with the reason) and
// dead_letter, one output file each.
func FileRoutes(reviewMargin float64, critical bool) pipeline.RoutesConfig {
	r := pipeline.RoutesConfig{Publish: "accepted", PostEdit: "rejected", DeadLetter: "dead_letter"}
	if reviewMargin > 0 {
		r.Review, r.ReviewMargin = "review", reviewMargin
	}
	if critical {
		r.Critical = "critical"
	}
	return r
}

// Build wires source, decoder, engine, router and sink from cfg around an
// open scorer: the mode's builder (buildFiles, buildBackfill, buildKafka)
// makes the source and the sink, then buildEngine the engine and the gate
// around them. For a Kafka gate it first checks that the brokers answer
// and that every input topic and every output topic of the model's
// language pairs exists. The caller runs the gate, then calls Close.
func Build(ctx context.Context, cfg *Config, sc GateScorer, opts Options) (*Wired, error) {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	routes := cfg.Routes
	routes.RuleRejects = cfg.Rules.Route
	router := pipeline.NewRouter(routes, sc.Model())
	if routes.Critical != "" && sc.Manifest().Critical() == nil {
		log.Warn("routes.critical is set but the model has no critical-error output: nothing will be routed there",
			"model", sc.Model().Tag())
	}
	var reg prometheus.Registerer // a nil *Registry in an interface is not nil
	if opts.Registry != nil {
		reg = opts.Registry
	}
	b := &builder{ctx: ctx, cfg: cfg, sc: sc, opts: opts, log: log, dec: pipeline.NewDecoder(cfg.Input),
		g: &Wired{Router: router, Metrics: pipeline.NewMetrics(reg), model: sc}}
	var err error
	switch {
	case opts.Files != nil:
		err = b.buildFiles()
	case opts.Backfill != nil:
		err = b.buildBackfill()
	default:
		err = b.buildKafka()
	}
	if err != nil || b.g.AlreadyComplete {
		return b.g, err
	}
	if err := b.buildEngine(); err != nil {
		return nil, err
	}
	return b.g, nil
}

// builder is one Build: what the mode builders share and fill in.
type builder struct {
	ctx  context.Context
	cfg  *Config
	sc   GateScorer
	opts Options
	log  *slog.Logger
	dec  *pipeline.Decoder
	g    *Wired
	// src is the mode's source; expect the output topics checked to
	// exist at start-up.
	src    pipeline.Source
	expect []string
}

// buildEngine is the one engine builder: the engine (with the rule
// prefilter) over the mode's source and sink, and the gate that runs them.
func (b *builder) buildEngine() error {
	pc := b.cfg.Pipeline
	if pc.Workers <= 0 {
		sessions, _ := b.sc.PoolSize()
		pc.Workers = sessions + 1 // one more than sessions: a batch writes while the next scores
	}
	eng := pipeline.NewEngine(pc.EngineConfig, b.sc, b.g.Router, b.g.Sink, b.g.Metrics, b.log)
	eng.SetSegments(b.cfg.Input.Segments)
	if !b.cfg.Rules.Disabled {
		checker, err := rules.New(b.cfg.Rules)
		if err != nil {
			return err
		}
		eng.Prefilter = checker
	}
	eng.ExpectTopics(b.expect...)
	b.g.Gate = &pipeline.Gate{Source: b.src, Engine: eng, QueueSize: pc.QueueSize, QueueBytes: pc.QueueBytes, DrainTimeout: pc.DrainTimeout, Log: b.log}
	return nil
}

// Close closes the sink: call it after Run has returned.
func (g *Wired) Close() error {
	if err := g.Sink.Close(); err != nil {
		return fmt.Errorf("close sink: %w", err)
	}
	return nil
}

// Summary is the one log line a finished gate leaves.
func (g *Wired) Summary(log *slog.Logger, rep pipeline.Report, runErr error) {
	s := g.Engine.Stats().Snapshot()
	args := []any{"accepted", s.Total.Accepted, "rejected", s.Total.Rejected, "critical", s.Total.Critical, "review", s.Total.Review,
		"dead_letter", s.Total.DeadLetter, "dropped_uncommitted", rep.Dropped, "elapsed", rep.Elapsed}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		log.Error("gate stopped", append(args, "err", runErr)...)
		return
	}
	log.Info("gate stopped", args...)
}
