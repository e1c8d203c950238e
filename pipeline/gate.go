package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Config is the pipeline section of the configuration: batching, workers,
// the queue between source and engine, and shutdown.
type Config struct {
	EngineConfig `mapstructure:",squash"`
	// QueueSize bounds fetched-but-unbatched items, and so memory when a
	// sink stalls. Zero means 1024.
	QueueSize int `mapstructure:"queue_size"`
	// QueueBytes bounds the bytes (key + value + headers) of items between
	// the source and the sink: queued, batched, being scored or written.
	// A source blocks once they reach it, so a stalled sink leaves the
	// backlog on the broker; Kafka partition readers size their prefetch
	// from it too. One item larger than the bound is let through alone.
	// Zero means 64 MiB.
	QueueBytes int `mapstructure:"queue_bytes"`
	// DrainTimeout bounds the graceful part of shutdown. Zero means 20s.
	DrainTimeout time.Duration `mapstructure:"drain_timeout"`
}

// WithDefaults returns c with every zero value replaced by DefaultConfig's,
// except Workers, whose zero the caller sizes from the scorer. app.Load
// applies it once; NewEngine and Gate.Run read zero fields the same way.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	w := c.Workers
	c.EngineConfig = c.EngineConfig.WithDefaults()
	c.Workers = w
	c.QueueSize = positive(c.QueueSize, d.QueueSize)
	c.QueueBytes = positive(c.QueueBytes, d.QueueBytes)
	c.DrainTimeout = positive(c.DrainTimeout, d.DrainTimeout)
	return c
}

// Gate runs a source into an engine and owns the two-step shutdown:
// when stop is cancelled it stops fetching and drains (in-flight items are
// written and their offsets committed) for at most DrainTimeout; after that
// it stops the engine and reports what was left unwritten, which is not
// committed and so is redelivered on restart.
type Gate struct {
	// Source feeds the items; Run calls its Run once.
	Source Source
	// Engine scores, routes and writes them; Run runs and stops it.
	Engine *Engine
	// QueueSize, QueueBytes and DrainTimeout are Config's; a zero field
	// means DefaultConfig's value, as there.
	QueueSize    int
	QueueBytes   int
	DrainTimeout time.Duration
	// Log receives the shutdown report; nil means slog.Default().
	Log *slog.Logger
}

// Report says how a gate run ended.
type Report struct {
	// Dropped is how many fetched messages were left unwritten at the hard
	// stop; they are redelivered, never lost.
	Dropped int
	// Drained reports whether shutdown finished within DrainTimeout.
	Drained bool
	// Elapsed is the run's wall time.
	Elapsed time.Duration
}

// Run blocks until the source's input ends and everything is written, or
// stop is cancelled and shutdown completes, or the source fails to start.
func (g *Gate) Run(stop context.Context) (Report, error) {
	start := time.Now()
	log := g.Log
	if log == nil {
		log = slog.Default()
	}
	lim := Config{QueueSize: g.QueueSize, QueueBytes: g.QueueBytes, DrainTimeout: g.DrainTimeout}.WithDefaults()
	drain := lim.DrainTimeout
	queue := make(chan *Item, lim.QueueSize)
	workCtx, hardStop := context.WithCancel(context.Background())
	defer hardStop()
	engineDone := make(chan struct{})
	go func() {
		defer close(engineDone)
		g.Engine.Run(workCtx, queue)
	}()

	// A fault the engine cannot get past (a deleted output topic) stops
	// the source as a signal would: it stops fetching and commits what
	// was written; nothing after the fault was acked, so nothing is lost.
	srcStop, stopSource := context.WithCancel(stop)
	defer stopSource()
	go func() {
		select {
		case <-g.Engine.Failed():
			log.Error("gate: engine stopped for good; stopping the source", "err", g.Engine.Err())
			stopSource()
		case <-srcStop.Done():
		}
	}()
	stoppedAt := make(chan time.Time, 1)
	go func() {
		select {
		case <-srcStop.Done():
			stoppedAt <- time.Now()
		case <-engineDone:
			stoppedAt <- time.Now()
		}
	}()
	out, closeOut := admit(workCtx, newByteBudget(lim.QueueBytes), queue)
	dropped, err := g.Source.Run(srcStop, drain, out)
	closeOut()
	// The source already spent part of the drain budget; the engine gets
	// what is left of it, measured from the stop signal.
	left := drain
	select {
	case t := <-stoppedAt:
		left = drain - time.Since(t)
	default:
	}
	if left < 0 {
		left = 0
	}
	drained := true
	select {
	case <-engineDone:
	case <-time.After(left):
		drained = false
		hardStop()
		<-engineDone // an in-flight ORT call still completes; never abandoned
	}
	if ferr := g.Engine.Err(); ferr != nil {
		err = errors.Join(err, ferr)
	}
	rep := Report{Dropped: dropped, Drained: drained && dropped == 0, Elapsed: time.Since(start)}
	if dropped > 0 || !drained {
		log.Warn("gate: shutdown deadline hit; unwritten messages were not committed and will be redelivered",
			"dropped", dropped, "drain_timeout", drain)
	} else {
		log.Info("gate: drained cleanly", "elapsed", rep.Elapsed)
	}
	return rep, err
}
