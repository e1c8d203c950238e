package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/kafkaconn"
	"github.com/qegate/qegate/internal/kafkaread"
	"github.com/qegate/qegate/pipeline"
)

// BackfillConfig is a bounded read of one topic: re-scoring history after
// a model or threshold change.
type BackfillConfig struct {
	// Brokers are the bootstrap addresses. Required.
	Brokers []string
	// Conn is how to connect (kafka.tls, kafka.sasl); zero: plaintext.
	Conn kafkaconn.Config
	// Topic is the topic to read. Required.
	Topic string
	// From is where each partition starts: "earliest" (also the zero
	// value), an RFC 3339 time (the first offset whose timestamp is at or
	// after it, by the broker's offset-for-time lookup), or
	// "partition:offset,..." (only the partitions named are read).
	From string
	// To is where each partition ends, exclusively: "now" or "latest"
	// (also the zero value: the end offsets when the backfill starts, so
	// messages produced during it are not read; with read_committed, the
	// last stable offsets, so records of a transaction still open are
	// not read either), an RFC 3339 time (the
	// first offset at or after it is not read), or "partition:offset,..."
	// (the offset given is not read; only the partitions named are read).
	To string
	// MaxFetchBytes caps one fetch response. Zero means kafka.max_fetch_bytes'
	// default (DefaultKafkaConfig).
	MaxFetchBytes int
	// FetchMaxWait is how long a fetch waits for data. Zero means
	// kafka.fetch_max_wait's default (DefaultKafkaConfig).
	FetchMaxWait time.Duration
	// IdleCheck is how long a partition may receive nothing before its
	// reader's position is compared with the bound again (a range that
	// ends in transaction markers has no message at its last offsets).
	// Zero means 5s.
	IdleCheck time.Duration
}

// withDefaults fills the zero fields: the fetch sizes as the live source's
// (DefaultKafkaConfig), IdleCheck 5s, which is twenty of those fetch waits
// and short against a backfill's minutes.
func (c BackfillConfig) withDefaults() BackfillConfig {
	d := DefaultKafkaConfig()
	c.MaxFetchBytes = positive(c.MaxFetchBytes, d.MaxFetchBytes)
	c.FetchMaxWait = positive(c.FetchMaxWait, d.FetchMaxWait)
	if c.IdleCheck <= 0 {
		c.IdleCheck = 5 * time.Second
	}
	return c
}

// PartitionRange is one partition's resolved range [Start, End).
type PartitionRange struct {
	Partition  int   `json:"partition"`
	Start, End int64 `json:"-"`
	// Next is the next offset to read; Start <= Next <= End.
	Next int64 `json:"next"`
}

// Backfill reads an exact offset range of every partition of one topic
// with plain partition readers (kafkaread.Read, read_committed like the
// live source: a record of a transaction still open is read only once the
// transaction commits): it joins no consumer group and commits nothing, so it never touches the live gate's group, and it ends by
// itself once every partition reaches its bound and every message read is
// written. Items carry the same origin (and so the same qe-source header)
// as the live gate's, so downstream deduplication works across reruns.
//
// It implements pipeline.Source; Ranges, Total, Fed and Complete may be
// called concurrently with Run.
type Backfill struct {
	cfg    BackfillConfig
	dec    *pipeline.Decoder
	log    *slog.Logger
	ranges []PartitionRange
	next   []atomic.Int64
	fed    atomic.Int64
}

// NewBackfill resolves cfg's bounds against the brokers (a bad bound or a
// missing topic fails now, before anything is read); log may be nil.
func NewBackfill(ctx context.Context, cfg BackfillConfig, dec *pipeline.Decoder, log *slog.Logger) (*Backfill, error) {
	if log == nil {
		log = slog.Default()
	}
	if len(cfg.Brokers) == 0 || cfg.Topic == "" {
		return nil, errors.New("source: backfill: brokers and topic are required")
	}
	cfg = cfg.withDefaults()
	from, err := ParseBound(cfg.From, true)
	if err != nil {
		return nil, err
	}
	to, err := ParseBound(cfg.To, false)
	if err != nil {
		return nil, err
	}
	ranges, err := resolve(ctx, cfg.Brokers, cfg.Conn, cfg.Topic, from, to)
	if err != nil {
		return nil, err
	}
	b := &Backfill{cfg: cfg, dec: dec, log: log, ranges: ranges, next: make([]atomic.Int64, len(ranges))}
	for i, r := range ranges {
		b.next[i].Store(r.Start)
	}
	return b, nil
}

// Bound is a parsed --from or --to.
type Bound struct {
	// Kind is "earliest", "latest", "time" or "offsets".
	Kind string
	// Time is the bound of Kind "time".
	Time time.Time
	// Offsets are the per-partition offsets of Kind "offsets".
	Offsets map[int]int64
}

// ParseBound parses a --from (start true) or --to value; see
// BackfillConfig.
func ParseBound(s string, start bool) (Bound, error) {
	name := "--to"
	if start {
		name = "--from"
	}
	switch s {
	case "":
		if start {
			return Bound{Kind: "earliest"}, nil
		}
		return Bound{Kind: "latest"}, nil
	case "earliest":
		if !start {
			return Bound{}, fmt.Errorf("source: backfill: %s earliest: an empty range; want now, a time or partition:offset", name)
		}
		return Bound{Kind: "earliest"}, nil
	case "now", "latest":
		if start {
			return Bound{}, fmt.Errorf("source: backfill: %s %s: an empty range; want earliest, a time or partition:offset", name, s)
		}
		return Bound{Kind: "latest"}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return Bound{Kind: "time", Time: t}, nil
	}
	offs := map[int]int64{}
	for _, part := range strings.Split(s, ",") {
		p, o, ok := strings.Cut(strings.TrimSpace(part), ":")
		pi, err1 := strconv.Atoi(p)
		oi, err2 := strconv.ParseInt(o, 10, 64)
		if !ok || err1 != nil || err2 != nil || pi < 0 || oi < 0 {
			return Bound{}, fmt.Errorf("source: backfill: %s %q: want earliest/now, an RFC 3339 time (2026-11-30T00:00:00Z) or partition:offset,... (0:1200,1:1180)", name, s)
		}
		if _, dup := offs[pi]; dup {
			return Bound{}, fmt.Errorf("source: backfill: %s %q: partition %d given twice", name, s, pi)
		}
		offs[pi] = oi
	}
	return Bound{Kind: "offsets", Offsets: offs}, nil
}

// resolve turns bounds into per-partition offset ranges, clamped to what
// the partitions hold.
func resolve(ctx context.Context, brokers []string, conn kafkaconn.Config, topic string, from, to Bound) ([]PartitionRange, error) {
	tr, err := conn.Transport()
	if err != nil {
		return nil, fmt.Errorf("source: backfill: %w", err)
	}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second, Transport: tr}
	tb, err := kafkaread.Bounds(ctx, client, topic)
	if err != nil {
		return nil, fmt.Errorf("source: backfill: %w", err)
	}
	parts, first, last := tb.Partitions, tb.First, tb.Last
	exists := map[int]bool{}
	for _, p := range parts {
		exists[p] = true
	}
	// Named partitions restrict the range to them.
	for _, b := range []Bound{from, to} {
		if b.Kind != "offsets" {
			continue
		}
		var named []int
		for p := range b.Offsets {
			if !exists[p] {
				return nil, fmt.Errorf("source: backfill: topic %s has no partition %d", topic, p)
			}
			named = append(named, p)
		}
		sort.Ints(named)
		parts = intersect(parts, named)
	}
	if from.Kind == "offsets" && to.Kind == "offsets" {
		for p := range from.Offsets {
			if _, ok := to.Offsets[p]; !ok || len(from.Offsets) != len(to.Offsets) {
				return nil, errors.New("source: backfill: --from and --to name different partitions")
			}
		}
	}
	at := func(b Bound, fallback map[int]int64) (map[int]int64, error) {
		switch b.Kind {
		case "earliest":
			return first, nil
		case "latest":
			return last, nil
		case "offsets":
			return b.Offsets, nil
		}
		// The broker's offset-for-time lookup: the first offset whose
		// timestamp is at or after b.Time; none (-1) means past the end.
		var reqs []kafka.OffsetRequest
		for _, p := range parts {
			reqs = append(reqs, kafka.TimeOffsetOf(p, b.Time))
		}
		res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}, IsolationLevel: kafkaread.Isolation})
		if err != nil {
			return nil, fmt.Errorf("source: backfill: offsets for time %s: %w", b.Time.Format(time.RFC3339), err)
		}
		out := map[int]int64{}
		for _, po := range res.Topics[topic] {
			if po.Error != nil {
				return nil, fmt.Errorf("source: backfill: offsets for time %s/%d: %w", topic, po.Partition, po.Error)
			}
			out[po.Partition] = fallback[po.Partition]
			for o := range po.Offsets {
				if o >= 0 {
					out[po.Partition] = o
				}
			}
		}
		return out, nil
	}
	starts, err := at(from, last)
	if err != nil {
		return nil, err
	}
	ends, err := at(to, last)
	if err != nil {
		return nil, err
	}
	out := make([]PartitionRange, 0, len(parts))
	for _, p := range parts {
		s, e := max(starts[p], first[p]), min(ends[p], last[p])
		if e < s {
			e = s
		}
		out = append(out, PartitionRange{Partition: p, Start: s, End: e, Next: s})
	}
	return out, nil
}

func intersect(a, b []int) []int {
	in := map[int]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []int
	for _, x := range a {
		if in[x] {
			out = append(out, x)
		}
	}
	return out
}

// Ranges returns the resolved ranges, with how far each partition has got.
func (b *Backfill) Ranges() []PartitionRange {
	out := append([]PartitionRange(nil), b.ranges...)
	for i := range out {
		out[i].Next = b.next[i].Load()
	}
	return out
}

// Total is how many offsets the ranges span (compaction gaps included).
func (b *Backfill) Total() int64 {
	var n int64
	for _, r := range b.ranges {
		n += r.End - r.Start
	}
	return n
}

// Fed is how many messages were handed to the pipeline.
func (b *Backfill) Fed() int64 { return b.fed.Load() }

// Complete reports whether every partition reached its bound.
func (b *Backfill) Complete() bool {
	for i, r := range b.ranges {
		if b.next[i].Load() < r.End {
			return false
		}
	}
	return true
}

// Run reads every partition's range concurrently, then waits until every
// message read is acked (on stop: at most drain). It returns how many were
// left unacked; they are not lost, only unwritten: a rerun of the same
// range writes them (with the same qe-source).
func (b *Backfill) Run(stop context.Context, drain time.Duration, out chan<- *pipeline.Item) (int, error) {
	var wg sync.WaitGroup
	trackers := make([]*Tracker, len(b.ranges))
	errs := make([]error, len(b.ranges))
	for i, r := range b.ranges {
		trackers[i] = NewTracker()
		if r.Start >= r.End {
			continue
		}
		wg.Add(1)
		go func(i int, r PartitionRange) {
			defer wg.Done()
			errs[i] = b.readPartition(stop, i, r, trackers[i], out)
		}(i, r)
	}
	wg.Wait()
	deadline, cancel := stopAfter(stop, drain)
	defer cancel()
	dropped := 0
	for _, tr := range trackers {
		select {
		case <-tr.Idle():
		case <-deadline.Done():
		}
		dropped += tr.Close()
	}
	return dropped, errors.Join(errs...)
}

func (b *Backfill) readPartition(stop context.Context, i int, pr PartitionRange, tr *Tracker, out chan<- *pipeline.Item) error {
	dialer, err := b.cfg.Conn.Dialer(10 * time.Second)
	if err != nil {
		return fmt.Errorf("source: backfill: %w", err)
	}
	p := kafkaread.Partition{
		Brokers: b.cfg.Brokers, Dialer: dialer, Topic: b.cfg.Topic, Partition: pr.Partition,
		Start: pr.Start, End: pr.End, MaxBytes: b.cfg.MaxFetchBytes, MaxWait: b.cfg.FetchMaxWait,
		IdleCheck: b.cfg.IdleCheck, Log: b.log,
	}
	err = kafkaread.Read(stop, p, func(m kafka.Message) error {
		it := pipeline.NewItem(pipeline.Origin{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}, m.Key, m.Value, headers(m.Headers), tr.Add(m.Offset), nil)
		b.dec.Decode(it)
		select {
		case out <- it:
			b.fed.Add(1)
			b.next[i].Store(m.Offset + 1)
			return nil
		case <-stop.Done():
			tr.Cancel(m.Offset)
			return stop.Err()
		}
	})
	if stop.Err() != nil {
		return nil // stopped: Run reports what was left unwritten
	}
	if err != nil {
		return fmt.Errorf("source: backfill: %w", err)
	}
	b.next[i].Store(pr.End)
	return nil
}
