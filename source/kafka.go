package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/kafkaconn"
	"github.com/qegate/qegate/internal/kafkaread"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/pipeline"
)

// KafkaConfig configures the consumer-group source: the kafka section of
// the configuration.
type KafkaConfig struct {
	// Brokers are the bootstrap addresses. Required.
	Brokers []string `mapstructure:"brokers"`
	// GroupID is the consumer group. Required.
	GroupID string `mapstructure:"group_id"`
	// Topics are the input topics. Required.
	Topics []string `mapstructure:"topics"`
	// StartOffset is where a partition with no committed offset starts:
	// "earliest" (zero value) or "latest".
	StartOffset string `mapstructure:"start_offset"`
	// CommitInterval is how often watermarks are committed. Zero means 1s.
	CommitInterval time.Duration `mapstructure:"commit_interval"`
	// RevokeTimeout bounds how long a revoked partition waits for its
	// in-flight messages before abandoning them. Zero means 10s; keep it
	// below RebalanceTimeout.
	RevokeTimeout time.Duration `mapstructure:"revoke_timeout"`
	// SessionTimeout is the group session timeout. Zero means 10s.
	SessionTimeout time.Duration `mapstructure:"session_timeout"`
	// RebalanceTimeout is how long the coordinator waits for members to
	// rejoin. Zero means 30s.
	RebalanceTimeout time.Duration `mapstructure:"rebalance_timeout"`
	// MaxFetchBytes caps one fetch response. Zero means 16 MiB; it must
	// exceed the largest input message or that message is never fetched.
	MaxFetchBytes int `mapstructure:"max_fetch_bytes"`
	// FetchMaxWait is how long a fetch waits for data. Zero means 250ms.
	FetchMaxWait time.Duration `mapstructure:"fetch_max_wait"`
	// Conn is how to connect: kafka.tls and kafka.sasl. Zero: plaintext,
	// no authentication.
	Conn kafkaconn.Config `mapstructure:",squash"`

	// PrefetchBytes bounds what the partition readers hold fetched ahead
	// of the pipeline, over all assigned partitions (kafka-go's readers
	// buffer whole messages, 100 per partition by default). Set by the
	// wiring from pipeline.queue_bytes, not a key of its own; zero leaves
	// kafka-go's 100 messages per partition.
	PrefetchBytes int `mapstructure:"-"`
	// MaxMessageBytes is the largest message the prefetch is sized for
	// (input.max_message_bytes). Zero means that key's default.
	MaxMessageBytes int `mapstructure:"-"`
}

// prefetch is how many messages each of n partition readers may buffer:
// PrefetchBytes shared by the partitions, in messages of MaxMessageBytes,
// between 1 and kafka-go's default 100.
func (c KafkaConfig) prefetch(n int) int {
	if c.PrefetchBytes <= 0 {
		return 100
	}
	msg := c.MaxMessageBytes
	if msg <= 0 {
		msg = pipeline.DefaultDecoderConfig().MaxBytes
	}
	return max(1, min(100, c.PrefetchBytes/(max(n, 1)*msg)))
}

// WithDefaults returns c with every zero duration and size replaced by
// DefaultKafkaConfig's.
func (c KafkaConfig) WithDefaults() KafkaConfig {
	d := DefaultKafkaConfig()
	c.CommitInterval = positive(c.CommitInterval, d.CommitInterval)
	c.RevokeTimeout = positive(c.RevokeTimeout, d.RevokeTimeout)
	c.SessionTimeout = positive(c.SessionTimeout, d.SessionTimeout)
	c.RebalanceTimeout = positive(c.RebalanceTimeout, d.RebalanceTimeout)
	c.MaxFetchBytes = positive(c.MaxFetchBytes, d.MaxFetchBytes)
	c.FetchMaxWait = positive(c.FetchMaxWait, d.FetchMaxWait)
	return c
}

// revokeBudget is how long a revoked partition may drain. The generation
// has ended by then, so kafka-go sends no heartbeats: a member silent for
// SessionTimeout is evicted and its commits are refused (UNKNOWN_MEMBER_ID),
// which turns every drained message into a duplicate. So the budget is
// RevokeTimeout capped at 4/5 of SessionTimeout.
func (c KafkaConfig) revokeBudget() time.Duration {
	return min(c.RevokeTimeout, c.SessionTimeout*4/5)
}

// Validate checks required fields.
func (c KafkaConfig) Validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("kafka.brokers: required")
	case c.GroupID == "":
		return errors.New("kafka.group_id: required")
	case len(c.Topics) == 0:
		return errors.New("kafka.topics: required")
	}
	switch c.StartOffset {
	case "", "earliest", "latest":
	default:
		return fmt.Errorf("kafka.start_offset: want earliest or latest, got %q", c.StartOffset)
	}
	return c.Conn.Validate()
}

// Kafka reads a consumer group's partitions, one goroutine per partition,
// and commits each partition's contiguous done watermark. It implements
// pipeline.Source; Run is called once, and InFlight and Collector are safe
// to call concurrently with it. Kafka owns its consumer group and partition
// readers and closes them before Run returns.
//
// It uses kafka-go's ConsumerGroup/Generation API rather than the group
// Reader because only the Generation gives a point, between "partition
// revoked" and "rejoin", where in-flight work can be drained and its
// offsets committed while this member still owns the partition.
type Kafka struct {
	cfg     KafkaConfig
	dec     *pipeline.Decoder
	dialer  *kafka.Dialer // set by Run before any partition starts
	log     *slog.Logger
	metrics *pipeline.Metrics

	mu       sync.Mutex
	trackers map[tp]*Tracker
	dropped  int

	// joined and assigned say whether this member is in a generation and
	// how many partitions it owns (readiness).
	joined   atomic.Bool
	assigned atomic.Int64
	gaps     *kafkaread.Gaps

	// commitMu serialises commits from the whole read of the watermarks
	// to the broker's answer: the ticker and a draining partition commit
	// concurrently, and an older watermark landing after a newer one would
	// move the committed offset back (duplicates after a restart).
	commitMu sync.Mutex
}

type tp struct {
	topic     string
	partition int
}

// NewKafka returns a consumer-group source; metrics and log may be nil.
func NewKafka(cfg KafkaConfig, dec *pipeline.Decoder, m *pipeline.Metrics, log *slog.Logger) *Kafka {
	if m == nil {
		m = pipeline.NewMetrics(nil)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Kafka{cfg: cfg.WithDefaults(), dec: dec, metrics: m, log: log, trackers: map[tp]*Tracker{}, gaps: kafkaread.NewGaps()}
}

// Run joins the group and feeds decoded items to out until stop is
// cancelled. Then it stops fetching, waits up to drain for in-flight items
// (the engine must keep running meanwhile), commits the watermarks, leaves
// the group and returns the number of messages still in flight (they are
// not committed and will be redelivered). It does not close out.
func (s *Kafka) Run(stop context.Context, drain time.Duration, out chan<- *pipeline.Item) (int, error) {
	start := kafka.FirstOffset
	if s.cfg.StartOffset == "latest" {
		start = kafka.LastOffset
	}
	dialer, err := s.cfg.Conn.Dialer(10 * time.Second)
	if err != nil {
		return 0, fmt.Errorf("kafka source: %w", err)
	}
	s.dialer = dialer
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		Dialer:            dialer,
		ID:                s.cfg.GroupID,
		Brokers:           s.cfg.Brokers,
		Topics:            s.cfg.Topics,
		StartOffset:       start,
		SessionTimeout:    s.cfg.SessionTimeout,
		RebalanceTimeout:  s.cfg.RebalanceTimeout,
		HeartbeatInterval: s.cfg.SessionTimeout / 5,
		// A new partition on an input topic triggers a rebalance.
		WatchPartitionChanges:  true,
		PartitionWatchInterval: 5 * time.Second,
		Timeout:                10 * time.Second,
		// kafka-go reports through its error logger what it retries
		// internally (lost coordinator, failed heartbeats): warn, so that
		// an operator sees it without debug logging.
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			s.log.Warn("kafka consumer group: " + fmt.Sprintf(msg, args...))
		}),
	})
	if err != nil {
		return 0, fmt.Errorf("kafka source: join group %q: %w", s.cfg.GroupID, err)
	}
	defer func() {
		if err := group.Close(); err != nil {
			s.log.Warn("kafka source: leave group", "err", err)
		}
	}()

	if b := s.cfg.revokeBudget(); b < s.cfg.RevokeTimeout {
		s.log.Warn("kafka source: revoke_timeout capped below session_timeout (no heartbeats are sent while a revoked partition drains)",
			"revoke_timeout", s.cfg.RevokeTimeout, "session_timeout", s.cfg.SessionTimeout, "effective", b)
	}
	drainCtx, cancelDrain := stopAfter(stop, drain)
	defer cancelDrain()
	for {
		gen, err := group.Next(stop)
		if err != nil {
			if stop.Err() != nil {
				break
			}
			if errors.Is(err, kafka.ErrGroupClosed) {
				return s.inFlight(), fmt.Errorf("kafka source: %w", err)
			}
			s.log.Warn("kafka source: join generation failed; retrying", "err", err)
			select {
			case <-stop.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		s.runGeneration(stop, drainCtx, gen, out)
		// runGeneration returns once every partition goroutine of this
		// generation finished, so the next Next sees the rebalance.
	}
	return s.dropped, nil
}

// stopAfter returns a context cancelled drain after stop is, or when
// cancel is called (which releases its goroutine).
func stopAfter(stop context.Context, drain time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-stop.Done():
		case <-ctx.Done():
			return
		}
		t := time.NewTimer(drain)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		cancel()
	}()
	return ctx, cancel
}

// Status reports whether this member has joined a generation of its group
// and how many partitions it owns; safe to call at any time.
func (s *Kafka) Status() (joined bool, partitions int) {
	return s.joined.Load(), int(s.assigned.Load())
}

// observeLag sets the partition's lag gauge: high watermark minus the next
// offset to commit.
func (s *Kafka) observeLag(p tp, tr *Tracker) {
	next, _ := tr.Committable()
	hwm := tr.HighWaterMark()
	if hwm < 0 {
		return
	}
	lag := hwm - next
	if lag < 0 {
		lag = 0
	}
	s.metrics.Lag.WithLabelValues(p.topic, strconv.Itoa(p.partition)).Set(float64(lag))
}

// InFlight returns how many fetched messages are not yet written.
func (s *Kafka) InFlight() int { return s.inFlight() }

// Collector exposes qegate_inflight_messages, qegate_offset_resets_total
// and qegate_offsets_skipped_total for registration.
func (s *Kafka) Collector() prometheus.Collector {
	return collectors{prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "qegate_inflight_messages", Help: "Fetched messages not yet written (committable watermark lags by these).",
	}, func() float64 { return float64(s.inFlight()) }), s.gaps.Resets, s.gaps.Skipped}
}

// collectors registers several collectors as one.
type collectors []prometheus.Collector

func (cs collectors) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range cs {
		c.Describe(ch)
	}
}

func (cs collectors) Collect(ch chan<- prometheus.Metric) {
	for _, c := range cs {
		c.Collect(ch)
	}
}

func (s *Kafka) inFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.trackers {
		n += t.InFlight()
	}
	return n
}

func (s *Kafka) runGeneration(stop, drainCtx context.Context, gen *kafka.Generation, out chan<- *pipeline.Item) {
	nparts := 0
	for _, parts := range gen.Assignments {
		nparts += len(parts)
	}
	prefetch := s.cfg.prefetch(nparts)
	var wg sync.WaitGroup
	var owned []tp
	// released closes once every partition of this generation is drained
	// and committed. kafka-go ends a generation, and with it the
	// heartbeats, as soon as any function started on it returns; on stop,
	// each one therefore holds on until released, so the member stays in
	// the group (and its final commits are accepted) however long the
	// drain takes within drain_timeout.
	released := make(chan struct{})
	hold := func(genCtx context.Context) {
		if stop.Err() == nil {
			return // revoked: the generation is over already
		}
		select {
		case <-released:
		case <-genCtx.Done():
		}
	}
	for topic, parts := range gen.Assignments {
		for _, pa := range parts {
			p := tp{topic, pa.ID}
			owned = append(owned, p)
			tr := NewTracker()
			s.mu.Lock()
			s.trackers[p] = tr
			s.mu.Unlock()
			offset := pa.Offset
			wg.Add(1)
			gen.Start(func(genCtx context.Context) {
				s.runPartition(stop, drainCtx, genCtx, gen, p, offset, prefetch, tr, out)
				wg.Done()
				hold(genCtx)
			})
		}
	}
	s.metrics.Partitions.Set(float64(len(owned)))
	s.assigned.Store(int64(len(owned)))
	s.joined.Store(true)
	defer s.joined.Store(false)
	s.log.Info("kafka source: partitions assigned", "generation", gen.ID, "partitions", len(owned))
	if len(owned) == 0 {
		// Nothing to consume (more members than partitions): idle until
		// the generation ends or we are stopped.
		done := make(chan struct{})
		gen.Start(func(genCtx context.Context) {
			defer close(done)
			select {
			case <-genCtx.Done():
			case <-stop.Done():
			}
		})
		<-done
		return
	}
	go func() {
		wg.Wait()
		close(released)
	}()
	// The committer ticks for the whole generation, drain included.
	commitDone := make(chan struct{})
	gen.Start(func(genCtx context.Context) {
		defer close(commitDone)
		t := time.NewTicker(s.cfg.CommitInterval)
		defer t.Stop()
		for {
			select {
			case <-genCtx.Done():
				return
			case <-released:
				return
			case <-t.C:
				s.commit(gen, owned)
			}
		}
	})
	<-released
	<-commitDone
}

func (s *Kafka) runPartition(stop, drainCtx, genCtx context.Context, gen *kafka.Generation, p tp, offset int64, prefetch int, tr *Tracker, out chan<- *pipeline.Item) {
	log := s.log.With("topic", p.topic, "partition", p.partition)
	fetchCtx, cancel := context.WithCancel(genCtx)
	defer cancel()
	go func() {
		select {
		case <-stop.Done():
			cancel()
		case <-fetchCtx.Done():
		}
	}()
	// Work of a revoked partition is first given RevokeTimeout to finish;
	// what is still queued after the tracker closes is abandoned unwritten.
	alive := func() bool { return !tr.Closed() }
	// The read ends with fetchCtx (stop, or the generation's end).
	err := kafkaread.Read(fetchCtx, kafkaread.Partition{
		Brokers: s.cfg.Brokers, Dialer: s.dialer, Topic: p.topic, Partition: p.partition,
		Start: offset, End: kafkaread.Unbounded, MaxBytes: s.cfg.MaxFetchBytes, MaxWait: s.cfg.FetchMaxWait,
		QueueCapacity: prefetch, Gaps: s.gaps, Log: s.log,
	}, func(m kafka.Message) error {
		s.metrics.Fetched.Inc()
		it := pipeline.NewItem(pipeline.Origin{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}, m.Key, m.Value, headers(m.Headers), tr.Add(m.Offset), alive)
		it.Time = m.Time
		tr.SetHighWaterMark(m.HighWaterMark)
		s.observeLag(p, tr)
		s.dec.Decode(it)
		select {
		case out <- it:
			return nil
		case <-fetchCtx.Done():
			tr.Cancel(m.Offset)
			return fetchCtx.Err()
		}
	})
	if err != nil && fetchCtx.Err() == nil {
		log.Error("kafka source: read", "err", err)
	}
	// Still the owner (the generation waits for us): finish what is in
	// flight, bounded, then commit while the commit is still accepted.
	deadline := drainCtx
	if stop.Err() == nil {
		var c context.CancelFunc
		deadline, c = context.WithTimeout(context.Background(), s.cfg.revokeBudget())
		defer c()
	}
	select {
	case <-tr.Idle():
	case <-deadline.Done():
	}
	s.commit(gen, []tp{p})
	n := tr.Close()
	s.mu.Lock()
	if s.trackers[p] == tr {
		delete(s.trackers, p)
	}
	s.dropped += n
	s.mu.Unlock()
	s.metrics.Lag.DeleteLabelValues(p.topic, strconv.Itoa(p.partition))
	if n > 0 {
		log.Warn("kafka source: partition released with messages in flight; they will be redelivered", "in_flight", n)
	} else {
		log.Info("kafka source: partition released", "revoked", stop.Err() == nil)
	}
}

// commit commits the watermarks of the given partitions that advanced.
func (s *Kafka) commit(gen *kafka.Generation, parts []tp) {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	offsets := map[string]map[int]int64{}
	var trs []*Tracker
	var nexts []int64
	s.mu.Lock()
	for _, p := range parts {
		tr := s.trackers[p]
		if tr == nil {
			continue
		}
		next, adv := tr.Committable()
		if !adv {
			continue
		}
		if offsets[p.topic] == nil {
			offsets[p.topic] = map[int]int64{}
		}
		offsets[p.topic][p.partition] = next
		trs = append(trs, tr)
		nexts = append(nexts, next)
	}
	s.mu.Unlock()
	if len(offsets) == 0 {
		return
	}
	if err := gen.CommitOffsets(offsets); err != nil {
		s.log.Warn("kafka source: commit failed; will retry (duplicates possible if the partition moves)", "err", err)
		return
	}
	for i, tr := range trs {
		tr.MarkCommitted(nexts[i])
	}
	for _, p := range parts {
		s.mu.Lock()
		tr := s.trackers[p]
		s.mu.Unlock()
		if tr != nil {
			s.observeLag(p, tr)
		}
	}
	for topic, ps := range offsets {
		for part, next := range ps {
			s.metrics.Committed.WithLabelValues(topic, strconv.Itoa(part)).Set(float64(next))
		}
	}
}

func headers(hs []kafka.Header) []qe.Header {
	if len(hs) == 0 {
		return nil
	}
	out := make([]qe.Header, len(hs))
	for i, h := range hs {
		out[i] = qe.Header{Key: h.Key, Value: h.Value}
	}
	return out
}
