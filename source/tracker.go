package source

import (
	"sort"
	"sync"
)

// Tracker follows one partition's in-flight offsets and yields the
// contiguous done watermark: the highest offset at or below which every
// fetched message has been written by its sink. Only that watermark may be
// committed: kafka commits are a single number per partition, so committing
// a later offset that finished first would silently skip the earlier,
// unfinished ones on restart (the loss Redpanda Connect's checkpointer
// exists to prevent).
//
// Offsets must be added in increasing order (the fetch order); they need not
// be consecutive, because compaction and transaction markers leave gaps.
type Tracker struct {
	mu      sync.Mutex
	pending []trackEntry // fetched, in offset order; head trimmed as it completes
	done    int64        // highest contiguous done offset; -1 before any
	commit  int64        // highest offset handed to a committer; -1 before any
	closed  bool
	idle    chan struct{} // closed and replaced when pending drains to empty
	hwm     int64         // the partition's high watermark as last fetched; -1 before any
}

type trackEntry struct {
	offset int64
	done   bool
}

// NewTracker returns a tracker for a partition whose next fetch starts at a
// committed position; nothing is committable until a message completes.
func NewTracker() *Tracker {
	return &Tracker{done: -1, commit: -1, hwm: -1, idle: make(chan struct{})}
}

// Add registers a fetched offset as in flight and returns the ack that
// marks it done. The ack is idempotent and safe after Close (it becomes a
// no-op, since the partition belongs to someone else by then).
func (t *Tracker) Add(offset int64) func() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return func() {}
	}
	if n := len(t.pending); n > 0 && t.pending[n-1].offset >= offset {
		// Out-of-order add is a caller bug; refuse to track it rather than
		// corrupt the watermark. The message is then never committed past,
		// which is safe (redelivery), not lossy.
		return func() {}
	}
	t.pending = append(t.pending, trackEntry{offset: offset})
	var once sync.Once
	return func() { once.Do(func() { t.markDone(offset) }) }
}

// Cancel forgets the most recently added offset, for a message that was
// fetched but never handed to the pipeline (shutdown or revocation raced
// the enqueue). It will be fetched again by whoever owns the partition next.
func (t *Tracker) Cancel(offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.pending); n > 0 && t.pending[n-1].offset == offset && !t.pending[n-1].done {
		t.pending = t.pending[:n-1]
		t.signalIdleLocked()
	}
}

func (t *Tracker) markDone(offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	i := sort.Search(len(t.pending), func(i int) bool { return t.pending[i].offset >= offset })
	if i == len(t.pending) || t.pending[i].offset != offset {
		return
	}
	t.pending[i].done = true
	// Advance over the done prefix.
	j := 0
	for j < len(t.pending) && t.pending[j].done {
		t.done = t.pending[j].offset
		j++
	}
	if j > 0 {
		// Copy down rather than reslice forever, so the backing array does
		// not grow without bound on a long-lived partition.
		n := copy(t.pending, t.pending[j:])
		t.pending = t.pending[:n]
		t.signalIdleLocked()
	}
}

func (t *Tracker) signalIdleLocked() {
	if len(t.pending) == 0 {
		close(t.idle)
		t.idle = make(chan struct{})
	}
}

// Committable returns the offset to commit (watermark + 1, the next offset
// to read, as Kafka expects) and whether it advanced since the last
// MarkCommitted.
func (t *Tracker) Committable() (next int64, advanced bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.done + 1, t.done > t.commit
}

// MarkCommitted records that the watermark up to next-1 was committed.
func (t *Tracker) MarkCommitted(next int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if next-1 > t.commit {
		t.commit = next - 1
	}
}

// InFlight returns how many fetched messages are not yet done, counting
// done ones stuck behind an unfinished earlier offset.
func (t *Tracker) InFlight() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}

// Idle returns a channel closed the next time nothing is in flight; when
// nothing is in flight now, the returned channel is already closed.
func (t *Tracker) Idle() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	return t.idle
}

// SetHighWaterMark records the partition's high watermark (the offset
// after its last message) as a fetch reported it, for the lag metric.
func (t *Tracker) SetHighWaterMark(hwm int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if hwm > t.hwm {
		t.hwm = hwm
	}
}

// HighWaterMark returns the last recorded high watermark, -1 before any.
func (t *Tracker) HighWaterMark() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.hwm
}

// Closed reports whether Close was called: the partition is no longer ours.
func (t *Tracker) Closed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// Close discards the tracker: later acks are ignored. It returns how many
// messages were still in flight (they will be redelivered to the next
// owner of the partition).
func (t *Tracker) Close() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	n := len(t.pending)
	t.pending = nil
	return n
}
