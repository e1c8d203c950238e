package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// Cluster is n combined broker+controller nodes on 127.0.0.1 forming one
// KRaft cluster whose controller quorum is all n nodes (a static
// controller.quorum.voters), for replication and failover tests:
//
//	c := kafkatest.StartCluster(t, 3, kafkatest.Options{})
//	c.CreateTopic(t, kafkatest.Topic{Name: "in", Partitions: 1, ReplicationFactor: 3, MinInsyncReplicas: 2})
//	leader, _ := c.Leader("in", 0)
//	c.Node(leader).Kill()
//	... c.Node(leader).Start()
//
// Each node has its own ports and directory; internal topics get
// replication factor min(n, 3). With 2 CPU cores and a few GiB of memory
// to spare, keep n at 3 and the heap at its default of 320 MiB per node.
type Cluster struct {
	t       testing.TB
	nodes   []*Broker
	startup time.Duration
}

// StartCluster formats and starts n nodes and returns once every node
// answers metadata requests listing itself. opts applies to every node
// (Options.Secure gives every node the TLS listeners, with one shared CA);
// HeapMB 0 means 320. The nodes are killed by t.Cleanup: a graceful stop of
// the last nodes of a cluster waits on a quorum that is gone.
func StartCluster(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("kafkatest: StartCluster: n = %d, want >= 1", n)
	}
	if opts.HeapMB <= 0 {
		opts.HeapMB = 320
	}
	began := time.Now()
	c := &Cluster{t: t, nodes: newNodes(t, n, opts)}
	t.Cleanup(func() {
		if t.Failed() {
			for _, b := range c.nodes {
				b.logTail(40)
			}
		}
		for _, b := range c.nodes {
			b.Kill()
		}
	})
	if err := c.each(func(b *Broker) error { return b.format() }); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	// Every node must be running before any can be ready: none has a
	// quorum alone.
	exited := make([]<-chan struct{}, n)
	for i, b := range c.nodes {
		done, err := b.launch()
		if err != nil {
			t.Fatalf("kafkatest: node %d: %v", i, err)
		}
		exited[i] = done
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.StartTimeout+time.Duration(n)*30*time.Second)
	defer cancel()
	for i, b := range c.nodes {
		if err := b.waitReady(ctx, exited[i]); err != nil {
			b.logTail(80)
			t.Fatalf("kafkatest: node %d: %v", i, err)
		}
	}
	c.startup = time.Since(began)
	t.Logf("kafkatest: %d-node cluster %v up in %s", n, c.Addrs(), c.startup.Round(time.Millisecond))
	return c
}

// each runs f on every node concurrently and joins the errors.
func (c *Cluster) each(f func(*Broker) error) error {
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, b := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(b)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Node returns node i, 0-based; its Kafka node.id is i+1. Stop, Kill,
// Start, Restart, Pause and Resume act on that node alone.
func (c *Cluster) Node(i int) *Broker { return c.nodes[i] }

// Addrs returns every node's PLAINTEXT address, running or not, as
// bootstrap brokers for a client that must survive any one node's death.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.nodes))
	for i, b := range c.nodes {
		out[i] = b.Addr()
	}
	return out
}

// StartupTime reports how long StartCluster took, formatting included.
func (c *Cluster) StartupTime() time.Duration { return c.startup }

// running returns the addresses of the nodes whose process is alive.
func (c *Cluster) running() []string {
	var out []string
	for _, b := range c.nodes {
		if b.Running() {
			out = append(out, b.Addr())
		}
	}
	return out
}

// Leader returns the index (as for Node) of the current leader of
// topic/partition, asking the running nodes.
func (c *Cluster) Leader(topic string, partition int) (int, error) {
	addrs := c.running()
	if len(addrs) == 0 {
		return -1, errors.New("kafkatest: no node is running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, done := clientFor(addrs, 5*time.Second)
	defer done()
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return -1, fmt.Errorf("kafkatest: metadata %s: %w", topic, err)
	}
	for _, tp := range md.Topics {
		if tp.Error != nil {
			return -1, fmt.Errorf("kafkatest: topic %s: %w", topic, tp.Error)
		}
		for _, p := range tp.Partitions {
			if p.ID != partition {
				continue
			}
			if p.Error != nil {
				return -1, fmt.Errorf("kafkatest: %s/%d: %w", topic, partition, p.Error)
			}
			for i, b := range c.nodes {
				if b.node.id == p.Leader.ID && p.Leader.Host != "" {
					return i, nil
				}
			}
			return -1, fmt.Errorf("kafkatest: %s/%d has no leader (leader id %d)", topic, partition, p.Leader.ID)
		}
	}
	return -1, fmt.Errorf("kafkatest: %s/%d not in metadata", topic, partition)
}

// CreateTopic creates topics on the cluster (ReplicationFactor 0 means
// min(n, 3)) and waits until every partition has a leader and a full ISR.
func (c *Cluster) CreateTopic(t testing.TB, topics ...Topic) {
	t.Helper()
	for i := range topics {
		if topics[i].ReplicationFactor <= 0 {
			topics[i].ReplicationFactor = min(len(c.nodes), 3)
		}
	}
	createTopics(t, c.running(), topics)
	// Each node learns of the topic from the metadata log at its own pace;
	// wait until every running node describes it in sync, so that a client
	// bootstrapping from any of them finds it.
	var names []string
	for _, tp := range topics {
		names = append(names, tp.Name)
	}
	c.WaitInSync(t, time.Minute, names...)
}

// Topic describes a topic to create.
type Topic struct {
	// Name is the topic name. Required.
	Name string
	// Partitions is the partition count; 0 means 1.
	Partitions int
	// ReplicationFactor is the number of replicas; 0 means 1 on a Broker
	// and min(n, 3) on a Cluster.
	ReplicationFactor int
	// MinInsyncReplicas sets min.insync.replicas (what acks=all waits
	// for); 0 leaves the broker default, 1.
	MinInsyncReplicas int
	// Config holds more topic configs, e.g. max.message.bytes.
	Config map[string]string
}

// CreateTopic creates topics on b (ReplicationFactor 0 means 1) and waits
// until every partition has a leader.
func (b *Broker) CreateTopic(t testing.TB, topics ...Topic) {
	t.Helper()
	createTopics(t, []string{b.Addr()}, topics)
}

// createTopics creates topics (existing ones are left alone) and waits
// until each partition has a leader and all its replicas in sync.
func createTopics(t testing.TB, addrs []string, topics []Topic) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client, done := clientFor(addrs, 10*time.Second)
	defer done()
	req := &kafka.CreateTopicsRequest{}
	var names []string
	for _, tp := range topics {
		cfg := kafka.TopicConfig{Topic: tp.Name, NumPartitions: max(tp.Partitions, 1), ReplicationFactor: max(tp.ReplicationFactor, 1)}
		if tp.MinInsyncReplicas > 0 {
			cfg.ConfigEntries = append(cfg.ConfigEntries, kafka.ConfigEntry{ConfigName: "min.insync.replicas", ConfigValue: strconv.Itoa(tp.MinInsyncReplicas)})
		}
		for k, v := range tp.Config {
			cfg.ConfigEntries = append(cfg.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: v})
		}
		req.Topics = append(req.Topics, cfg)
		names = append(names, tp.Name)
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
	if err := waitInSync(ctx, addrs, names); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
}

// waitInSync polls metadata until every partition of topics has a leader
// and every replica in its ISR.
func waitInSync(ctx context.Context, addrs, topics []string) error {
	var last error
	for {
		client, done := clientFor(addrs, 5*time.Second)
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
		done()
		switch {
		case err != nil:
			last = fmt.Errorf("metadata: %w", err)
		case len(md.Topics) < len(topics):
			last = fmt.Errorf("metadata lists %d of %d topics", len(md.Topics), len(topics))
		default:
			if last = leadersKnown(md.Topics); last == nil {
				last = fullISR(md.Topics)
			}
			if last == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for in-sync replicas of %v: %w (last: %v)", topics, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func fullISR(topics []kafka.Topic) error {
	for _, tp := range topics {
		for _, p := range tp.Partitions {
			if len(p.Isr) < len(p.Replicas) {
				return fmt.Errorf("partition %s/%d has %d of %d replicas in sync", tp.Name, p.ID, len(p.Isr), len(p.Replicas))
			}
		}
	}
	return nil
}

// WaitInSync waits (up to timeout) until every running node describes
// every partition of topics with a leader and all its replicas in the ISR,
// e.g. after a node restarted.
func (c *Cluster) WaitInSync(t testing.TB, timeout time.Duration, topics ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, addr := range c.running() {
		if err := waitInSync(ctx, []string{addr}, topics); err != nil {
			t.Fatalf("kafkatest: node %s: %v", addr, err)
		}
	}
}

// Start starts a stopped (or killed) node on its ports and directory and
// waits until it is ready; a running node is left alone. Call it from the
// test's goroutine: it fails the test on error.
func (b *Broker) Start() {
	b.t.Helper()
	if b.Running() {
		return
	}
	began := time.Now()
	if err := b.start(); err != nil {
		b.logTail(80)
		b.t.Fatalf("kafkatest: start node id %d: %v", b.node.id, err)
	}
	b.t.Logf("kafkatest: node id %d (%s) started in %s", b.node.id, b.Addr(), time.Since(began).Round(time.Millisecond))
}

// ID returns the broker's Kafka node.id.
func (b *Broker) ID() int { return b.node.id }

// clientFor returns a kafka-go admin client for addrs with its own
// transport, so no connection outlives a restart, and a func that
// releases it.
func clientFor(addrs []string, timeout time.Duration) (*kafka.Client, func()) {
	tr := &kafka.Transport{DialTimeout: timeout, IdleTimeout: time.Second, MetadataTTL: time.Second}
	return &kafka.Client{Addr: kafka.TCP(addrs...), Timeout: timeout, Transport: tr}, tr.CloseIdleConnections
}
