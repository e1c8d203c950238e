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
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

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
	// HeapMB is the JVM's maximum heap in MiB; 0 means 512.
	HeapMB int
}

// Broker is a running (or stopped) Kafka broker owned by one test.
type Broker struct {
	t    testing.TB
	opts Options

	java, libs                          string
	dir, configPath, log4jPath, logPath string
	stdoutPath                          string
	port, controllerPort                int

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
	java, libs, err := locate()
	if err != nil {
		skipOrFail(t, err.Error())
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 120 * time.Second
	}
	if opts.HeapMB <= 0 {
		opts.HeapMB = 512
	}
	ports, err := freePorts(2)
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	dir := t.TempDir()
	b := &Broker{
		t: t, opts: opts, java: java, libs: libs, dir: dir,
		configPath: filepath.Join(dir, "server.properties"),
		log4jPath:  filepath.Join(dir, "log4j.properties"),
		logPath:    filepath.Join(dir, "server.log"),
		stdoutPath: filepath.Join(dir, "stdout.log"),
		port:       ports[0], controllerPort: ports[1],
	}
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
	t.Logf("kafkatest: broker %s up in %s (dir %s)", b.Addr(), b.startup.Round(time.Millisecond), dir)
	return b
}

// Addr returns the bootstrap address, 127.0.0.1:port.
func (b *Broker) Addr() string { return "127.0.0.1:" + strconv.Itoa(b.port) }

// Dir returns the broker's temporary directory (config, data, logs).
func (b *Broker) Dir() string { return b.dir }

// LogFile returns the path of the broker's log4j log.
func (b *Broker) LogFile() string { return b.logPath }

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
func (b *Broker) Pause() { b.signal(syscall.SIGSTOP) }

// Resume continues a broker frozen by Pause (SIGCONT).
func (b *Broker) Resume() { b.signal(syscall.SIGCONT) }

func (b *Broker) signal(sig syscall.Signal) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.runningLocked() {
		_ = b.cmd.Process.Signal(sig)
	}
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

// format writes the configs and formats the log directory.
func (b *Broker) format() error {
	id, err := newClusterID()
	if err != nil {
		return fmt.Errorf("cluster id: %w", err)
	}
	cfg := serverConfig(b.port, b.controllerPort, filepath.Join(b.dir, "data"), b.opts)
	if err := os.WriteFile(b.configPath, []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("write server.properties: %w", err)
	}
	if err := os.WriteFile(b.log4jPath, []byte(log4jConfig(b.logPath)), 0o644); err != nil {
		return fmt.Errorf("write log4j.properties: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.StartTimeout)
	defer cancel()
	args := append(b.jvmArgs(), "kafka.tools.StorageTool", "format",
		"-t", id, "-c", b.configPath, "--standalone")
	cmd := exec.CommandContext(ctx, b.java, args...)
	cmd.Dir = b.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("format storage: %w\n%s", err, out)
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
	out, err := os.OpenFile(b.stdoutPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open stdout log: %w", err)
	}
	defer out.Close()
	cmd := exec.Command(b.java, append(b.jvmArgs(), "kafka.Kafka", b.configPath)...)
	cmd.Dir = b.dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start kafka.Kafka: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	b.mu.Lock()
	b.cmd, b.done = cmd, done
	b.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), b.opts.StartTimeout)
	defer cancel()
	if err := b.waitReady(ctx, done); err != nil {
		b.Kill()
		return err
	}
	return nil
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
	if len(md.Brokers) == 0 {
		return errors.New("metadata lists no brokers")
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
	tr := &kafka.Transport{DialTimeout: timeout, IdleTimeout: time.Second, MetadataTTL: time.Second}
	return &kafka.Client{Addr: kafka.TCP(b.Addr()), Timeout: timeout, Transport: tr}, tr.CloseIdleConnections
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
