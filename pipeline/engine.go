package pipeline

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/qegate/qegate/internal/qe"
)

// Scorer labels translation pairs; *scorer.Scorer implements it. Score
// returns one result per pair, in order, and is called from several
// workers at once, so it must be safe for concurrent use. An error fails
// the whole call; the engine then re-scores the pairs one by one so that
// only the pair at fault is dead-lettered.
type Scorer interface {
	Score(ctx context.Context, pairs []qe.Pair) ([]qe.Result, error)
}

// Sink is where routed records go. Write returns nil only once every record
// is durable; on error it may return qe.WriteErrors to say which failed,
// marking those no retry can deliver with qe.PermanentError. Write is
// called from several workers at once. The engine never calls Close: the
// owner of the sink closes it after the engine has stopped.
type Sink interface {
	Write(ctx context.Context, recs []qe.Record) error
	Close() error
}

// EngineConfig sizes the batching and worker stages.
type EngineConfig struct {
	// BatchSize is the most pairs per scorer call. Zero means 32.
	BatchSize int `mapstructure:"batch_size"`
	// BatchWait is how long a partial batch waits for more pairs. Zero
	// means 10ms: long enough to fill batches under load, short enough to
	// keep batch-1 latency low when idle.
	BatchWait time.Duration `mapstructure:"batch_wait"`
	// Workers is how many batches are scored and written concurrently.
	// Zero means 2 (one scoring while another writes).
	Workers int `mapstructure:"workers"`
	// RetryBackoff is the first wait after a failed sink write; it doubles
	// up to 5s. Zero means 100ms.
	RetryBackoff time.Duration `mapstructure:"retry_backoff"`
	// MissingTopicTimeout is how long a record whose topic the broker does
	// not know is retried (metadata of a just-created topic lags). After
	// it, a record for a topic that existed (checked at start-up or written
	// before) stops the gate with an error, since the topic was deleted and
	// dead-lettering its whole traffic would hide that; a record for a
	// topic that never existed is dead-lettered. Zero means 30s.
	MissingTopicTimeout time.Duration `mapstructure:"missing_topic_timeout"`
}

// WithDefaults returns c with every zero value replaced by DefaultConfig's
// (Workers: 2, one batch scoring while another writes).
func (c EngineConfig) WithDefaults() EngineConfig {
	d := engineDefaults()
	c.BatchSize = positive(c.BatchSize, d.BatchSize)
	c.BatchWait = positive(c.BatchWait, d.BatchWait)
	c.Workers = positive(c.Workers, d.Workers)
	c.RetryBackoff = positive(c.RetryBackoff, d.RetryBackoff)
	c.MissingTopicTimeout = positive(c.MissingTopicTimeout, d.MissingTopicTimeout)
	return c
}

// Engine scores items in micro-batches and writes each to its route.
type Engine struct {
	// Prefilter, when set (before Run), runs on every valid pair before the
	// scorer; what it rejects is never scored.
	Prefilter Prefilter

	cfg      EngineConfig
	segments SegmentConfig
	scorer   Scorer
	router   *Router
	sink     Sink
	log      *slog.Logger
	metrics  *Metrics
	stats    *Stats

	// known holds the output topics known to exist: checked at start-up
	// (ExpectTopics) or written to by this engine.
	known sync.Map
	// failed is closed once a fault no retry can fix stops the engine.
	failed   chan struct{}
	failOnce sync.Once
	failErr  error
}

// NewEngine wires an engine. metrics and log may be nil.
func NewEngine(cfg EngineConfig, sc Scorer, r *Router, s Sink, m *Metrics, log *slog.Logger) *Engine {
	if m == nil {
		m = NewMetrics(nil)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Engine{cfg: cfg.WithDefaults(), segments: SegmentConfig{}.WithDefaults(), scorer: sc, router: r, sink: s, metrics: m, log: log, stats: NewStats(),
		failed: make(chan struct{})}
}

// SetSegments sets how long inputs are cut into sentence pieces (before
// Run; the zero SegmentConfig, the default, applies otherwise).
func (e *Engine) SetSegments(c SegmentConfig) { e.segments = c.WithDefaults() }

// Stats returns the engine's routing counters.
func (e *Engine) Stats() *Stats { return e.stats }

// Run consumes in until it is closed and every item is written, or until
// ctx is cancelled (the hard stop: unwritten items stay unacked, so they
// are redelivered). It never abandons an in-flight scorer call.
func (e *Engine) Run(ctx context.Context, in <-chan *Item) {
	batches := make(chan []*Item, e.cfg.Workers)
	var wg sync.WaitGroup
	for i := 0; i < e.cfg.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				e.process(ctx, b)
			}
		}()
	}
	e.batch(ctx, in, batches)
	close(batches)
	wg.Wait()
}

func (e *Engine) process(ctx context.Context, batch []*Item) {
	defer func() {
		for _, it := range batch {
			it.done()
		}
	}()
	if e.Err() != nil {
		return // stopped for good: nothing more is written or acked
	}
	live := batch[:0:0]
	for _, it := range batch {
		if it.Alive() {
			live = append(live, it)
		} else {
			e.metrics.Abandoned.Inc()
			e.stats.abandon()
		}
	}
	if len(live) == 0 {
		return
	}
	outs, ok := e.score(ctx, live)
	if !ok {
		return
	}
	start := time.Now()
	if !e.write(ctx, outs) {
		return
	}
	e.metrics.WriteTime.Observe(time.Since(start).Seconds())
	now := time.Now()
	for _, o := range outs {
		lp := ""
		if o.it.Err == nil {
			// The metrics' label (Metrics.LimitLangPairs): a language
			// code a sender invents is "other", in stats as in metrics.
			lp = e.metrics.langLabel(o.it.Pair.LangPair())
		}
		e.stats.add(lp, o.rec.Route)
		e.metrics.observe(o, lp, now)
		o.it.Ack()
	}
}
