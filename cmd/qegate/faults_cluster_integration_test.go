//go:build integration && faults

// Scenarios 8-12 of the fault suite: a paused (zombie) member, large keys
// and headers, a model that outputs NaN, an output topic deleted mid-run
// and a stalled sink under 100 kB messages with a byte-bounded queue.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/kafkaread"
	"github.com/qegate/qegate/internal/kafkatest"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/internal/testutil"
)

// Scenario 8: two replicas; one is paused with SIGSTOP for three session
// timeouts (a GC pause, a frozen VM), so the group evicts it and its
// partitions move to the other; then it is resumed. The zombie still holds
// fetched work: it may write it (duplicates), but its commits belong to a
// dead generation and must be refused, so the group's committed offsets
// never move back over what its successor committed.
func (c *scenario) runZombie() {
	c.res.Fault = "2 replicas; one SIGSTOPped for 9s (session_timeout 3s) mid-stream and resumed; committed offsets sampled for regressions"
	c.createTopics(4)
	c.extraKafka = "  session_timeout: 3s"
	c.extraPipeline = "  queue_size: 256"
	wait := c.produceAsync(c.goodMessages(0, c.s.n), max(c.s.n/20, 100))
	a, b := c.start(), c.start()
	c.waitCommitted(int64(c.s.n/4), 4*time.Minute)
	// Sample the committed offsets per partition from now on: none may
	// ever decrease (a zombie committing its stale watermark would).
	stopSampling := make(chan struct{})
	regressions := make(chan string, 100)
	sampled := make(chan int, 1)
	go func() {
		last := map[int]int64{}
		n := 0
		defer func() { sampled <- n }()
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(100 * time.Millisecond):
			}
			for p, off := range c.committedByPartition() {
				if off < last[p] {
					select {
					case regressions <- fmt.Sprintf("partition %d: %d -> %d", p, last[p], off):
					default:
					}
				}
				last[p] = max(last[p], off)
			}
			n++
		}
	}()
	at := c.committed()
	// The gate keeps up with the live stream, so everything produced may
	// be committed: mid-stream means input is still arriving.
	if c.producedNow() >= c.s.n {
		c.t.Errorf("paused after the whole input was produced: not mid-stream")
	}
	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		c.t.Fatal(err)
	}
	time.Sleep(9 * time.Second) // scenario: paused for 3 session timeouts
	atResume := c.committed()
	if err := a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		c.t.Fatal(err)
	}
	wait()
	c.drainAll(5 * time.Minute)
	close(stopSampling)
	c.res.Details["offset_samples"] = <-sampled
	close(regressions)
	var regs []string
	for r := range regressions {
		regs = append(regs, r)
	}
	c.res.Details["committed_at_pause"] = at
	c.res.Details["committed_at_resume"] = atResume
	c.res.Details["pause_s"] = 9
	c.res.Details["session_timeout_s"] = 3
	c.res.Details["committed_offset_regressions"] = len(regs)
	if len(regs) > 0 {
		c.t.Errorf("committed offsets moved back (a zombie committed over its successor): %v", regs)
	}
	if atResume <= at {
		c.t.Errorf("nothing committed while a was paused (%d -> %d): did b take over its partitions?", at, atResume)
	}
	refused := len(a.logLines("kafka source: commit failed"))
	c.res.Details["zombie_commits_refused"] = refused
	c.res.Details["zombie_generations_joined"] = len(a.logLines("kafka source: partitions assigned"))
	c.res.Details["successor_generations_joined"] = len(b.logLines("kafka source: partitions assigned"))
}

// committedByPartition returns the group's committed offset per input
// partition (nil when the broker does not answer).
func (c *scenario) committedByPartition() map[int]int64 {
	client, done := c.admin()
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ids := make([]int, c.parts)
	for i := range ids {
		ids[i] = i
	}
	r, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: c.group, Topics: map[string][]int{c.in: ids}})
	if err != nil || r.Error != nil {
		return nil
	}
	out := map[int]int64{}
	for _, p := range r.Topics[c.in] {
		if p.Error == nil && p.CommittedOffset >= 0 {
			out[p.Partition] = p.CommittedOffset
		}
	}
	return out
}

// Scenario 9: large keys and headers. The output topics take records of
// at most 40 kB. Keys and headers over input.max_key_bytes /
// max_header_bytes (64 KiB) are dead-lettered as too large; a 50 kB key
// (allowed) is scored, refused by its output topic and by the dead-letter
// topic, and ends as a bare dead letter (reason and qe-source only). No
// partition may stall: everything is committed.
func (c *scenario) runLargeKeys() {
	c.res.Fault = "keys of 50 kB and 100 kB, headers of 90 kB and 30 kB, among good messages; output topics max.message.bytes 40 kB"
	c.createTopics(4)
	c.setTopicConfig(c.outputs, "max.message.bytes", "40000")
	n := c.s.n / 4
	good := c.goodMessages(0, n)
	kinds := []struct {
		name     string
		key      int
		headers  []int
		reason   string // class of the expected dead letter; "" scored
		bare     bool
		expected int
	}{
		{"50 kB key (allowed, no topic takes it)", 50_000, nil, "cannot deliver to", true, 0},
		{"100 kB key", 100_000, nil, "key too large", true, 0},
		{"3 headers of 30 kB", 10, []int{30_000, 30_000, 30_000}, "headers too large", true, 0},
		{"one 30 kB header (allowed)", 10, []int{30_000}, "", false, 0},
	}
	want := map[string]int{}
	var msgs []kafka.Message
	for i, m := range good {
		msgs = append(msgs, m)
		if i%50 != 0 {
			continue
		}
		k := kinds[(i/50)%len(kinds)]
		id := fmt.Sprintf("%s-big%05d", c.name, i)
		v, _ := json.Marshal(map[string]string{"id": id, "src": "The museum is closed on Mondays.", "mt": "Das Museum ist montags geschlossen.", "src_lang": "en", "tgt_lang": "de"})
		key := []byte(id + strings.Repeat("k", max(k.key-len(id), 0)))
		var hs []kafka.Header
		for j, hb := range k.headers {
			hs = append(hs, kafka.Header{Key: "h" + strconv.Itoa(j), Value: []byte(strings.Repeat("v", hb))})
		}
		msgs = append(msgs, kafka.Message{Key: key, Value: v, Headers: hs})
		want[k.name]++
	}
	c.res.Details["large_by_kind"] = want
	c.produce(msgs)
	c.start()
	c.drainAll(5 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	reasons := map[string]int{}
	bare := 0
	err := kafkaread.Each(ctx, c.s.addrs, c.outputs[3], func(m kafka.Message) {
		r := string(header(m, qe.HeaderError))
		for _, k := range kinds {
			if k.reason != "" && strings.HasPrefix(r, k.reason) {
				reasons[k.reason]++
			}
		}
		if m.Value == nil && m.Key == nil && len(m.Headers) == 2 {
			bare++
		}
	})
	if err != nil {
		c.t.Fatal(err)
	}
	c.res.Details["dead_letter_reasons"] = reasons
	c.res.Details["bare_dead_letters"] = bare
	wantBare := 0
	for _, k := range kinds {
		if k.reason != "" && reasons[k.reason] < want[k.name] {
			c.t.Errorf("%s: %d dead letters %q, want %d", k.name, reasons[k.reason], k.reason, want[k.name])
		}
		if k.bare {
			wantBare += want[k.name]
		}
	}
	if bare < wantBare {
		c.t.Errorf("%d bare dead letters, want %d", bare, wantBare)
	}
}

// Scenario 10: a model whose outputs are NaN for one pair in three. Those
// pairs are dead-lettered with the reason; every scored output is valid
// JSON (the marshal error used to be ignored: `"qe":}`).
func (c *scenario) runNaNModel() {
	c.res.Fault = "model outputs NaN for one pair in three (scorer/testdata/nan)"
	c.createTopics(4)
	dir, err := filepath.Abs(filepath.Join("..", "..", "scorer", "testdata", "nan"))
	if err != nil {
		c.t.Fatal(err)
	}
	c.model = dir
	c.produce(c.goodMessages(0, c.s.n/2))
	c.start()
	c.drainAll(5 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	nan, invalid, scored := 0, 0, 0
	for i, topic := range c.outputs {
		err := kafkaread.Each(ctx, c.s.addrs, topic, func(m kafka.Message) {
			if i == 3 {
				if strings.HasPrefix(string(header(m, qe.HeaderError)), "scoring failed: model returned a non-finite score") {
					nan++
				}
				return
			}
			scored++
			var v struct {
				QE struct {
					Score *float64 `json:"score"`
				} `json:"qe"`
			}
			if json.Unmarshal(m.Value, &v) != nil || v.QE.Score == nil {
				invalid++
			}
		})
		if err != nil {
			c.t.Fatal(err)
		}
	}
	c.res.Details["nan_dead_letters"] = nan
	c.res.Details["scored_outputs"] = scored
	c.res.Details["invalid_json_outputs"] = invalid
	if nan == 0 || scored == 0 || invalid != 0 {
		c.t.Errorf("%d NaN dead letters, %d scored, %d invalid JSON outputs (want >0, >0, 0)", nan, scored, invalid)
	}
}

// Scenario 11: an output topic deleted mid-run. The gate is paused while
// the topic's content is copied aside (the audit counts the copy: what was
// written there before the deletion was delivered) and the topic deleted;
// resumed, it must stop within missing_topic_timeout + drain_timeout with
// an error naming the topic, having dead-lettered nothing for it. After
// the topic is recreated a new process finishes the input.
func (c *scenario) runDeletedTopic() {
	c.res.Fault = "postedit output topic deleted mid-run (gate paused for the deletion), recreated after the gate stopped, gate restarted"
	c.createTopics(4)
	backup := c.outputs[1] + ".before-delete"
	c.s.create(c.t, 1, backup)
	c.extraPipeline = "  missing_topic_timeout: 5s"
	c.drain = "5s"
	c.produce(c.goodMessages(0, c.s.n/2))
	p := c.start()
	c.waitCommitted(int64(c.s.n/8), 4*time.Minute)
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		c.t.Fatal(err)
	}
	copied := c.copyTopic(c.outputs[1], backup)
	c.deleteTopic(c.outputs[1])
	deletedAt := time.Now()
	at := c.committed()
	c.midStream(at)
	if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		c.t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(2 * time.Minute):
		c.t.Fatalf("gate still running 2 minutes after its output topic was deleted:\n%s", p.logTail(3000))
	}
	stoppedIn := time.Since(deletedAt)
	c.res.Details["copied_before_delete"] = copied
	c.res.Details["committed_at_delete"] = at
	c.res.Details["stopped_after_s"] = stoppedIn.Seconds()
	if p.err == nil {
		c.t.Errorf("gate exited 0 after its output topic was deleted")
	}
	var stopErr string
	for _, l := range p.logLines("gate stopped") {
		stopErr, _ = l["err"].(string)
	}
	c.res.Details["stop_error"] = stopErr
	if !strings.Contains(stopErr, c.outputs[1]) || !strings.Contains(stopErr, "does not exist any more") {
		c.t.Errorf("stop error %q does not name the deleted topic", stopErr)
	}
	c.s.create(c.t, 2, c.outputs[1])
	c.start()
	c.drainAll(5 * time.Minute)
	c.outputs = append(c.outputs, backup)
	// Nothing for the deleted topic was dead-lettered in its stead.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	instead := 0
	if err := kafkaread.Each(ctx, c.s.addrs, c.outputs[3], func(m kafka.Message) {
		if strings.Contains(string(header(m, qe.HeaderError)), c.outputs[1]) {
			instead++
		}
	}); err != nil {
		c.t.Fatal(err)
	}
	c.res.Details["dead_lettered_for_deleted_topic"] = instead
	if instead != 0 {
		c.t.Errorf("%d records for the deleted topic were dead-lettered", instead)
	}
}

// copyTopic copies every record of from to to (key, value, headers) and
// returns how many.
func (c *scenario) copyTopic(from, to string) int {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var msgs []kafka.Message
	if err := kafkaread.Each(ctx, c.s.addrs, from, func(m kafka.Message) {
		msgs = append(msgs, kafka.Message{Key: m.Key, Value: m.Value, Headers: m.Headers})
	}); err != nil {
		c.t.Fatal(err)
	}
	tr := &kafka.Transport{MetadataTTL: time.Second}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(c.s.addrs...), Topic: to, Transport: tr, RequiredAcks: kafka.RequireAll, BatchSize: 1000, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		c.t.Fatalf("copy %s to %s: %v", from, to, err)
	}
	return len(msgs)
}

func (c *scenario) deleteTopic(name string) {
	c.t.Helper()
	client, done := c.admin()
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{name}})
	if err == nil {
		for _, e := range resp.Errors {
			err = errors.Join(err, e)
		}
	}
	if err != nil {
		c.t.Fatalf("delete topic %s: %v", name, err)
	}
}

// Scenario 12: 100 kB messages and a sink throttled for 20s, with
// pipeline.queue_bytes 8 MiB. The gate's peak RSS over its idle RSS (model
// loaded, nothing fetched) must stay within a small multiple of the byte
// bound: counted in messages (queue_size 1024 plus 100 prefetched per
// partition) the same backlog would hold over 140 MB.
func (c *scenario) runStalledSink100kB() {
	const queueBytes = 8 << 20
	c.res.Fault = "2000 messages of 100 kB; producer quota of 1 kB/s for 20s mid-stream; pipeline.queue_bytes 8 MiB"
	c.createTopics(4)
	c.extraPipeline = "  queue_bytes: " + strconv.Itoa(queueBytes)
	c.extraKafka = "  session_timeout: 30s"
	p := c.start()
	testutil.WaitFor(c.t, time.Minute, func() error {
		if len(p.logLines("kafka source: partitions assigned")) > 0 {
			return nil
		}
		if !p.alive() {
			c.t.Fatalf("gate exited before joining the group: %v", p.err)
		}
		return errors.New("gate did not join the group")
	})
	time.Sleep(time.Second) // scenario: the idle RSS is read after a second in the group with nothing to fetch
	idle := p.rssMB()
	msgs := c.goodMessages(0, 2000)
	pad := strings.Repeat("lorem ipsum ", 100_000/12)
	for i := range msgs {
		var v map[string]any
		_ = json.Unmarshal(msgs[i].Value, &v)
		v["pad"] = pad
		msgs[i].Value, _ = json.Marshal(v)
	}
	// Paused while the backlog is produced (the quota would throttle the
	// test's producer too), resumed into a stalled sink.
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		c.t.Fatal(err)
	}
	c.produce(msgs)
	c.setProducerQuota(1024)
	if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		c.t.Fatal(err)
	}
	stallStart := time.Now()
	var rssMax float64
	for time.Since(stallStart) < 20*time.Second {
		rssMax = max(rssMax, p.rssMB())
		time.Sleep(250 * time.Millisecond) // scenario: RSS sampled 4 times a second through the 20s stall
	}
	atEnd := c.committed()
	c.setProducerQuota(0)
	c.drainAll(5 * time.Minute)
	c.res.Details["queue_bytes"] = queueBytes
	c.res.Details["rss_idle_mb"] = idle
	c.res.Details["rss_max_during_stall_mb"] = rssMax
	c.res.Details["committed_at_stall_end"] = atEnd
	c.res.Details["input_mb"] = float64(2000*len(msgs[0].Value)) / (1 << 20)
	peak := p.peakMB()
	c.res.Details["peak_over_idle_mb"] = peak - idle
	// Bound: the queue's bytes, each in-flight item's output copy and the
	// writer's request buffer (3x), plus the readers' prefetch (half the
	// bound) and 32 MB of Go heap headroom (GOGC lets the heap reach twice
	// what is live before it collects).
	limit := 3.5*float64(queueBytes)/(1<<20) + 32
	c.res.Details["peak_limit_over_idle_mb"] = limit
	if peak-idle > limit {
		c.t.Errorf("peak RSS %.0f MB is %.0f MB over idle (%.0f MB); the byte bound allows %.0f MB", peak, peak-idle, idle, limit)
	}
	if atEnd > 1000 {
		c.t.Errorf("%d of 2000 committed during the stall: was the sink stalled?", atEnd)
	}
}

// clusterSuite is a faultSuite on a 3-node cluster, with its nodes.
type clusterSuite struct {
	*faultSuite
	cl *kafkatest.Cluster
}

// startCluster starts three KRaft nodes for scenario 13; every topic it
// creates has 3 replicas and min.insync.replicas 2, so acks=all needs two
// replicas and survives the loss of any one node.
func (s *faultSuite) startCluster(t *testing.T) *clusterSuite {
	began := time.Now()
	cl := kafkatest.StartCluster(t, 3, kafkatest.Options{DisableAutoCreateTopics: true})
	cs := &clusterSuite{cl: cl, faultSuite: &faultSuite{addrs: cl.Addrs(), model: s.model, n: s.n, seed: s.seed}}
	cs.create = func(t testing.TB, parts int, names ...string) {
		var tops []kafkatest.Topic
		for _, n := range names {
			tops = append(tops, kafkatest.Topic{Name: n, Partitions: parts, ReplicationFactor: 3, MinInsyncReplicas: 2})
		}
		cl.CreateTopic(t, tops...)
	}
	t.Logf("3-node cluster up in %s", time.Since(began).Round(time.Millisecond))
	return cs
}

// Scenario 13: a 3-node cluster (RF 3, min.insync.replicas 2, acks=all);
// the node leading the first input partition is SIGKILLed mid-stream,
// while input still arrives, and restarted once commits have advanced
// without it (at least 15s later). Leadership of its
// partitions, and of the group coordinator if it held it, moves to the
// survivors; the gate must carry on without a restart and lose nothing.
func (c *scenario) runLeaderFailover(cs *clusterSuite) {
	c.res.Fault = "3-node KRaft cluster (RF 3, min.insync.replicas 2, acks=all): leader of input partition 0 SIGKILLed mid-stream, restarted once commits advanced without it (at least 15s)"
	c.createTopics(4)
	wait := c.produceAsync(c.goodMessages(0, c.s.n), max(c.s.n/30, 100))
	p := c.start()
	c.waitCommitted(int64(c.s.n/4), 4*time.Minute)
	leader, err := cs.cl.Leader(c.in, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	at := c.committed()
	if c.producedNow() >= c.s.n {
		c.t.Errorf("leader killed after the whole input was produced: not mid-stream")
	}
	killedAt := time.Now()
	cs.cl.Node(leader).Kill()
	// Progress while the node is down: commits must advance on the two
	// survivors (min.insync.replicas 2 is still met). The design promises
	// that progress, not how soon it comes: the group coordinator and the
	// partition leaders move in seconds on a quiet machine and took over 15s
	// on a loaded one (the only failure of this scenario in the issue 18
	// runs), so the node stays down at least 15s and until commits advance;
	// the bound only catches a gate that is stuck.
	var progressAfter time.Duration
	testutil.WaitFor(c.t, 3*time.Minute, func() error {
		if !p.alive() {
			c.t.Fatalf("qegate exited while a node was down: %v\n%s", p.err, p.logTail(3000))
		}
		if n := c.committed(); n <= at {
			return fmt.Errorf("no progress since the leader was killed (%d committed at the kill, %d now)", at, n)
		}
		if progressAfter == 0 {
			progressAfter = time.Since(killedAt)
		}
		if time.Since(killedAt) < 15*time.Second {
			return errors.New("the node stays down at least 15s") // scenario: the fault's duration
		}
		return nil
	})
	whileDown := c.committed()
	newLeader, _ := cs.cl.Leader(c.in, 0)
	cs.cl.Node(leader).Start()
	restartedAt := time.Now()
	wait()
	c.drainAll(5 * time.Minute)
	if !p.alive() {
		c.t.Fatalf("qegate exited after the node restarted: %v", p.err)
	}
	c.res.Details["killed_node_id"] = cs.cl.Node(leader).ID()
	c.res.Details["new_leader_node_id"] = cs.cl.Node(max(newLeader, 0)).ID()
	c.res.Details["committed_at_kill"] = at
	c.res.Details["committed_before_restart"] = whileDown
	c.res.Details["progress_after_kill_s"] = progressAfter.Seconds()
	c.res.Details["down_s"] = restartedAt.Sub(killedAt).Seconds()
	c.res.Details["cluster_start_s"] = cs.cl.StartupTime().Seconds()
	c.res.Details["restarts_of_qegate"] = 0
}
