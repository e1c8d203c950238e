package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qegate/qegate/internal/kafkaconn"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/pipeline"
	"github.com/qegate/qegate/pipeline/rules"
	"github.com/qegate/qegate/scorer"
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
func Build(ctx context.Context, cfg *Config, sc GateScorer, opts Options) (*Wired, error) {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	routes := cfg.Routes
	routes.RuleRejects = cfg.Rules.Route
	router := pipeline.NewRouter(routes, sc.Model())
	var reg prometheus.Registerer // a nil *Registry in an interface is not nil
	if opts.Registry != nil {
		reg = opts.Registry
	}
	m := pipeline.NewMetrics(reg)
	dec := pipeline.NewDecoder(cfg.Input)

	g := &Wired{Router: router, Metrics: m, model: sc}
	lps := LangPairs(sc, cfg.Input.LangPairs)
	var expect []string // output topics checked to exist at start-up
	var src pipeline.Source
	if opts.Files != nil {
		in := opts.Files.Input
		if in.MaxLineBytes <= 0 {
			in.MaxLineBytes = cfg.Input.WithDefaults().MaxBytes
		}
		// Check the input options before the output directory is touched.
		if _, err := source.NewFile(in, dec, log, nil); err != nil {
			return nil, err
		}
		out, start, done, err := sink.OpenOrdered(opts.Files.Output)
		if err != nil {
			return nil, err
		}
		g.Sink, g.Out, g.Start = out, out, start
		if done {
			g.AlreadyComplete = true
			return g, nil
		}
		in.Start = start
		fs, err := source.NewFile(in, dec, log, out)
		if err != nil {
			_ = out.Close()
			return nil, err
		}
		src, g.Files = fs, fs
	} else {
		if router.Templated() && len(lps) == 0 {
			log.Warn("routes use language templates but the model names no language pairs; output topics are checked as they are used")
		}
		inputs := cfg.Kafka.Topics
		if opts.Backfill != nil {
			inputs = []string{opts.Backfill.Topic}
		}
		outBrokers, outConn, err := cfg.Output()
		if err != nil {
			return nil, err
		}
		for _, w := range append(cfg.Kafka.Conn.Warnings(), outConn.Warnings()...) {
			log.Warn(w)
		}
		// Connection problems (wrong password, unknown CA, plaintext on a
		// TLS listener) end start-up with one explained line, instead of a
		// consumer group retrying them forever in the background.
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err = cfg.Kafka.Conn.Probe(pctx, cfg.Kafka.Brokers)
		cancel()
		if err != nil {
			return nil, err // explained: "kafka: authentication failed for ..."
		}
		if err := CheckTopics(ctx, cfg.Kafka.Brokers, cfg.Kafka.Conn, inputs); err != nil {
			return nil, err
		}
		if err := CheckTopics(ctx, outBrokers, outConn, router.Topics(lps)); err != nil {
			return nil, err
		}
		expect = router.Topics(lps)
		m.LimitLangPairs(lps)
		if hot, ok := sc.(*scorer.Reloading); ok {
			// A reloaded model may name new language pairs: their output
			// topics must exist before it is swapped in.
			hot.Check = func(ctx context.Context, next *scorer.Scorer) error {
				lps := LangPairs(next, cfg.Input.LangPairs)
				if err := CheckTopics(ctx, outBrokers, outConn, router.Topics(lps)); err != nil {
					return err
				}
				m.LimitLangPairs(lps)
				return nil
			}
		}
		tr, err := outConn.Transport()
		if err != nil {
			return nil, err
		}
		snk, err := sink.NewKafka(sink.KafkaConfig{Brokers: outBrokers, Transport: tr})
		if err != nil {
			return nil, err
		}
		if opts.Backfill != nil {
			bc := *opts.Backfill
			if len(bc.Brokers) == 0 {
				bc.Brokers = cfg.Kafka.Brokers
			}
			if bc.MaxFetchBytes <= 0 {
				bc.MaxFetchBytes = cfg.Kafka.MaxFetchBytes
			}
			bc.Conn = cfg.Kafka.Conn
			bf, err := source.NewBackfill(ctx, bc, dec, log)
			if err != nil {
				_ = snk.Close()
				return nil, err
			}
			src, g.Sink, g.Backfill = bf, snk, bf
		} else {
			kc := cfg.Kafka
			// The partition readers' prefetch gets half the byte budget of
			// the queue, so fetched-ahead messages are bounded in bytes too.
			kc.PrefetchBytes = cfg.Pipeline.WithDefaults().QueueBytes / 2
			kc.MaxMessageBytes = cfg.Input.WithDefaults().MaxBytes
			ks := source.NewKafka(kc, dec, m, log)
			g.kafka, g.brokers, g.conn = ks, cfg.Kafka.Brokers, cfg.Kafka.Conn
			if opts.Registry != nil {
				opts.Registry.MustRegister(ks.Collector())
			}
			src, g.Sink = ks, snk
		}
	}
	pc := cfg.Pipeline
	if pc.Workers <= 0 {
		sessions, _ := sc.PoolSize()
		pc.Workers = sessions + 1 // one more than sessions: a batch writes while the next scores
	}
	eng := pipeline.NewEngine(pc.EngineConfig, sc, router, g.Sink, m, log)
	if !cfg.Rules.Disabled {
		checker, err := rules.New(cfg.Rules)
		if err != nil {
			return nil, err
		}
		eng.Prefilter = checker
	}
	eng.ExpectTopics(expect...)
	g.Gate = &pipeline.Gate{Source: src, Engine: eng, QueueSize: pc.QueueSize, QueueBytes: pc.WithDefaults().QueueBytes, DrainTimeout: pc.DrainTimeout, Log: log}
	return g, nil
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
	args := []any{"accepted", s.Total.Accepted, "rejected", s.Total.Rejected, "review", s.Total.Review,
		"dead_letter", s.Total.DeadLetter, "dropped_uncommitted", rep.Dropped, "elapsed", rep.Elapsed}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		log.Error("gate stopped", append(args, "err", runErr)...)
		return
	}
	log.Info("gate stopped", args...)
}
