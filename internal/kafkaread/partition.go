package kafkaread

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// Isolation is the one isolation level every partition read and every end
// offset uses: records of a transaction still open are not read (a read
// stops at the last stable offset until the transaction ends), so what
// the live gate waits for, a backfill or an audit does not read early.
// kafka-go does not filter the records of aborted transactions, nor hide
// transaction markers: they are delivered as messages (README, "Delivery
// guarantees").
const Isolation = kafka.ReadCommitted

// Unbounded as a Partition's End reads until the context ends.
const Unbounded int64 = math.MaxInt64

// Partition is one partition's range of offsets to read, and how.
type Partition struct {
	// Brokers are the bootstrap addresses; Dialer connects to them (TLS,
	// SASL). Required.
	Brokers []string
	Dialer  *kafka.Dialer
	// Topic and Partition name the partition. Required.
	Topic     string
	Partition int
	// Start is the first offset to read, or kafka.FirstOffset /
	// kafka.LastOffset (a consumer group's partition with no committed
	// offset).
	Start int64
	// End is the offset the read stops before; Unbounded reads until the
	// context ends.
	End int64
	// MaxBytes caps one fetch response. Zero means 16 MiB.
	MaxBytes int
	// MaxWait is how long a fetch waits for data. Zero means 250ms.
	MaxWait time.Duration
	// QueueCapacity is how many fetched messages the reader buffers ahead
	// of fn. Zero means kafka-go's 100.
	QueueCapacity int
	// IdleCheck is how long a bounded read may receive nothing before it
	// compares its position with End: a range that ends in transaction
	// markers or aborted records has no message at its last offsets. Zero
	// means 5s.
	IdleCheck time.Duration
	// Gaps, when set, counts offsets the partition never delivered.
	Gaps *Gaps
	// Log receives retries, gaps and kafka-go's own errors; nil means
	// slog.Default().
	Log *slog.Logger
}

// retryBackoff is the wait before a failed fetch is tried again: long
// enough not to spin on a broker that is down, short against the
// seconds a leader election takes.
const retryBackoff = 500 * time.Millisecond

// Read reads p's range in offset order and calls fn with each message, on
// the calling goroutine, once per offset. A failed fetch is logged and retried until ctx
// ends. Read returns nil once the partition reached End, fn's error if fn
// fails, and otherwise, when ctx ends first, an error that wraps ctx's and
// says where the read stood.
func Read(ctx context.Context, p Partition, fn func(kafka.Message) error) error {
	if p.MaxBytes <= 0 {
		p.MaxBytes = 16 << 20
	}
	if p.MaxWait <= 0 {
		p.MaxWait = 250 * time.Millisecond
	}
	if p.IdleCheck <= 0 {
		p.IdleCheck = 5 * time.Second
	}
	if p.Log == nil {
		p.Log = slog.Default()
	}
	if p.End <= p.Start && p.Start >= 0 {
		return nil
	}
	log := p.Log.With("topic", p.Topic, "partition", p.Partition)
	part := strconv.Itoa(p.Partition)
	r := kafka.NewReader(kafka.ReaderConfig{
		Dialer:         p.Dialer,
		Brokers:        p.Brokers,
		Topic:          p.Topic,
		Partition:      p.Partition,
		MinBytes:       1,
		MaxBytes:       p.MaxBytes,
		MaxWait:        p.MaxWait,
		IsolationLevel: Isolation,
		QueueCapacity:  p.QueueCapacity,
		// Warn, not debug: this is where kafka-go says it skipped offsets
		// (an offset reset after retention deleted them) or keeps failing
		// to reach a leader.
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			line := fmt.Sprintf(msg, args...)
			if strings.Contains(line, "skipping from offset") && p.Gaps != nil {
				p.Gaps.Resets.WithLabelValues(p.Topic, part).Inc()
			}
			log.Warn("kafka reader: " + line)
		}),
	})
	defer r.Close()
	if err := r.SetOffset(p.Start); err != nil {
		return fmt.Errorf("kafkaread: %s/%d: set offset %d: %w", p.Topic, p.Partition, p.Start, err)
	}
	// next is the offset the partition should deliver next (-1: unknown,
	// before the first message of a partition read from its first or last
	// offset).
	next := max(p.Start, -1)
	var lastErr error
	for {
		fetchCtx, cancel := ctx, context.CancelFunc(func() {})
		if p.End != Unbounded {
			fetchCtx, cancel = context.WithTimeout(ctx, p.IdleCheck)
		}
		m, err := r.FetchMessage(fetchCtx)
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("kafkaread: %s/%d at offset %d of [%d,%s): %w", p.Topic, p.Partition, next, p.Start, endText(p.End), errors.Join(ctx.Err(), lastErr))
		}
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				if r.Offset() >= p.End {
					return nil
				}
				log.Info("kafkaread: waiting for messages", "next", next, "end", p.End)
				continue
			}
			lastErr = err
			log.Warn("kafkaread: fetch failed; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(retryBackoff):
			}
			continue
		}
		if m.Offset >= p.End {
			return nil
		}
		switch {
		case next >= 0 && m.Offset < next:
			// Already delivered: kafka-go's reader can fetch a batch again
			// after a failed fetch (an i/o timeout on a loaded broker); a
			// second copy would be scored and written twice.
			log.Debug("kafkaread: message delivered again by the client; dropped", "offset", m.Offset, "next", next)
			continue
		case next >= 0 && m.Offset > next:
			p.Gaps.skipped(log, p.Topic, part, p.Start, next, m.Offset)
		}
		next = m.Offset + 1
		if err := fn(m); err != nil {
			return err
		}
		if next >= p.End {
			return nil
		}
	}
}

func endText(end int64) string {
	if end == Unbounded {
		return "∞"
	}
	return strconv.FormatInt(end, 10)
}

// Gaps counts offsets a partition never delivered, as
// qegate_offset_resets_total and qegate_offsets_skipped_total.
type Gaps struct {
	// Resets counts reads that resumed past their start (committed)
	// offset because the offsets were gone.
	Resets *prometheus.CounterVec
	// Skipped counts the offsets never delivered.
	Skipped *prometheus.CounterVec
}

// NewGaps returns unregistered counters, labelled by topic and partition.
func NewGaps() *Gaps {
	return &Gaps{
		Resets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qegate_offset_resets_total", Help: "Times a partition's reading resumed past its committed or current offset because those offsets were gone (retention).",
		}, []string{"topic", "partition"}),
		Skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qegate_offsets_skipped_total", Help: "Input offsets never delivered: deleted by retention before being read, or compacted.",
		}, []string{"topic", "partition"}),
	}
}

// skipped records that offsets [next, got) were never delivered: deleted
// by retention before they were read (an offset reset) or compacted away.
// Counted and, when more than one, logged: a reset is silent data loss
// upstream of the gate. A nil Gaps only logs.
func (g *Gaps) skipped(log *slog.Logger, topic, part string, start, next, got int64) {
	gap := got - next
	reset := next == start && gap > 1
	if g != nil {
		g.Skipped.WithLabelValues(topic, part).Add(float64(gap))
		if reset {
			g.Resets.WithLabelValues(topic, part).Inc()
		}
	}
	switch {
	case reset:
		// The first message after the start offset is further on: the
		// position is gone (kafka-go clamps the start to the log start
		// offset without a word).
		log.Warn("kafkaread: offset reset: the start (committed) offset no longer exists (deleted by retention?); resumed further on",
			"start", start, "resumed_at", got, "skipped", gap)
	case gap > 1:
		log.Warn("kafkaread: offsets skipped (deleted by retention, or compacted)", "from", next, "to", got-1, "count", gap)
	}
}

// Collectors returns the counters for registration.
func (g *Gaps) Collectors() []prometheus.Collector {
	return []prometheus.Collector{g.Resets, g.Skipped}
}
