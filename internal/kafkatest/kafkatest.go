// Package kafkatest runs a real Apache Kafka broker for tests: a single
// combined KRaft broker+controller on 127.0.0.1, started from the jars that
// `make native` resolves into .cache/kafka/libs.
//
//	b := kafkatest.Start(t, kafkatest.Options{Partitions: 3})
//	b.CreateTopics(t, 3, "in", "out")
//	b.KcatProduce(t, "in", []string{"a", "b"})
//	... kafka-go against b.Addr() ...
//
// The broker lives in t.TempDir() and is stopped by t.Cleanup. When java or
// the jars are missing the test is skipped, unless the environment variable
// CI is set, in which case it fails. Suites that use this package carry the
// build tag `integration` (make test runs them).
package kafkatest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/kafkatest/pki"
	"github.com/qegate/qegate/internal/native"
)

// EnvKafkaLibs names the environment variable that overrides the directory
// holding the Kafka jars (default: <repo>/.cache/kafka/libs).
const EnvKafkaLibs = "QEGATE_KAFKA_LIBS"

// Options configure the broker. The zero value is a broker whose
// auto-created topics have one partition.
type Options struct {
	// Partitions is num.partitions, the partition count of auto-created
	// topics; 0 means 1.
	Partitions int
	// OffsetsPartitions is the partition count of __consumer_offsets; 0
	// means 1, which keeps the first consumer group join fast.
	OffsetsPartitions int
	// DisableAutoCreateTopics turns auto.create.topics.enable off.
	DisableAutoCreateTopics bool
	// Config holds extra server.properties entries; they override the
	// defaults.
	Config map[string]string
	// StartTimeout bounds each start (and restart) of the broker; 0 means
	// 120 seconds.
	StartTimeout time.Duration
	// HeapMB is the JVM's maximum heap in MiB; 0 means 512 for a single
	// broker and 320 for each node of a cluster.
	HeapMB int
	// Secure adds TLS listeners on more free ports of 127.0.0.1, with
	// certificates generated into the broker's directory (see pki):
	// SASL_SSL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), MTLS (SSL with
	// ssl.client.auth=required), and EXPIRED and WRONGHOST (SSL listeners
	// presenting an expired and a wrong-host certificate, for negative
	// tests). Inter-broker and controller traffic stays PLAINTEXT.
	Secure bool
	// Users are the SASL users, name to password, created at format time
	// for both SCRAM mechanisms and listed in PLAIN's JAAS entry. Empty
	// with Secure: one user, DefaultUser, with a random password.
	Users map[string]string
}

// DefaultUser is the SASL user Options.Secure creates when Options.Users is
// empty.
const DefaultUser = "alice"

// Broker is a running (or stopped) Kafka broker owned by one test.
type Broker struct {
	t    testing.TB
	opts Options

	java, libs                          string
	dir, configPath, log4jPath, logPath string
	stdoutPath                          string
	port, controllerPort                int
	node                                nodeConfig
	clusterID                           string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited

	startup time.Duration
}

// Start formats a fresh log directory and starts a broker on free ports of
// 127.0.0.1. It returns once the broker answers metadata requests and
// registers a cleanup that stops it. It skips (or, under CI, fails) the test
// when java or the Kafka jars are missing.
func Start(t testing.TB, opts Options) *Broker {
	t.Helper()
	if opts.HeapMB <= 0 {
		opts.HeapMB = 512
	}
	nodes := newNodes(t, 1, opts)
	b := nodes[0]
	began := time.Now()
	if err := b.format(); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b.logTail(80)
		}
		b.Stop()
	})
	if err := b.start(); err != nil {
		b.logTail(80)
		t.Fatalf("kafkatest: %v", err)
	}
	b.startup = time.Since(began)
	t.Logf("kafkatest: broker %s up in %s (dir %s)", b.Addr(), b.startup.Round(time.Millisecond), b.dir)
	return b
}

// newNodes prepares n nodes of one cluster (ports, directories, shared
// cluster id, certificates and users), formatting and starting none.
func newNodes(t testing.TB, n int, opts Options) []*Broker {
	t.Helper()
	java, libs, err := locate()
	if err != nil {
		skipOrFail(t, err.Error())
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 120 * time.Second
	}
	perNode := 2
	if opts.Secure {
		perNode += len(secureListeners)
	}
	ports, err := freePorts(n * perNode)
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	id, err := newClusterID()
	if err != nil {
		t.Fatalf("kafkatest: cluster id: %v", err)
	}
	var certs *pki.Set
	users := opts.Users
	if opts.Secure {
		// One CA and one set of certificates for every node: all listen on
		// 127.0.0.1, which the server certificate names.
		if certs, err = pki.Generate(t.TempDir()); err != nil {
			t.Fatalf("kafkatest: %v", err)
		}
		if len(users) == 0 {
			pw, err := randomPassword()
			if err != nil {
				t.Fatalf("kafkatest: %v", err)
			}
			users = map[string]string{DefaultUser: pw}
		}
	}
	var voters []string
	for i := range n {
		voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", i+1, ports[i*perNode+1]))
	}
	nodes := make([]*Broker, n)
	for i := range n {
		dir := t.TempDir()
		p := ports[i*perNode : (i+1)*perNode]
		nc := nodeConfig{
			id: i + 1, port: p[0], controllerPort: p[1],
			dataDir: filepath.Join(dir, "data"), replicas: n,
			certs: certs, users: users,
		}
		if n > 1 {
			nc.voters = strings.Join(voters, ",")
		}
		if opts.Secure {
			nc.securePorts = map[string]int{}
			for j, l := range secureListeners {
				nc.securePorts[l] = p[2+j]
			}
		}
		nodes[i] = &Broker{
			t: t, opts: opts, java: java, libs: libs, dir: dir,
			configPath: filepath.Join(dir, "server.properties"),
			log4jPath:  filepath.Join(dir, "log4j.properties"),
			logPath:    filepath.Join(dir, "server.log"),
			stdoutPath: filepath.Join(dir, "stdout.log"),
			port:       nc.port, controllerPort: nc.controllerPort,
			node: nc, clusterID: id,
		}
	}
	return nodes
}

func randomPassword() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random password: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Addr returns the bootstrap address, 127.0.0.1:port.
func (b *Broker) Addr() string { return "127.0.0.1:" + strconv.Itoa(b.port) }

// StartupTime reports how long Start took, storage formatting included.
func (b *Broker) StartupTime() time.Duration { return b.startup }

// Running reports whether the broker process is alive.
func (b *Broker) Running() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.runningLocked()
}

func (b *Broker) runningLocked() bool {
	if b.cmd == nil {
		return false
	}
	select {
	case <-b.done:
		return false
	default:
		return true
	}
}

// Stop shuts the broker down gracefully (SIGTERM, then SIGKILL after 20
// seconds). Stopping a stopped broker does nothing. Data stays in place for
// Restart.
func (b *Broker) Stop() { b.halt(syscall.SIGTERM, 20*time.Second) }

// Kill ends the broker with SIGKILL, as a crash would. Data stays in place
// for Restart.
func (b *Broker) Kill() { b.halt(syscall.SIGKILL, 0) }

// Pause freezes the broker process (SIGSTOP): connections stay open but
// nothing answers, as with a hung broker or a network stall. Resume undoes it.
// It returns once every thread of the JVM has stopped: the kernel stops a
// process's threads only after the one it picked for the signal has been
// scheduled, and on a loaded machine the others serve requests until then.
// Call it from the goroutine running the test that called Start.
func (b *Broker) Pause() {
	b.t.Helper()
	pid := b.signal(syscall.SIGSTOP)
	if pid == 0 {
		return
	}
	if err := waitStopped(pid, 30*time.Second); err != nil {
		b.t.Fatalf("kafkatest: pause: %v", err)
	}
}

// Resume continues a broker frozen by Pause (SIGCONT).
func (b *Broker) Resume() { b.signal(syscall.SIGCONT) }

// signal sends sig to the broker process and returns its pid; 0 when no
// broker runs.
func (b *Broker) signal(sig syscall.Signal) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.runningLocked() {
		return 0
	}
	_ = b.cmd.Process.Signal(sig)
	return b.cmd.Process.Pid
}

// Restart stops the broker if it runs and starts it again on the same ports
// with the same log directory, returning once it answers and every existing
// partition has a leader. Call it from the goroutine running the test that
// called Start: it fails that test on error.
func (b *Broker) Restart() {
	b.t.Helper()
	b.Stop()
	began := time.Now()
	if err := b.start(); err != nil {
		b.logTail(80)
		b.t.Fatalf("kafkatest: restart: %v", err)
	}
	b.t.Logf("kafkatest: broker %s restarted in %s", b.Addr(), time.Since(began).Round(time.Millisecond))
}

func (b *Broker) halt(sig syscall.Signal, grace time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.runningLocked() {
		b.cmd = nil
		return
	}
	began := time.Now()
	_ = b.cmd.Process.Signal(syscall.SIGCONT) // a paused JVM cannot handle SIGTERM
	_ = b.cmd.Process.Signal(sig)
	if grace > 0 {
		select {
		case <-b.done:
		case <-time.After(grace):
			b.t.Logf("kafkatest: broker did not stop within %s; killing it", grace)
			_ = b.cmd.Process.Kill()
		}
	}
	<-b.done
	b.cmd = nil
	b.t.Logf("kafkatest: broker %s stopped (%s) in %s", b.Addr(), sig, time.Since(began).Round(time.Millisecond))
}

// CreateTopics creates topics with the given partition count (replication
// factor 1) and waits until every partition has a leader. Topics that
// already exist are left as they are.
func (b *Broker) CreateTopics(t testing.TB, partitions int, names ...string) {
	t.Helper()
	if partitions <= 0 {
		partitions = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client, done := b.client(10 * time.Second)
	defer done()
	req := &kafka.CreateTopicsRequest{}
	for _, n := range names {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: n, NumPartitions: partitions, ReplicationFactor: 1})
	}
	resp, err := client.CreateTopics(ctx, req)
	if err != nil {
		t.Fatalf("kafkatest: create topics %v: %v", names, err)
	}
	for name, err := range resp.Errors {
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			t.Fatalf("kafkatest: create topic %q: %v", name, err)
		}
	}
	if err := b.waitLeaders(ctx, names); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
}

// locate finds the java binary and the directory of Kafka jars.
func locate() (java, libs string, err error) {
	java = filepath.Join(os.Getenv("JAVA_HOME"), "bin", "java")
	if os.Getenv("JAVA_HOME") == "" || !isFile(java) {
		if java, err = exec.LookPath("java"); err != nil {
			return "", "", errors.New("java not found (install a JRE 17+ or set JAVA_HOME)")
		}
	}
	libs = os.Getenv(EnvKafkaLibs)
	if libs == "" {
		root := native.RepoRoot()
		if root == "" {
			return "", "", errors.New("repository root not found, so .cache/kafka/libs is unknown (set " + EnvKafkaLibs + ")")
		}
		libs = filepath.Join(root, ".cache", "kafka", "libs")
	}
	if m, _ := filepath.Glob(filepath.Join(libs, "kafka_2.*.jar")); len(m) == 0 {
		return "", "", fmt.Errorf("no Kafka jars in %s (run `make native`)", libs)
	}
	return java, libs, nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// ci reports whether the environment variable CI asks missing pieces to fail.
func ci() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "0" && v != "false"
}

func skipOrFail(t testing.TB, why string) {
	t.Helper()
	if ci() {
		t.Fatalf("kafkatest: %s (CI is set, so this fails instead of skipping)", why)
	}
	t.Skipf("kafkatest: %s; skipping (set CI=true to make this a failure)", why)
}

// format writes the configs and formats the log directory, creating the
// SCRAM users in the initial metadata.
func (b *Broker) format() error {
	cfg := serverConfig(b.node, b.opts)
	if err := os.WriteFile(b.configPath, []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("write server.properties: %w", err)
	}
	if err := os.WriteFile(b.log4jPath, []byte(log4jConfig(b.logPath)), 0o644); err != nil {
		return fmt.Errorf("write log4j.properties: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.StartTimeout)
	defer cancel()
	args := append(b.jvmArgs(), "kafka.tools.StorageTool", "format", "-t", b.clusterID, "-c", b.configPath)
	if b.node.voters == "" {
		args = append(args, "--standalone")
	}
	if b.node.securePorts != nil {
		for _, u := range slices.Sorted(maps.Keys(b.node.users)) {
			for _, m := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
				args = append(args, "--add-scram", fmt.Sprintf("%s=[name=%s,password=%s]", m, u, b.node.users[u]))
			}
		}
	}
	cmd := exec.CommandContext(ctx, b.java, args...)
	cmd.Dir = b.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("format storage of node %d: %w\n%s", b.node.id, err, out)
	}
	return nil
}

func (b *Broker) jvmArgs() []string {
	return []string{
		"-Xms64m", "-Xmx" + strconv.Itoa(b.opts.HeapMB) + "m",
		"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss1m",
		"-Djava.awt.headless=true",
		"-Dlog4j.configuration=file:" + b.log4jPath,
		"-Dkafka.logs.dir=" + b.dir,
		"-cp", filepath.Join(b.libs, "*"),
	}
}

// start launches the broker process and waits until it is ready.
func (b *Broker) start() error {
	done, err := b.launch()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.StartTimeout)
	defer cancel()
	if err := b.waitReady(ctx, done); err != nil {
		b.Kill()
		return err
	}
	return nil
}

// launch starts the broker process without waiting for it; the channel is
// closed when the process exits.
func (b *Broker) launch() (<-chan struct{}, error) {
	out, err := os.OpenFile(b.stdoutPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open stdout log: %w", err)
	}
	defer out.Close()
	cmd := exec.Command(b.java, append(b.jvmArgs(), "kafka.Kafka", b.configPath)...)
	cmd.Dir = b.dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start kafka.Kafka: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	b.mu.Lock()
	b.cmd, b.done = cmd, done
	b.mu.Unlock()
	return done, nil
}

// waitReady polls metadata until the broker lists itself and every partition
// it knows has a leader, the process exits, or ctx ends.
func (b *Broker) waitReady(ctx context.Context, exited <-chan struct{}) error {
	var last error
	for {
		select {
		case <-exited:
			return fmt.Errorf("broker exited during start-up (log %s)", b.logPath)
		case <-ctx.Done():
			return fmt.Errorf("broker not ready after %s: %w (last: %v)", b.opts.StartTimeout, ctx.Err(), last)
		default:
		}
		last = b.ready(ctx)
		if last == nil {
			return nil
		}
		select {
		case <-exited:
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (b *Broker) ready(ctx context.Context) error {
	client, done := b.client(2 * time.Second)
	defer done()
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	self := false
	for _, br := range md.Brokers {
		self = self || br.ID == b.node.id
	}
	if !self {
		// A KRaft broker serves metadata before it has registered; until
		// it lists itself it is not usable as a partition leader.
		return fmt.Errorf("metadata lists %d brokers but not node %d", len(md.Brokers), b.node.id)
	}
	return leadersKnown(md.Topics)
}

func (b *Broker) waitLeaders(ctx context.Context, topics []string) error {
	var last error
	for {
		client, done := b.client(5 * time.Second)
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
		done()
		switch {
		case err != nil:
			last = fmt.Errorf("metadata: %w", err)
		case len(md.Topics) < len(topics):
			last = fmt.Errorf("metadata lists %d of %d topics", len(md.Topics), len(topics))
		default:
			if last = leadersKnown(md.Topics); last == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for leaders of %v: %w (last: %v)", topics, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func leadersKnown(topics []kafka.Topic) error {
	for _, tp := range topics {
		if tp.Error != nil {
			return fmt.Errorf("topic %s: %w", tp.Name, tp.Error)
		}
		for _, p := range tp.Partitions {
			if p.Error != nil {
				return fmt.Errorf("partition %s/%d: %w", tp.Name, p.ID, p.Error)
			}
			if p.Leader.Host == "" {
				return fmt.Errorf("partition %s/%d has no leader", tp.Name, p.ID)
			}
		}
	}
	return nil
}

// client returns a kafka-go admin client with its own transport, so no
// connection outlives a restart, and a func that releases it.
func (b *Broker) client(timeout time.Duration) (*kafka.Client, func()) {
	return clientFor([]string{b.Addr()}, timeout)
}

// logTail copies the last n lines of the broker's logs into the test log.
func (b *Broker) logTail(n int) {
	for _, p := range []string{b.stdoutPath, b.logPath} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		var lines []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if len(lines) > n {
				lines = lines[1:]
			}
		}
		_ = f.Close()
		if len(lines) > 0 {
			b.t.Logf("kafkatest: last %d lines of %s:\n%s", len(lines), p, strings.Join(lines, "\n"))
		}
	}
}
