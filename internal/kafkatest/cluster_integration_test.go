//go:build integration

package kafkatest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/kafkaread"
	"github.com/qegate/qegate/internal/kafkatest"
)

// TestClusterLeaderKilledMidStream is the harness half of issue 14: a
// 3-node KRaft cluster, a topic with RF 3 and min.insync.replicas 2,
// acks=all writes, the partition leader SIGKILLed mid-stream and started
// again. Every acknowledged message must be readable afterwards (a retried
// batch may appear twice; none may be missing).
func TestClusterLeaderKilledMidStream(t *testing.T) {
	c := kafkatest.StartCluster(t, 3, kafkatest.Options{DisableAutoCreateTopics: true})
	t.Logf("3-node cluster start took %s", c.StartupTime())
	const topic = "replicated"
	c.CreateTopic(t, kafkatest.Topic{Name: topic, Partitions: 1, ReplicationFactor: 3, MinInsyncReplicas: 2})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	checkTopic(ctx, t, c.Addrs(), topic)

	// A short metadata TTL so the writer finds the new leader within a
	// second rather than kafka-go's default 6s.
	tr := &kafka.Transport{MetadataTTL: 500 * time.Millisecond, DialTimeout: 2 * time.Second, IdleTimeout: time.Second}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{
		Addr: kafka.TCP(c.Addrs()...), Topic: topic, Transport: tr,
		RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, BatchSize: 1000,
		MaxAttempts: 3, WriteBackoffMin: 50 * time.Millisecond, WriteBackoffMax: 500 * time.Millisecond,
		WriteTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second,
	}
	defer w.Close()

	const batches, perBatch, killAt, restartAt = 40, 50, 10, 25
	acked := map[string]bool{}
	killed, failedWrites := -1, 0
	var killedAt time.Time
	for bi := range batches {
		switch bi {
		case killAt:
			leader, err := c.Leader(topic, 0)
			if err != nil {
				t.Fatal(err)
			}
			killed, killedAt = leader, time.Now()
			c.Node(leader).Kill()
			t.Logf("killed the leader, node %d (node id %d), after %d acked messages", leader, c.Node(leader).ID(), len(acked))
		case restartAt:
			c.Node(killed).Start()
		}
		msgs := make([]kafka.Message, perBatch)
		for i := range msgs {
			k := fmt.Sprintf("m%05d", bi*perBatch+i)
			msgs[i] = kafka.Message{Key: []byte(k), Value: []byte("value of " + k)}
		}
		// At-least-once producer: a batch is retried until the broker
		// acknowledges it with acks=all; a lost acknowledgement makes a
		// duplicate, never a gap.
		for {
			err := w.WriteMessages(ctx, msgs...)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("batch %d never acknowledged: %v", bi, err)
			}
			failedWrites++
			var we kafka.WriteErrors
			if !errors.As(err, &we) && failedWrites%10 == 1 {
				t.Logf("batch %d: write failed, retrying: %v", bi, err)
			}
			time.Sleep(100 * time.Millisecond) // scenario: the producer's backoff between attempts while the leader is down
		}
		for _, m := range msgs {
			acked[string(m.Key)] = true
		}
		if bi == killAt {
			t.Logf("first batch after the kill acknowledged %s after it (%d failed attempts)", time.Since(killedAt).Round(time.Millisecond), failedWrites)
		}
	}
	if newLeader, err := c.Leader(topic, 0); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("leader now node %d (killed: %d)", newLeader, killed)
	}
	c.WaitInSync(t, 2*time.Minute, topic)

	msgs, err := kafkaread.Topic(ctx, c.Addrs(), topic)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range msgs {
		seen[string(m.Key)]++
	}
	missing, dups := 0, 0
	for k := range acked {
		switch n := seen[k]; {
		case n == 0:
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged message %s missing after the failover", k)
			}
		case n > 1:
			dups += n - 1
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged messages missing", missing, len(acked))
	}
	if len(acked) != batches*perBatch {
		t.Fatalf("acked %d messages, want %d", len(acked), batches*perBatch)
	}
	t.Logf("all %d acknowledged messages readable; %d duplicates from retried batches; %d failed write attempts during the failover", len(acked), dups, failedWrites)
}

// checkTopic verifies what the topic was created with: three replicas on
// three different nodes, and min.insync.replicas=2.
func checkTopic(ctx context.Context, t *testing.T, addrs []string, topic string) {
	t.Helper()
	// Its own transport: kafka-go's default one caches metadata for 6s
	// across clients.
	tr := &kafka.Transport{MetadataTTL: 100 * time.Millisecond}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(addrs...), Timeout: 10 * time.Second, Transport: tr}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Brokers) != 3 {
		t.Fatalf("metadata lists %d brokers, want 3", len(md.Brokers))
	}
	if len(md.Topics) != 1 || len(md.Topics[0].Partitions) != 1 {
		t.Fatalf("metadata of %s: %+v, want one topic with one partition", topic, md.Topics)
	}
	p := md.Topics[0].Partitions[0]
	ids := map[int]bool{}
	for _, r := range p.Replicas {
		ids[r.ID] = true
	}
	if len(ids) != 3 || len(p.Isr) != 3 {
		t.Fatalf("partition replicas %v ISR %v, want 3 distinct nodes in sync", p.Replicas, p.Isr)
	}
	res, err := client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"min.insync.replicas"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, r := range res.Resources {
		for _, e := range r.ConfigEntries {
			if e.ConfigName == "min.insync.replicas" {
				got = e.ConfigValue
			}
		}
	}
	if got != "2" {
		t.Fatalf("min.insync.replicas = %q, want 2", got)
	}
}
