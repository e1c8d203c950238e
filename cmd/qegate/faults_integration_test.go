//go:build integration && faults

// The fault-injection suite: at-least-once delivery of `qegate run` on a
// real Apache Kafka broker under crashes, a broker restart, rebalances, a
// stalled sink, graceful shutdown and poison input. Each scenario produces
// 20,000 messages with unique ids, injects its fault, lets qegate finish,
// and counts with `qegate audit --json` what reached the output topics:
// missing must be 0 everywhere, duplicated must be 0 after SIGTERM.
//
//	go test -tags 'integration faults' -run TestFaults -v -timeout 30m ./cmd/qegate
//
// QEGATE_FAULTS_REPORT=path writes the figures as JSON; QEGATE_FAULTS_N
// changes the message count, QEGATE_FAULTS_SEED the random choices.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/audit"
	"github.com/qegate/qegate/internal/demo"
	"github.com/qegate/qegate/internal/kafkaread"
	"github.com/qegate/qegate/internal/kafkatest"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/internal/testutil"
)

// faultResult is one scenario's line of the machine-readable report.
type faultResult struct {
	Scenario      string         `json:"scenario"`
	Fault         string         `json:"fault"`
	Produced      int            `json:"produced"`
	Routed        map[string]int `json:"routed"`
	Missing       int            `json:"missing"`
	Duplicated    int            `json:"duplicated"`
	DuplicatedIDs int            `json:"duplicated_ids"`
	Unexpected    int            `json:"unexpected"`
	PeakRSSMB     float64        `json:"peak_rss_mb"`
	ElapsedS      float64        `json:"elapsed_s"`
	Passed        bool           `json:"passed"`
	Details       map[string]any `json:"details,omitempty"`
}

// faultSuite is shared by the scenarios of one TestFaults run.
type faultSuite struct {
	b     *kafkatest.Broker // nil on a cluster
	addrs []string          // bootstrap brokers
	// create makes topics with parts partitions (on a cluster replicated
	// 3 times with min.insync.replicas 2).
	create func(t testing.TB, parts int, names ...string)
	model  string
	n      int
	seed   uint64

	mu      sync.Mutex
	results []*faultResult
}

func TestFaults(t *testing.T) {
	n := 20000
	if v := os.Getenv("QEGATE_FAULTS_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 100 {
			t.Fatalf("QEGATE_FAULTS_N=%q: want an integer >= 100", v)
		}
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("QEGATE_FAULTS_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("QEGATE_FAULTS_SEED=%q: %v", v, err)
		}
	}
	t.Logf("faults: %d messages per scenario, seed %d (QEGATE_FAULTS_SEED=%d reproduces the random choices)", n, seed, seed)
	model, err := filepath.Abs(filepath.Join("..", "..", "scorer", "testdata", "tiny"))
	if err != nil {
		t.Fatal(err)
	}
	b := kafkatest.Start(t, kafkatest.Options{
		DisableAutoCreateTopics: true,
		HeapMB:                  768,
		// Scenario 6 produces 10 MB values: the broker takes up to 20 MiB
		// per record batch, above the gate's sink batches (16 MiB).
		Config: map[string]string{"message.max.bytes": strconv.Itoa(20 << 20)},
	})
	s := &faultSuite{b: b, addrs: []string{b.Addr()}, model: model, n: n, seed: seed,
		create: func(t testing.TB, parts int, names ...string) { b.CreateTopics(t, parts, names...) }}
	began := time.Now()
	for _, sc := range []struct {
		name string
		fn   func(*scenario)
	}{
		{"sigkill", (*scenario).runSigkill},
		{"broker_restart", (*scenario).runBrokerRestart},
		{"rebalance", (*scenario).runRebalance},
		{"stalled_sink", (*scenario).runStalledSink},
		{"sigterm", (*scenario).runSigterm},
		{"poison", (*scenario).runPoison},
		{"sigterm_slow_drain", (*scenario).runSigtermSlowDrain},
		{"zombie_sigstop", (*scenario).runZombie},
		{"large_keys_headers", (*scenario).runLargeKeys},
		{"nan_model", (*scenario).runNaNModel},
		{"deleted_output_topic", (*scenario).runDeletedTopic},
		{"stalled_sink_100kb", (*scenario).runStalledSink100kB},
	} {
		t.Run(sc.name, func(t *testing.T) {
			c := s.newScenario(t, sc.name)
			completed := false
			defer func() {
				if !completed { // t.Fatal inside the scenario
					c.record(nil)
				}
			}()
			sc.fn(c)
			completed = true
			c.finish()
		})
	}
	// Scenario 13 needs a cluster of its own: three KRaft nodes.
	t.Run("leader_failover", func(t *testing.T) {
		cs := s.startCluster(t)
		c := cs.newScenario(t, "leader_failover")
		completed := false
		defer func() {
			if !completed {
				c.record(nil)
			}
			s.mu.Lock()
			s.results = append(s.results, cs.results...)
			s.mu.Unlock()
		}()
		c.runLeaderFailover(cs)
		completed = true
		c.finish()
	})
	s.writeReport(t, time.Since(began))
}

func (s *faultSuite) writeReport(t *testing.T, elapsed time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.results {
		t.Logf("%-15s produced %6d  routed %v  missing %d  duplicated %d  peak RSS %.0f MB  %.0fs  passed=%v",
			r.Scenario, r.Produced, r.Routed, r.Missing, r.Duplicated, r.PeakRSSMB, r.ElapsedS, r.Passed)
	}
	path := os.Getenv("QEGATE_FAULTS_REPORT")
	if path == "" {
		return
	}
	rep := map[string]any{
		"date": time.Now().UTC().Format(time.RFC3339), "seed": s.seed, "messages_per_scenario": s.n,
		"model": "scorer/testdata/tiny (nan_model: scorer/testdata/nan)", "kafka": "Apache Kafka 3.9 (KRaft, internal/kafkatest): one node; leader_failover on a 3-node cluster (RF 3, min.insync.replicas 2)",
		"cpus": runtime.NumCPU(), "go": runtime.Version(), "elapsed_s": elapsed.Seconds(), "scenarios": s.results,
		"command": "go test -tags 'integration faults' -run TestFaults -v -timeout 30m ./cmd/qegate",
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Errorf("report dir: %v", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Errorf("write %s: %v", path, err)
	}
	t.Logf("faults report written to %s", path)
}

// scenario is one fault case: its own input topic, output topics and
// consumer group on the shared broker.
type scenario struct {
	t       *testing.T
	s       *faultSuite
	name    string
	in      string
	outputs []string // publish, postedit, review, dead letter
	group   string
	parts   int
	rng     *rand.Rand
	began   time.Time

	producedN atomic.Int64 // messages written to the input so far
	procs     []*gateProc
	nproc     int
	res       *faultResult
	// cfg overrides the YAML the gate runs with; set before start.
	extraKafka, extraInput, extraPipeline string
	sessions                              int
	drain                                 string // pipeline.drain_timeout; "" means 20s
	model                                 string // model directory; "" means the suite's tiny model
	logDir                                string // the gates' logs
	// check runs on the final audit report.
	check func(*audit.Report)
}

func (s *faultSuite) newScenario(t *testing.T, name string) *scenario {
	p := "f." + name
	c := &scenario{
		t: t, s: s, name: name, in: p + ".in", group: "g." + name, parts: 4, extraKafka: "  session_timeout: 10s",
		outputs: []string{p + ".publish", p + ".postedit", p + ".review", p + ".dlq"},
		rng:     rand.New(rand.NewPCG(s.seed, uint64(len(name))*7919+uint64(name[0]))),
		began:   time.Now(),
		res:     &faultResult{Scenario: name, Routed: map[string]int{}, Details: map[string]any{}},
	}
	dir, err := os.MkdirTemp("", "qegate-faults-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	c.logDir = dir
	t.Cleanup(func() {
		defer os.RemoveAll(dir)
		for _, p := range c.procs {
			if p.alive() {
				_ = p.cmd.Process.Kill()
				<-p.exited
			}
			if t.Failed() {
				t.Logf("%s log tail:\n%s", p.name, p.logTail(4000))
			}
		}
	})
	return c
}

func (c *scenario) createTopics(parts int) {
	c.parts = parts
	c.s.create(c.t, parts, c.in)
	c.s.create(c.t, 2, c.outputs...)
}

// langPairs are the pairs of the built-in sample: the gate's allow-list,
// so well-formed but unknown codes are dead-lettered.
var faultLangPairs = []string{"en-de", "en-zh", "et-en", "ne-en", "ro-en", "ru-en", "si-en"}

func (c *scenario) config() string {
	sessions := c.sessions
	if sessions == 0 {
		sessions = 1
	}
	drain := c.drain
	if drain == "" {
		drain = "20s"
	}
	model := c.model
	if model == "" {
		model = c.s.model
	}
	return writeConfig(c.t, fmt.Sprintf(`
kafka:
  brokers: [%s]
  group_id: %s
  topics: [%s]
  commit_interval: 200ms
  rebalance_timeout: 30s
  revoke_timeout: 6s
%s
input:
  lang_pairs: [%s]
%s
routes:
  publish: %s
  post_edit: %s
  review: %s
  review_margin: 0.003
  dead_letter: %s
model:
  dir: %s
  sessions: %d
  intra_op_threads: 1
  # The tiny random model scores the sample between 0.027 and 0.066:
  # thresholds and a review band in that range use every route.
  thresholds: {default: 0.048, en-de: 0.035, si-en: 0.05}
pipeline:
  drain_timeout: %s
%s
log:
  format: json
`, strings.Join(c.s.addrs, ", "), c.group, c.in, c.extraKafka, strings.Join(faultLangPairs, ", "), c.extraInput,
		c.outputs[0], c.outputs[1], c.outputs[2], c.outputs[3], model, sessions, drain, c.extraPipeline))
}

// gateProc is one `qegate run` process.
type gateProc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	err     error
	peakKB  int64 // highest VmHWM seen
	mu      sync.Mutex
}

func (c *scenario) start() *gateProc {
	c.t.Helper()
	c.nproc++
	p := &gateProc{name: fmt.Sprintf("%s#%d", c.name, c.nproc), exited: make(chan struct{})}
	// Not t.TempDir: its cleanup runs before the scenario's, which prints
	// the log tails of a failed scenario.
	p.logPath = filepath.Join(c.logDir, p.name+".log")
	f, err := os.Create(p.logPath)
	if err != nil {
		c.t.Fatal(err)
	}
	p.cmd = exec.Command(qegateBin, "run", "--config", c.config())
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	go p.sampleRSS()
	c.procs = append(c.procs, p)
	return p
}

func (p *gateProc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// sampleRSS follows VmHWM (peak resident set) from /proc while it runs.
func (p *gateProc) sampleRSS() {
	path := fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid)
	for {
		if b, err := os.ReadFile(path); err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
					if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
						p.mu.Lock()
						p.peakKB = max(p.peakKB, kb)
						p.mu.Unlock()
					}
				}
			}
		}
		select {
		case <-p.exited:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (p *gateProc) peakMB() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return float64(p.peakKB) / 1024
}

// rssMB reads the current VmRSS.
func (p *gateProc) rssMB() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return float64(kb) / 1024
		}
	}
	return 0
}

func (p *gateProc) logTail(n int) string {
	b, _ := os.ReadFile(p.logPath)
	return tail(string(b), n)
}

// logLines returns the gate's JSON log records whose msg starts with prefix.
func (p *gateProc) logLines(prefix string) []map[string]any {
	f, err := os.Open(p.logPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		if m, _ := rec["msg"].(string); strings.HasPrefix(m, prefix) {
			out = append(out, rec)
		}
	}
	return out
}

// kill ends p with SIGKILL, as a crash would.
func (c *scenario) kill(p *gateProc) {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		c.t.Fatalf("%s did not die after SIGKILL", p.name)
	}
}

// term sends SIGTERM and waits up to limit for exit status 0; it returns
// how long the exit took.
func (c *scenario) term(p *gateProc, limit time.Duration) time.Duration {
	c.t.Helper()
	// A signal in the first milliseconds, before the Go runtime has
	// installed qegate's handler, ends any Go program by default; wait
	// until the gate runs (from the model load on, a stop signal exits 0).
	testutil.WaitFor(c.t, time.Minute, func() error {
		if p.alive() && len(p.logLines("gate running")) == 0 {
			return fmt.Errorf("%s not running yet", p.name)
		}
		return nil
	})
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(limit):
		c.t.Fatalf("%s did not exit within %s of SIGTERM:\n%s", p.name, limit, p.logTail(3000))
	}
	if p.err != nil {
		c.t.Fatalf("%s exit after SIGTERM: %v\n%s", p.name, p.err, p.logTail(3000))
	}
	return time.Since(start)
}

// admin returns a client with its own transport (no pooled connection
// outlives a broker restart) and its release func.
func (c *scenario) admin() (*kafka.Client, func()) {
	tr := &kafka.Transport{DialTimeout: 5 * time.Second, IdleTimeout: time.Second, MetadataTTL: time.Second}
	return &kafka.Client{Addr: kafka.TCP(c.s.addrs...), Timeout: 5 * time.Second, Transport: tr}, tr.CloseIdleConnections
}

// committed is the sum of the group's committed offsets over the input
// partitions: how many input messages are done (offsets start at 0), or
// -1 when the broker does not answer.
func (c *scenario) committed() int64 {
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
		return -1
	}
	var sum int64
	for _, p := range r.Topics[c.in] {
		if p.Error != nil {
			return -1
		}
		sum += max(p.CommittedOffset, 0)
	}
	return sum
}

// waitCommitted waits until at least target input messages are committed.
// It fails when the deadline passes or no gate process is left running
// (the scenario's cleanup prints the gates' log tails).
func (c *scenario) waitCommitted(target int64, timeout time.Duration) {
	c.t.Helper()
	last := int64(-1)
	testutil.WaitFor(c.t, timeout, func() error {
		if n := c.committed(); n >= target {
			return nil
		} else if n >= 0 {
			last = n
		}
		alive := false
		for _, p := range c.procs {
			if p.alive() {
				alive = true
			}
		}
		if !alive {
			c.t.Fatalf("no qegate process running; committed %d of %d", last, target)
		}
		return fmt.Errorf("committed %d of %d", last, target)
	})
}

// produce writes msgs to the input topic with acks=all.
func (c *scenario) produce(msgs []kafka.Message) {
	c.t.Helper()
	if err := c.produceAt(msgs, 0); err != nil {
		c.t.Fatal(err)
	}
}

// produceAsync produces msgs in the background at about perSec messages a
// second, so faults hit while input still arrives; wait blocks until all
// are written and fails the test if producing failed.
func (c *scenario) produceAsync(msgs []kafka.Message, perSec int) (wait func()) {
	errc := make(chan error, 1)
	go func() { errc <- c.produceAt(msgs, perSec) }()
	return func() {
		c.t.Helper()
		select {
		case err := <-errc:
			if err != nil {
				c.t.Fatal(err)
			}
		case <-time.After(5 * time.Minute):
			c.t.Fatal("background producer did not finish in 5 minutes")
		}
	}
}

// produceAt writes msgs, at most perSec a second when perSec > 0.
func (c *scenario) produceAt(msgs []kafka.Message, perSec int) error {
	// Its own transport: the default one caches metadata from before the
	// topic existed.
	tr := &kafka.Transport{MetadataTTL: time.Second}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{
		Addr: kafka.TCP(c.s.addrs...), Topic: c.in, Balancer: &kafka.Hash{}, Transport: tr,
		RequiredAcks: kafka.RequireAll, BatchSize: 1000, BatchBytes: 12 << 20,
		BatchTimeout: 5 * time.Millisecond, WriteTimeout: 60 * time.Second,
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	chunk, tick := 2000, time.Duration(0)
	if perSec > 0 {
		chunk, tick = max(perSec/10, 1), 100*time.Millisecond
	}
	next := time.Now()
	for len(msgs) > 0 {
		k := min(len(msgs), chunk)
		if err := writeAcked(ctx, w, msgs[:k]); err != nil {
			return fmt.Errorf("produce to %s: %w", c.in, err)
		}
		c.producedN.Add(int64(k))
		msgs = msgs[k:]
		if next = next.Add(tick); tick > 0 {
			time.Sleep(time.Until(next)) // scenario: the input's arrival rate
		}
	}
	return nil
}

// writeAcked writes msgs as an at-least-once upstream producer does: the
// messages a write reports as failed are written again until acknowledged or
// ctx ends. kafka-go's own attempts (10, backoff up to 1s) can end before a
// killed partition leader is replaced, which took over 15s on a loaded
// machine (see leader_failover), and the input must not lose messages
// because of the very fault the scenario injects. Only failed messages are
// retried, so an acknowledged one is not duplicated.
func writeAcked(ctx context.Context, w *kafka.Writer, msgs []kafka.Message) error {
	backoff := 100 * time.Millisecond
	for {
		err := w.WriteMessages(ctx, msgs...)
		if err == nil {
			return nil
		}
		var werrs kafka.WriteErrors
		if !errors.As(err, &werrs) || len(werrs) != len(msgs) {
			return err
		}
		failed := msgs[:0:0]
		for i, e := range werrs {
			if e != nil {
				failed = append(failed, msgs[i])
			}
		}
		msgs = failed
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last write: %w", ctx.Err(), err)
		case <-time.After(backoff): // scenario: the producer's backoff while a leader is down
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// goodMessages returns n valid pairs from the built-in sample, keyed by
// their unique id.
func (c *scenario) goodMessages(from, n int) []kafka.Message {
	sample, err := demo.Sample()
	if err != nil {
		c.t.Fatal(err)
	}
	var pool []map[string]string
	for _, s := range sample {
		var m map[string]string
		if json.Unmarshal(s.Value, &m) == nil {
			pool = append(pool, m)
		}
	}
	out := make([]kafka.Message, 0, n)
	for i := from; i < from+n; i++ {
		p := pool[i%len(pool)]
		id := fmt.Sprintf("%s-%06d", c.name, i)
		v, _ := json.Marshal(map[string]any{"id": id, "src": p["src"], "mt": p["mt"], "src_lang": p["src_lang"], "tgt_lang": p["tgt_lang"], "seq": i})
		out = append(out, kafka.Message{Key: []byte(id), Value: v})
	}
	return out
}

// drainAll waits until everything produced is committed.
func (c *scenario) drainAll(timeout time.Duration) {
	c.t.Helper()
	c.waitCommitted(int64(c.producedNow()), timeout)
}

// stopAll sends SIGTERM to every running gate; each must exit 0.
func (c *scenario) stopAll() {
	c.t.Helper()
	for _, p := range c.procs {
		if p.alive() {
			c.term(p, 40*time.Second)
		}
	}
}

// audit runs `qegate audit --json` over the scenario's topics.
func (c *scenario) audit() *audit.Report {
	c.t.Helper()
	return c.auditOf(c.outputs)
}

// auditOf runs `qegate audit --json` over the input and the given outputs.
func (c *scenario) auditOf(outputs []string) *audit.Report {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, qegateBin, "audit", "--brokers", strings.Join(c.s.addrs, ","), "--input", c.in,
		"--outputs", strings.Join(outputs, ","), "--id-field", "id", "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var rep audit.Report
	if jerr := json.Unmarshal(stdout.Bytes(), &rep); jerr != nil {
		c.t.Fatalf("qegate audit: %v / %v\n%s%s", err, jerr, stdout.String(), stderr.String())
	}
	if (err != nil) != (rep.Missing > 0) {
		c.t.Fatalf("qegate audit exit status %v with %d missing (want non-zero exactly when missing)", err, rep.Missing)
	}
	return &rep
}

// finish stops the gates, audits and records the scenario's figures.
func (c *scenario) finish() {
	c.t.Helper()
	c.stopAll()
	rep := c.audit()
	if c.check != nil {
		c.check(rep)
	}
	c.record(rep)
	if rep.InputMessages != c.producedNow() {
		c.t.Errorf("audit read %d input messages, produced %d", rep.InputMessages, c.producedNow())
	}
	if rep.Missing != 0 || rep.Unexpected != 0 {
		c.t.Errorf("missing %d (e.g. %v), unexpected %d", rep.Missing, rep.MissingList, rep.Unexpected)
	}
	// Where a fault may duplicate (a crash, a writer retry, a moved
	// partition), every duplicate must be a second copy of the same input
	// message: counted by id and by the qe-source position alike.
	if rep.OutputsWithoutSource != 0 || rep.Duplicated != rep.DuplicatedByPosition {
		c.t.Errorf("unexplained duplicates: %d extra copies by id, %d by input position, %d outputs without qe-source (e.g. %v)",
			rep.Duplicated, rep.DuplicatedByPosition, rep.OutputsWithoutSource, rep.DupList)
	}
}

// copyTimes reads every output topic and returns, per input position (the
// qe-source header), when each of its copies was produced (the record's
// CreateTime, set by the gate's writer when it sends the request).
func (c *scenario) copyTimes() map[string][]time.Time {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := map[string][]time.Time{}
	for _, topic := range c.outputs {
		err := kafkaread.Each(ctx, c.s.addrs, topic, func(m kafka.Message) {
			pos := string(header(m, qe.HeaderSource))
			out[pos] = append(out[pos], m.Time)
		})
		if err != nil {
			c.t.Fatal(err)
		}
	}
	return out
}

// splitDuplicates sorts the extra copies of each input position by the
// process boundary at: copies all written before it, or all after, are
// one process writing a record twice (a writer retry after a lost
// acknowledgement); copies on both sides are work done before at and
// redone after it (redelivered, because it was not committed).
// gaps holds, for the same-process copies, the time between the first and
// the last copy of each position (a retry after a timed-out acknowledgement
// comes at least the writer's timeout later).
func splitDuplicates(copies map[string][]time.Time, at time.Time) (sameProcess, redelivered int, examples []string, gaps []time.Duration) {
	for pos, ts := range copies {
		if len(ts) < 2 {
			continue
		}
		before := 0
		for _, t := range ts {
			if t.Before(at) {
				before++
			}
		}
		if before > 0 && before < len(ts) {
			redelivered += len(ts) - 1
			if len(examples) < 10 {
				examples = append(examples, pos)
			}
		} else {
			sameProcess += len(ts) - 1
			first, last := slices.MinFunc(ts, time.Time.Compare), slices.MaxFunc(ts, time.Time.Compare)
			gaps = append(gaps, last.Sub(first))
		}
	}
	sort.Strings(examples)
	slices.Sort(gaps)
	return sameProcess, redelivered, examples, gaps
}

func (c *scenario) record(rep *audit.Report) {
	r := c.res
	r.Produced = c.producedNow()
	r.ElapsedS = time.Since(c.began).Seconds()
	for _, p := range c.procs {
		r.PeakRSSMB = max(r.PeakRSSMB, p.peakMB())
	}
	if rep != nil {
		routes := map[string]string{c.outputs[0]: "accepted", c.outputs[1]: "rejected", c.outputs[2]: "review", c.outputs[3]: "dead_letter"}
		for topic, n := range rep.ByTopic {
			name := routes[topic]
			if name == "" {
				name = topic // e.g. the copy of a topic deleted mid-run
			}
			r.Routed[name] += n
		}
		r.Missing, r.Duplicated, r.DuplicatedIDs, r.Unexpected = rep.Missing, rep.Duplicated, rep.DuplicatedIDs, rep.Unexpected
	} else {
		r.Missing = -1
	}
	r.Passed = !c.t.Failed() && rep != nil && rep.Missing == 0
	c.t.Logf("%s: produced %d, routed %v, missing %d, duplicated %d (%d ids), unexpected %d, peak RSS %.0f MB, %.0fs, details %v",
		c.name, r.Produced, r.Routed, r.Missing, r.Duplicated, r.DuplicatedIDs, r.Unexpected, r.PeakRSSMB, r.ElapsedS, r.Details)
	c.s.mu.Lock()
	c.s.results = append(c.s.results, r)
	c.s.mu.Unlock()
}

func (c *scenario) producedNow() int { return int(c.producedN.Load()) }

// midStream fails the scenario when a fault came after the whole input
// was already done (committed is the progress when it was injected).
func (c *scenario) midStream(committed int64) {
	c.t.Helper()
	if committed >= int64(c.producedNow()) {
		c.t.Errorf("fault injected after all %d messages were committed: not mid-stream", c.producedNow())
	}
}

// randomPoints returns k sorted fractions in [lo, hi], at least gap apart.
func (c *scenario) randomPoints(k int, lo, hi, gap float64) []float64 {
	for {
		pts := make([]float64, k)
		for i := range pts {
			pts[i] = lo + c.rng.Float64()*(hi-lo)
		}
		sort.Float64s(pts)
		ok := true
		for i := 1; i < k; i++ {
			if pts[i]-pts[i-1] < gap {
				ok = false
			}
		}
		if ok {
			return pts
		}
	}
}

// Scenario 1: SIGKILL at three random points, restarted each time.
func (c *scenario) runSigkill() {
	c.res.Fault = "qegate SIGKILLed at three random points of the stream, restarted each time"
	c.createTopics(4)
	c.produce(c.goodMessages(0, c.s.n))
	p := c.start()
	var at []int64
	floor := int64(0)
	for _, f := range c.randomPoints(3, 0.1, 0.85, 0.15) {
		// The restarted process must have made progress of its own.
		target := max(int64(f*float64(c.producedNow())), floor+int64(c.producedNow()/50))
		c.waitCommitted(target, 4*time.Minute)
		// A random extra moment, so the kill lands anywhere in a batch's
		// score / write / commit cycle.
		time.Sleep(time.Duration(c.rng.IntN(400)) * time.Millisecond) // scenario: a random kill point
		at = append(at, c.committed())
		c.kill(p)
		c.midStream(at[len(at)-1])
		floor = c.committed()
		p = c.start()
	}
	c.res.Details["killed_at_committed"] = at
	c.drainAll(5 * time.Minute)
}

// Scenario 2: the broker stopped and restarted mid-stream; the second half
// of the input is produced after the restart.
func (c *scenario) runBrokerRestart() {
	c.res.Fault = "broker stopped (SIGTERM) for 5s and restarted mid-stream; half the input produced after the restart"
	c.createTopics(4)
	half := c.s.n / 2
	c.produce(c.goodMessages(0, half))
	p := c.start()
	c.waitCommitted(int64(half/2), 4*time.Minute)
	before := c.committed()
	c.s.b.Stop()
	if before >= int64(half) {
		c.t.Errorf("the broker stopped after the first half was done (%d committed): not mid-stream", before)
	}
	time.Sleep(5 * time.Second) // scenario: the broker stays down for 5s
	if !p.alive() {
		c.t.Fatalf("qegate exited while the broker was down: %v\n%s", p.err, p.logTail(3000))
	}
	c.s.b.Restart()
	c.produce(c.goodMessages(half, c.s.n-half))
	c.res.Details["committed_at_stop"] = before
	c.drainAll(5 * time.Minute)
	if !p.alive() {
		c.t.Fatalf("qegate exited after the broker restart: %v", p.err)
	}
	c.res.Details["restarts_of_qegate"] = 0
}

// Scenario 3: three replicas in one group; a fourth added (graceful
// rebalance: revoked partitions drain and commit while owned), then one
// SIGKILLed (its partitions move after the session timeout).
func (c *scenario) runRebalance() {
	c.res.Fault = "3 replicas in one group; a 4th added at 25% (graceful rebalance), one SIGKILLed at 60% (rebalance after session timeout)"
	c.createTopics(8)
	c.extraPipeline = "  queue_size: 256"
	// Input arrives over about 20s, so both rebalances hit a live stream.
	// The last fifth is produced only after the SIGKILL, so the kill is
	// mid-stream by construction (the survivors take over the killed
	// replica's partitions with input still to come): with the whole input
	// produced up front, the audit below once took, on a loaded machine,
	// until every message was committed, and the kill came after the stream.
	split := c.s.n * 8 / 10
	wait := c.produceAsync(c.goodMessages(0, split), max(c.s.n/25, 100))
	reps := []*gateProc{c.start(), c.start(), c.start()}
	c.waitCommitted(int64(c.s.n/4), 4*time.Minute)
	addedAt := time.Now()
	reps = append(reps, c.start())
	// Wait until the new replica owns partitions and has made progress.
	testutil.WaitFor(c.t, 2*time.Minute, func() error {
		if lines := reps[3].logLines("kafka source: partitions assigned"); len(lines) > 0 {
			if n, _ := lines[len(lines)-1]["partitions"].(float64); n > 0 {
				return nil
			}
		}
		return errors.New("the added replica got no partitions")
	})
	c.res.Details["graceful_rebalance_s"] = time.Since(addedAt).Seconds()
	c.waitCommitted(int64(c.s.n*6/10), 4*time.Minute)
	// No crash so far: every duplicate up to here would come from the
	// graceful rebalance, and drain-then-commit must leave none.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	mid, err := audit.Run(ctx, audit.Config{Brokers: c.s.addrs, Input: c.in, Outputs: c.outputs, IDField: "id"})
	cancel()
	if err != nil {
		c.t.Fatal(err)
	}
	c.res.Details["duplicated_after_graceful_rebalance"] = mid.Duplicated
	if mid.Duplicated != 0 {
		c.t.Errorf("graceful rebalance left %d duplicates (e.g. %v): revoked partitions did not drain and commit", mid.Duplicated, mid.DupList)
	}
	released, withInFlight := 0, 0
	for _, p := range reps[:3] {
		for _, l := range p.logLines("kafka source: partition released") {
			if strings.Contains(l["msg"].(string), "in flight") {
				withInFlight++
			} else if l["revoked"] == true {
				released++
			}
		}
	}
	c.res.Details["revoked_partitions_drained"] = released
	c.res.Details["revoked_partitions_abandoned_in_flight"] = withInFlight
	if released == 0 || withInFlight != 0 {
		c.t.Errorf("graceful rebalance: %d partitions released drained, %d with work in flight (want >0 and 0)", released, withInFlight)
	}
	c.kill(reps[1])
	at := c.committed()
	c.res.Details["killed_at_committed"] = at
	c.res.Details["produced_after_kill"] = c.s.n - split
	wait()
	c.produce(c.goodMessages(split, c.s.n-split))
	c.drainAll(5 * time.Minute)
	gens := 0
	for _, p := range reps {
		gens += len(p.logLines("kafka source: partitions assigned"))
	}
	c.res.Details["generations_joined"] = gens
}

// Scenario 4: the sink stalls: a producer quota of 1 kB/s on every client
// (Kafka throttles by delaying produce responses, so each sink write takes
// seconds) for 20s mid-stream, while 80% of the input waits on the broker.
// Memory must stay bounded and nothing may be lost when it recovers.
//
// (min.insync.replicas above the replica count does not stall a
// single-node cluster: Kafka 3.9 caps the effective minimum ISR at the
// replication factor.)
func (c *scenario) runStalledSink() {
	c.res.Fault = "producer quota of 1 kB/s (throttled sink writes) for 20s mid-stream, with 80% of the input waiting on the broker"
	c.createTopics(4)
	c.produce(c.goodMessages(0, c.s.n))
	p := c.start()
	c.waitCommitted(int64(c.s.n/10), 4*time.Minute)
	rssBefore := p.rssMB()
	c.setProducerQuota(1024)
	stallStart := time.Now()
	// Progress during the stall is counted from 2s into it, once the
	// writes sent before the quota have had time to land.
	time.Sleep(2 * time.Second) // scenario: the stall's first 2s
	atStall := c.committed()
	var rssMax float64
	for time.Since(stallStart) < 22*time.Second {
		rssMax = max(rssMax, p.rssMB())
		time.Sleep(250 * time.Millisecond) // scenario: RSS sampled 4 times a second through the 20s stall
	}
	atEnd := c.committed()
	c.setProducerQuota(0)
	recovered := time.Now()
	c.res.Details["rss_before_stall_mb"] = rssBefore
	c.res.Details["rss_max_during_stall_mb"] = rssMax
	c.res.Details["committed_at_stall"] = atStall
	c.res.Details["committed_during_stall"] = atEnd - atStall
	c.res.Details["stall_s"] = 20
	if atStall > int64(c.s.n*7/10) || atEnd-atStall > int64(c.s.n/20) {
		c.t.Errorf("committed %d before and %d during the stall: was the sink stalled at all?", atStall, atEnd-atStall)
	}
	c.drainAll(5 * time.Minute)
	c.res.Details["recovery_to_done_s"] = time.Since(recovered).Seconds()
	c.res.Details["sink_retries_logged"] = len(p.logLines("sink write failed; retrying"))
	// The queue (1024 items) and the readers' fetch buffers bound memory
	// while the rest of the input waits on the broker. ORT and the Go
	// runtime account for most of the peak.
	if rssMax-rssBefore > 150 {
		c.t.Errorf("RSS grew %.0f MB during the stall (before %.0f MB, max %.0f MB)", rssMax-rssBefore, rssBefore, rssMax)
	}
}

// setTopicConfig sets one config key on topics.
func (c *scenario) setTopicConfig(topics []string, key, value string) {
	c.t.Helper()
	client, done := c.admin()
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := &kafka.IncrementalAlterConfigsRequest{}
	for _, t := range topics {
		req.Resources = append(req.Resources, kafka.IncrementalAlterConfigsRequestResource{
			ResourceType: kafka.ResourceTypeTopic, ResourceName: t,
			Configs: []kafka.IncrementalAlterConfigsRequestConfig{{Name: key, Value: value, ConfigOperation: kafka.ConfigOperationSet}},
		})
	}
	resp, err := client.IncrementalAlterConfigs(ctx, req)
	if err == nil {
		for _, r := range resp.Resources {
			err = errors.Join(err, r.Error)
		}
	}
	if err != nil {
		c.t.Fatalf("set %s=%s on %v: %v", key, value, topics, err)
	}
}

// setProducerQuota sets (rate > 0) or removes (0) a producer_byte_rate
// quota on the anonymous user every unauthenticated client runs as.
func (c *scenario) setProducerQuota(rate float64) {
	c.t.Helper()
	client, done := c.admin()
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := client.AlterClientQuotas(ctx, &kafka.AlterClientQuotasRequest{Entries: []kafka.AlterClientQuotaEntry{{
		Entities: []kafka.AlterClientQuotaEntity{{EntityType: "user", EntityName: "ANONYMOUS"}},
		Ops:      []kafka.AlterClientQuotaOps{{Key: "producer_byte_rate", Value: rate, Remove: rate == 0}},
	}}})
	if err == nil {
		for _, e := range resp.Entries {
			err = errors.Join(err, e.Error)
		}
	}
	if err != nil {
		c.t.Fatalf("producer quota %v: %v", rate, err)
	}
	c.t.Logf("producer quota for user ANONYMOUS: %v B/s (0: removed)", rate)
}

// Scenario 5: SIGTERM twice mid-stream; each time qegate drains, commits
// and exits 0 within drain_timeout, and a new process carries on. Zero
// duplicates allowed.
func (c *scenario) runSigterm() {
	c.res.Fault = "SIGTERM at two random points mid-stream (drain_timeout 20s), restarted each time"
	c.createTopics(4)
	c.produce(c.goodMessages(0, c.s.n))
	p := c.start()
	var exits []float64
	floor := int64(0)
	for _, f := range c.randomPoints(2, 0.2, 0.8, 0.2) {
		c.waitCommitted(max(int64(f*float64(c.producedNow())), floor+int64(c.producedNow()/50)), 4*time.Minute)
		time.Sleep(time.Duration(c.rng.IntN(400)) * time.Millisecond) // scenario: a random moment of the batch cycle
		c.midStream(c.committed())
		d := c.term(p, 25*time.Second)
		exits = append(exits, d.Seconds())
		if len(p.logLines("gate: drained cleanly")) != 1 {
			c.t.Errorf("%s did not drain cleanly:\n%s", p.name, p.logTail(2000))
		}
		floor = c.committed()
		p = c.start()
	}
	c.res.Details["exit_after_sigterm_s"] = exits
	c.drainAll(5 * time.Minute)
	d := c.term(p, 25*time.Second)
	c.res.Details["exit_after_final_sigterm_s"] = d.Seconds()
	c.check = func(rep *audit.Report) {
		if rep.Duplicated != 0 {
			c.t.Errorf("SIGTERM must not duplicate: %d duplicates (e.g. %v)", rep.Duplicated, rep.DupList)
		}
	}
}

// Scenario 7: SIGTERM while the sink is throttled, so the drain lasts
// several times the session timeout. The member must stay in the group
// (heartbeats continue while it drains) for its final commits to be
// accepted: nothing the first process wrote is redelivered to the second.
//
// The throttle itself may duplicate: Kafka delays a throttled produce
// response past the writer's 10s timeout, the writer retries, and the
// broker had appended the first attempt (a writer retry after a lost
// acknowledgement, which the design allows; one run found 64). Those
// copies are all written by the draining process, before it exited, and
// are counted apart; a copy on each side of the exit is what a clean
// SIGTERM must never leave.
func (c *scenario) runSigtermSlowDrain() {
	c.res.Fault = "SIGTERM while sink writes are throttled (20 kB/s producer quota), drain several times session_timeout (3s), then restart"
	c.createTopics(4)
	c.extraKafka = "  session_timeout: 3s"
	c.extraPipeline = "  queue_size: 256"
	c.drain = "60s"
	c.produce(c.goodMessages(0, c.s.n))
	p := c.start()
	c.waitCommitted(int64(c.s.n/5), 4*time.Minute)
	c.setProducerQuota(20 << 10)
	time.Sleep(2 * time.Second) // scenario: the throttle takes hold before the SIGTERM
	at := c.committed()
	c.midStream(at)
	d := c.term(p, 70*time.Second)
	exited := time.Now()
	c.res.Details["exit_after_sigterm_s"] = d.Seconds()
	c.res.Details["session_timeout_s"] = 3
	if len(p.logLines("gate: drained cleanly")) != 1 {
		c.t.Errorf("%s did not drain cleanly:\n%s", p.name, p.logTail(2000))
	}
	c.res.Details["commits_failed_logged"] = len(p.logLines("kafka source: commit failed"))
	c.res.Details["committed_during_drain"] = c.committed() - at
	c.setProducerQuota(0)
	c.start()
	c.drainAll(5 * time.Minute)
	c.check = func(rep *audit.Report) {
		retried, redelivered, examples, gaps := splitDuplicates(c.copyTimes(), exited)
		c.res.Details["duplicated_by_writer_retries"] = retried
		if len(gaps) > 0 {
			c.res.Details["writer_retry_copies_apart_s"] = []float64{gaps[0].Seconds(), gaps[len(gaps)-1].Seconds()}
		}
		c.res.Details["redelivered_after_sigterm"] = redelivered
		c.res.Details["engine_write_retries_logged"] = len(p.logLines("sink write failed; retrying"))
		if redelivered != 0 {
			c.t.Errorf("slow drain after SIGTERM: %d messages written before the exit were redone after the restart (e.g. %v): its final commits were refused or skipped",
				redelivered, examples)
		}
		if retried+redelivered != rep.DuplicatedByPosition {
			c.t.Errorf("%d duplicates by position, %d explained by the output copies read", rep.DuplicatedByPosition, retried+redelivered)
		}
	}
}

// poisonKind is one way of breaking input.
type poisonKind struct {
	name string
	// dead says whether the gate must dead-letter it (false: it is valid,
	// or fuzzed and either way).
	dead  bool
	value func(id string, r *rand.Rand) (value []byte, keyless bool)
}

// reasonClassRE matches the particulars of a qe-error (quoted names,
// numbers), so reasons can be counted by class.
var reasonClassRE = regexp.MustCompile(`"[^"]*"|[0-9]+`)

func reasonClass(r string) string {
	if strings.HasPrefix(r, "not a JSON object: ") && !strings.HasPrefix(r, "not a JSON object: got") {
		return "not a JSON object: syntax error"
	}
	return reasonClassRE.ReplaceAllStringFunc(r, func(m string) string {
		if m[0] == '"' {
			return "X"
		}
		return "N"
	})
}

var poisonKinds = []poisonKind{
	{"fuzzed JSON", false, func(id string, r *rand.Rand) ([]byte, bool) {
		v := []byte(fmt.Sprintf(`{"id":%q,"src":"The museum is closed on Mondays.","mt":"Das Museum ist montags geschlossen.","src_lang":"en","tgt_lang":"de"}`, id))
		for range 1 + r.IntN(4) {
			i := r.IntN(len(v))
			switch r.IntN(5) {
			case 0:
				v[i] ^= byte(1 << r.IntN(8))
			case 1:
				v = append(v[:i], v[i+1:]...)
			case 2:
				v = append(v[:i], append([]byte{byte(r.IntN(256))}, v[i:]...)...)
			case 3:
				v = v[:i]
			default:
				j := min(len(v), i+r.IntN(8))
				v = append(v[:j], append(append([]byte{}, v[i:j]...), v[j:]...)...)
			}
			if len(v) == 0 {
				v = []byte("{")
			}
		}
		return v, r.IntN(4) == 0
	}},
	{"invalid UTF-8", true, func(id string, _ *rand.Rand) ([]byte, bool) {
		return []byte(fmt.Sprintf("{\"id\":%q,\"src\":\"caf\xe9 \xff\xfe\",\"mt\":\"x\",\"src_lang\":\"en\",\"tgt_lang\":\"de\"}", id)), false
	}},
	{"binary, no key", true, func(id string, _ *rand.Rand) ([]byte, bool) {
		return append([]byte("\xff\xfe\x00\x01 not text "), id...), true
	}},
	{"empty value", true, func(string, *rand.Rand) ([]byte, bool) { return []byte{}, false }},
	{"null value (tombstone)", true, func(string, *rand.Rand) ([]byte, bool) { return nil, false }},
	{"empty src", true, func(id string, _ *rand.Rand) ([]byte, bool) {
		return []byte(fmt.Sprintf(`{"id":%q,"src":"","mt":"Hallo","src_lang":"en","tgt_lang":"de"}`, id)), false
	}},
	{"blank mt", true, func(id string, _ *rand.Rand) ([]byte, bool) {
		return []byte(fmt.Sprintf(`{"id":%q,"src":"Hello","mt":"  \t ","src_lang":"en","tgt_lang":"de"}`, id)), false
	}},
	{"missing mt", true, func(id string, _ *rand.Rand) ([]byte, bool) {
		return []byte(fmt.Sprintf(`{"id":%q,"src":"Hello","src_lang":"en","tgt_lang":"de"}`, id)), false
	}},
	{"src a number", true, func(id string, _ *rand.Rand) ([]byte, bool) {
		return []byte(fmt.Sprintf(`{"id":%q,"src":42,"mt":"Hallo","src_lang":"en","tgt_lang":"de"}`, id)), false
	}},
	{"mt an array, lang a bool", true, func(id string, _ *rand.Rand) ([]byte, bool) {
		return []byte(fmt.Sprintf(`{"id":%q,"src":"Hello","mt":["Hallo"],"src_lang":true,"tgt_lang":"de"}`, id)), false
	}},
	{"unknown language pair", true, func(id string, _ *rand.Rand) ([]byte, bool) {
		return []byte(fmt.Sprintf(`{"id":%q,"src":"Hello","mt":"Hallo","src_lang":"xx","tgt_lang":"yy"}`, id)), false
	}},
	{"invalid language code", true, func(id string, _ *rand.Rand) ([]byte, bool) {
		return []byte(fmt.Sprintf(`{"id":%q,"src":"Hello","mt":"Hallo","src_lang":"klingon!","tgt_lang":"de"}`, id)), false
	}},
	{"lone surrogate", true, func(id string, _ *rand.Rand) ([]byte, bool) {
		return []byte(fmt.Sprintf(`{"id":%q,"src":"a\ud800b","mt":"x","src_lang":"en","tgt_lang":"de"}`, id)), false
	}},
	{"not an object", true, func(id string, r *rand.Rand) ([]byte, bool) {
		return []byte([]string{`[1,2,3]`, `"just a string"`, `42`, `null`, `true`}[r.IntN(5)]), true
	}},
	{"truncated JSON", true, func(id string, _ *rand.Rand) ([]byte, bool) {
		return []byte(fmt.Sprintf(`{"id":%q,"src":"Hello","mt":"Hal`, id)), false
	}},
	{"id an object (valid)", false, func(id string, _ *rand.Rand) ([]byte, bool) {
		return []byte(fmt.Sprintf(`{"id":{"ref":%q, "n": 1},"src":"Hello","mt":"Hallo","src_lang":"EN","tgt_lang":"de"}`, id)), false
	}},
	{"control characters (valid)", false, func(id string, _ *rand.Rand) ([]byte, bool) {
		return []byte(fmt.Sprintf(`{"id":%q,"src":"line one\nline two\t\u001f end","mt":"Zeile\r\neins","src_lang":"en","tgt_lang":"de","qe":"stale"}`, id)), false
	}},
	{"NUL in src", true, func(id string, _ *rand.Rand) ([]byte, bool) {
		return []byte(fmt.Sprintf(`{"id":%q,"src":"a\u0000b","mt":"x","src_lang":"en","tgt_lang":"de"}`, id)), false
	}},
}

// Scenario 6: poison input interleaved with good messages.
func (c *scenario) runPoison() {
	c.res.Fault = "10% poison interleaved: fuzzed JSON, invalid UTF-8, 10 MB and 1 MiB+1 values, empty/null values, empty fields, wrong types, unknown and invalid language codes; dead-letter topic max.message.bytes 2 MiB"
	c.createTopics(4)
	// The input topic takes 10 MB values (broker message.max.bytes 20 MiB),
	// the dead-letter topic only 2 MiB: those dead letters go out without
	// their value, with the reason, instead of stalling their partition.
	c.setTopicConfig(c.outputs[3:], "max.message.bytes", strconv.Itoa(2<<20))
	c.extraKafka = "  session_timeout: 10s\n  max_fetch_bytes: 16777216"
	c.extraInput = "  max_message_bytes: 1048576"
	nPoison := c.s.n / 10
	good := c.goodMessages(0, c.s.n-nPoison)
	type poison struct {
		msg   kafka.Message
		kind  string
		dead  bool
		id    string // audit id when knowable before producing ("" when keyless and not JSON)
		large bool
	}
	var ps []poison
	for i := 0; i < nPoison; i++ {
		id := fmt.Sprintf("%s-p%05d", c.name, i)
		var pk poisonKind
		var v []byte
		keyless, large := false, false
		switch {
		case i < 6: // 10 MB values
			pk = poisonKind{name: "10 MB value", dead: true}
			v = []byte(fmt.Sprintf(`{"id":%q,"src":"%s","mt":"x","src_lang":"en","tgt_lang":"de"}`, id, strings.Repeat("a", 10_000_000)))
			large = true
		case i < 12: // just over input.max_message_bytes
			pk = poisonKind{name: "1 MiB + 1 value", dead: true}
			pad := (1 << 20) + 1 - len(fmt.Sprintf(`{"id":%q,"src":"","mt":"x","src_lang":"en","tgt_lang":"de"}`, id))
			v = []byte(fmt.Sprintf(`{"id":%q,"src":"%s","mt":"x","src_lang":"en","tgt_lang":"de"}`, id, strings.Repeat("b", pad)))
			large = true
		case i < 14: // large but allowed: scored (the tokenizer truncates)
			pk = poisonKind{name: "500 kB valid value", dead: false}
			v = []byte(fmt.Sprintf(`{"id":%q,"src":"%s","mt":"ok","src_lang":"en","tgt_lang":"de"}`, id, strings.Repeat("word ", 100_000)))
			large = true
		default:
			pk = poisonKinds[c.rng.IntN(len(poisonKinds))]
			v, keyless = pk.value(id, c.rng)
		}
		m := kafka.Message{Value: v}
		if !keyless {
			m.Key = []byte(id)
		}
		aid := ""
		if a, kind := audit.ID("id", m.Value, m.Key, ""); kind != "position" {
			aid = a
		}
		ps = append(ps, poison{msg: m, kind: pk.name, dead: pk.dead, id: aid, large: large})
	}
	// Interleave: each poison message at a random place among the good.
	msgs := make([]kafka.Message, 0, c.s.n)
	slots := make([][]int, len(good)+1)
	for i := range ps {
		j := c.rng.IntN(len(good) + 1)
		slots[j] = append(slots[j], i)
	}
	kinds := map[string]int{}
	for j := 0; j <= len(good); j++ {
		for _, i := range slots[j] {
			msgs = append(msgs, ps[i].msg)
			kinds[ps[i].kind]++
		}
		if j < len(good) {
			msgs = append(msgs, good[j])
		}
	}
	c.res.Details["poison_by_kind"] = kinds
	c.produce(msgs)
	p := c.start()
	c.drainAll(6 * time.Minute)
	if len(p.logLines("gate running")) != 1 || !p.alive() {
		c.t.Fatalf("qegate restarted or died on poison input:\n%s", p.logTail(3000))
	}
	// Every poison message the gate must reject is on the dead-letter
	// topic, with a reason; the 12 oversized ones as "message too large".
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dead := map[string]int{}
	reasons := map[string]int{}
	keylessDead := 0
	err := kafkaread.Each(ctx, c.s.addrs, c.outputs[3], func(m kafka.Message) {
		src := string(header(m, qe.HeaderSource))
		id, kind := audit.ID("id", m.Value, m.Key, src)
		dead[id]++
		if m.Value == nil && len(m.Key) > 0 {
			// Written without its value (too large for this topic): the
			// poison messages are keyed by their id.
			dead["id:"+string(m.Key)]++
		}
		if kind == "position" {
			keylessDead++
		}
		reasons[reasonClass(string(header(m, qe.HeaderError)))]++
	})
	if err != nil {
		c.t.Fatal(err)
	}
	wantKeyless := 0
	for _, x := range ps {
		switch {
		case x.dead && x.id != "" && dead[x.id] == 0:
			c.t.Errorf("poison %q (%s) is not on the dead-letter topic", x.id, x.kind)
		case x.dead && x.id == "":
			wantKeyless++
		case !x.dead && x.kind != "fuzzed JSON" && x.id != "" && dead[x.id] > 0:
			c.t.Errorf("valid %q (%s) was dead-lettered", x.id, x.kind)
		}
	}
	if keylessDead < wantKeyless {
		c.t.Errorf("%d keyless dead letters, want at least %d", keylessDead, wantKeyless)
	}
	tooLarge, dropped := 0, 0
	for r, n := range reasons {
		if strings.HasPrefix(r, "message too large") {
			tooLarge += n
			if strings.Contains(r, "bytes dropped") {
				dropped += n
			}
		} else if strings.Contains(r, "bytes dropped") {
			c.t.Errorf("%d small dead letters lost their value (a batch-mate's refusal pinned on them): %s", n, r)
		}
	}
	c.res.Details["too_large_dead_letters"] = tooLarge
	c.res.Details["too_large_for_dead_letter_topic_value_dropped"] = dropped
	if tooLarge != 12 || dropped != 6 {
		c.t.Errorf("want 12 dead letters as too large, 6 of them (10 MB) without their value; got %d and %d (reasons %v)", tooLarge, dropped, reasons)
	}
	c.res.Details["dead_letter_reasons"] = reasons
	c.check = func(rep *audit.Report) {
		// The operator's view when a topic is forgotten: audit without the
		// dead-letter topic reports every dead letter missing and fails.
		partial := c.auditOf(c.outputs[:3])
		if partial.Missing != rep.ByTopic[c.outputs[3]] || partial.Missing == 0 {
			c.t.Errorf("audit without the dead-letter topic: %d missing, want %d", partial.Missing, rep.ByTopic[c.outputs[3]])
		}
	}
}
