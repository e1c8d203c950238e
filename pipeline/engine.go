package pipeline

import (
	"context"
	"errors"
	"fmt"
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

// WithDefaults returns c with every zero value replaced by its default.
func (c EngineConfig) WithDefaults() EngineConfig {
	if c.BatchSize <= 0 {
		c.BatchSize = 32
	}
	if c.BatchWait <= 0 {
		c.BatchWait = 10 * time.Millisecond
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 100 * time.Millisecond
	}
	if c.MissingTopicTimeout <= 0 {
		c.MissingTopicTimeout = 30 * time.Second
	}
	return c
}

// Engine scores items in micro-batches and writes each to its route.
type Engine struct {
	// Prefilter, when set (before Run), runs on every valid pair before the
	// scorer; what it rejects is never scored.
	Prefilter Prefilter

	cfg     EngineConfig
	scorer  Scorer
	router  *Router
	sink    Sink
	log     *slog.Logger
	metrics *Metrics
	stats   *Stats

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
	return &Engine{cfg: cfg.WithDefaults(), scorer: sc, router: r, sink: s, metrics: m, log: log, stats: NewStats(),
		failed: make(chan struct{})}
}

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

// batch groups items by size or deadline, whichever comes first.
func (e *Engine) batch(ctx context.Context, in <-chan *Item, out chan<- []*Item) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var cur []*Item
	flush := func() bool {
		if len(cur) == 0 {
			return true
		}
		select {
		case out <- cur:
			cur = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case it, ok := <-in:
			if !ok {
				timer.Stop()
				flush()
				return
			}
			if len(cur) == 0 {
				cur = make([]*Item, 0, e.cfg.BatchSize)
				timer.Reset(e.cfg.BatchWait)
			}
			cur = append(cur, it)
			if len(cur) >= e.cfg.BatchSize {
				timer.Stop()
				if !flush() {
					return
				}
			}
		case <-timer.C:
			if !flush() {
				return
			}
		}
	}
}

// routed pairs a record with the item it came from.
type routed struct {
	it  *Item
	rec qe.Record
	// res is the model's verdict; scored is false for dead letters and
	// rule rejections.
	res    qe.Result
	scored bool
	// rule is the prefilter rule that rejected the pair, if one did.
	rule string
	// valueDropped marks a dead letter re-sent without its value, because
	// the dead-letter topic refused it (too large) even on its own.
	valueDropped bool
	// keyDropped marks a dead letter re-sent without key and headers too.
	keyDropped bool
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

// score labels the valid items and routes every item. ok is false only on
// a hard stop.
func (e *Engine) score(ctx context.Context, items []*Item) ([]routed, bool) {
	outs := make([]routed, len(items))
	var valid []int
	for i, it := range items {
		if it.Err != nil {
			outs[i] = routed{it: it, rec: e.router.DeadLetter(it, it.Err.Error())}
			continue
		}
		if e.Prefilter != nil {
			p := it.Pair
			if v := e.Prefilter.Check(p.Src, p.MT, p.SrcLang, p.TgtLang); !v.Passed() {
				rec, err := e.router.RuleRejected(it, v)
				if err != nil {
					it.Err = &InputError{"rule verdict: " + err.Error()}
					outs[i] = routed{it: it, rec: e.router.DeadLetter(it, it.Err.Error())}
					continue
				}
				outs[i] = routed{it: it, rec: rec, rule: v.Rule}
				continue
			}
		}
		valid = append(valid, i)
	}
	if len(valid) == 0 {
		return outs, true
	}
	pairs := make([]qe.Pair, len(valid))
	for j, i := range valid {
		pairs[j] = items[i].Pair
	}
	e.metrics.BatchSize.Observe(float64(len(pairs)))
	start := time.Now()
	res, err := e.scorer.Score(ctx, pairs)
	e.metrics.ScoreTime.Observe(time.Since(start).Seconds())
	if err == nil && len(res) != len(pairs) {
		err = fmt.Errorf("scorer returned %d results for %d pairs", len(res), len(pairs))
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, false
		}
		// One bad pair must not sink its batch-mates: score one by one and
		// dead-letter only the pairs that still fail.
		e.log.Warn("batch scoring failed; retrying pair by pair", "pairs", len(pairs), "err", err)
		res = make([]qe.Result, len(pairs))
		for j := range pairs {
			r, err := e.scorer.Score(ctx, pairs[j:j+1])
			if err == nil && len(r) != 1 {
				err = errors.New("scorer returned no result")
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil, false
				}
				it := items[valid[j]]
				it.Err = &InputError{"scoring failed: " + qe.Reason(err)}
				outs[valid[j]] = routed{it: it, rec: e.router.DeadLetter(it, it.Err.Error())}
				valid[j] = -1
				continue
			}
			res[j] = r[0]
		}
	}
	for j, i := range valid {
		if i < 0 {
			continue
		}
		it := items[i]
		_, rec, err := e.router.Scored(it, res[j])
		if err != nil {
			it.Err = &InputError{"scoring failed: " + err.Error()}
			outs[i] = routed{it: it, rec: e.router.DeadLetter(it, it.Err.Error())}
			continue
		}
		outs[i] = routed{it: it, rec: rec, res: res[j], scored: true}
	}
	return outs, true
}

// write delivers every record, retrying transient failures with backoff and
// dead-lettering records a retry cannot deliver. ok is false only on a hard
// stop, in which case nothing of the batch is acked.
func (e *Engine) write(ctx context.Context, outs []routed) bool {
	pending := make([]int, len(outs))
	for i := range pending {
		pending[i] = i
	}
	backoff := e.cfg.RetryBackoff
	// missingSince is when each record's topic was first reported unknown.
	missingSince := map[int]time.Time{}
	for len(pending) > 0 {
		recs := make([]qe.Record, len(pending))
		for j, i := range pending {
			recs[j] = outs[i].rec
		}
		err := e.sink.Write(ctx, recs)
		if err == nil {
			e.markKnown(recs)
			return true
		}
		e.metrics.SinkErrors.Inc()
		if ctx.Err() != nil {
			return false
		}
		var werrs qe.WriteErrors
		if !errors.As(err, &werrs) || len(werrs) != len(pending) {
			werrs = make(qe.WriteErrors, len(pending))
			for j := range werrs {
				werrs[j] = err
			}
		}
		next := pending[:0:0]
		for j, i := range pending {
			if werrs[j] == nil {
				e.markKnown([]qe.Record{outs[i].rec})
				continue
			}
			if qe.IsMissingTopic(werrs[j]) {
				// Written alone, the error names this record's own topic
				// (kafka-go fails a whole call for one unknown topic).
				alone := e.writeAlone(ctx, outs[i].rec)
				switch {
				case alone == nil:
					e.markKnown([]qe.Record{outs[i].rec})
					delete(missingSince, i)
				case ctx.Err() != nil:
					return false
				case !qe.IsMissingTopic(alone):
					next = append(next, i) // anything else: the next round sorts it out
				default:
					if !e.missingTopic(outs, i, missingSince, alone) {
						return false
					}
					next = append(next, i)
				}
				continue
			}
			if !qe.IsPermanent(werrs[j]) {
				next = append(next, i)
				continue
			}
			// A broker rejects a whole record batch (e.g. larger than
			// message.max.bytes), failing batch-mates of the culprit too
			// (with kafka-go, records of other workers' concurrent writes):
			// confirm a permanent error on the record alone first.
			alone := e.writeAlone(ctx, outs[i].rec)
			switch {
			case alone == nil:
			case ctx.Err() != nil:
				return false
			case !qe.IsPermanent(alone):
				next = append(next, i)
			case outs[i].rec.Route != qe.RouteDeadLetter:
				reason := "cannot deliver to " + outs[i].rec.Topic + ": " + qe.Reason(alone)
				outs[i].rec = e.router.DeadLetter(outs[i].it, reason)
				next = append(next, i)
			case !outs[i].valueDropped && outs[i].rec.Value != nil:
				// The dead-letter topic refuses the original value (a message
				// the input topic accepted can exceed the dead-letter topic's
				// max.message.bytes or the writer's batch size). Retrying it
				// forever would stall the partition: keep key, headers and
				// reason, drop the value, say so.
				reason := string(outs[i].rec.Header(qe.HeaderError)) + fmt.Sprintf("; value of %d bytes dropped: ", len(outs[i].rec.Value)) + qe.Reason(alone)
				outs[i].rec = e.router.DeadLetter(outs[i].it, reason)
				outs[i].rec.Value, outs[i].rec.Input = nil, nil
				outs[i].valueDropped = true
				next = append(next, i)
			case !outs[i].keyDropped:
				// Still refused without its value: the key or the headers
				// are too large (a record's size counts all three). Keep
				// reason and position, which identify the input message.
				outs[i].rec = bareDeadLetter(outs[i].rec, alone)
				outs[i].valueDropped, outs[i].keyDropped = true, true
				next = append(next, i)
			default:
				// The dead-letter topic refuses even a bare record of a few
				// hundred bytes (not authorised, invalid): no retry changes
				// that, and retrying forever would stall the partition
				// unseen. Stop, unacked: the input is redelivered once fixed.
				e.fail(fmt.Errorf("dead-letter topic %q refuses a bare record (%s); stopping with the record unacked", outs[i].rec.Topic, qe.Reason(alone)))
				return false
			}
		}
		e.log.Warn("sink write failed; retrying", "records", len(pending), "retrying", len(next), "err", err, "backoff", backoff)
		pending = next
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		if backoff *= 2; backoff > 5*time.Second {
			backoff = 5 * time.Second
		}
	}
	return true
}

// oneWriter is a sink that can write a record in a request of its own
// (*sink.Kafka): its Write may batch records of concurrent calls together.
type oneWriter interface {
	WriteOne(ctx context.Context, rec qe.Record) error
}

// writeAlone writes rec so that an error concerns rec alone.
func (e *Engine) writeAlone(ctx context.Context, rec qe.Record) error {
	if ow, ok := e.sink.(oneWriter); ok {
		return unwrapOne(ow.WriteOne(ctx, rec))
	}
	return unwrapOne(e.sink.Write(ctx, []qe.Record{rec}))
}

// unwrapOne returns the error of a one-record Write, unwrapping the
// per-record qe.WriteErrors a sink may return.
func unwrapOne(err error) error {
	var werrs qe.WriteErrors
	if errors.As(err, &werrs) && len(werrs) == 1 {
		return werrs[0]
	}
	return err
}

// Err returns the fault that stopped the engine for good (a deleted output
// topic, a dead-letter topic that refuses everything), or nil.
func (e *Engine) Err() error {
	select {
	case <-e.failed:
		return e.failErr
	default:
		return nil
	}
}

// Failed is closed when the engine stops for good; Err says why. The gate
// then stops its source: nothing after the fault is acked, so all of it is
// redelivered once the cause is fixed.
func (e *Engine) Failed() <-chan struct{} { return e.failed }

func (e *Engine) fail(err error) {
	e.failOnce.Do(func() {
		e.failErr = err
		e.log.Error("engine: stopping: "+err.Error(), "err", err)
		close(e.failed)
	})
}

// ExpectTopics records output topics known to exist (checked at start-up):
// if one of them later disappears, the engine stops rather than
// dead-letter its traffic.
func (e *Engine) ExpectTopics(topics ...string) {
	for _, t := range topics {
		e.known.Store(t, true)
	}
}

func (e *Engine) markKnown(recs []qe.Record) {
	for _, r := range recs {
		if _, ok := e.known.Load(r.Topic); !ok {
			e.known.Store(r.Topic, true)
		}
	}
}

// missingTopic handles a record whose topic the broker does not know: keep
// retrying within MissingTopicTimeout; after it, dead-letter a record for a
// topic that never existed, or stop the engine (false) when the topic was
// known to exist or is the dead-letter topic itself.
func (e *Engine) missingTopic(outs []routed, i int, since map[int]time.Time, err error) bool {
	first, ok := since[i]
	if !ok {
		since[i] = time.Now()
		return true
	}
	if time.Since(first) < e.cfg.MissingTopicTimeout {
		return true
	}
	topic := outs[i].rec.Topic
	_, known := e.known.Load(topic)
	if known || outs[i].rec.Route == qe.RouteDeadLetter {
		e.fail(fmt.Errorf("output topic %q does not exist any more (deleted?) after %s of retries; stopping with its records unacked, so they are redelivered once it exists: %w",
			topic, e.cfg.MissingTopicTimeout, err))
		return false
	}
	reason := "cannot deliver to " + topic + ": topic does not exist"
	outs[i].rec = e.router.DeadLetter(outs[i].it, reason)
	delete(since, i)
	return true
}

// bareDeadLetter keeps only the reason and the input position of a dead
// letter, saying what was dropped.
func bareDeadLetter(rec qe.Record, cause error) qe.Record {
	hb := 0
	for _, h := range rec.Headers {
		if h.Key != qe.HeaderError && h.Key != qe.HeaderSource {
			hb += len(h.Key) + len(h.Value)
		}
	}
	reason := string(rec.Header(qe.HeaderError)) + fmt.Sprintf("; key of %d bytes and %d header bytes dropped: ", len(rec.Key), hb) + qe.Reason(cause)
	return qe.Record{Topic: rec.Topic, Seq: rec.Seq, Route: qe.RouteDeadLetter, LangPair: rec.LangPair,
		Verdict: qe.Verdict{Route: rec.Verdict.Route, Reason: reason, Source: rec.Verdict.Source},
		Headers: []qe.Header{
			{Key: qe.HeaderError, Value: []byte(reason)},
			{Key: qe.HeaderSource, Value: rec.Header(qe.HeaderSource)},
		}}
}
