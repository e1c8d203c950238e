//go:build integration

package source_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/qegate/qegate/internal/kafkatest"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/internal/testutil"
	"github.com/qegate/qegate/pipeline"
	"github.com/qegate/qegate/pipeline/pipelinetest"
	"github.com/qegate/qegate/source"
)

func pairValue(id string) []byte {
	v, _ := json.Marshal(map[string]string{"id": id, "src": "Hello", "mt": "Hallo Welt", "src_lang": "en", "tgt_lang": "de"})
	return v
}

// runSource runs a Kafka source on one-partition topic "in" of b into an
// engine with a memory sink until n items are routed, and returns the sink
// and the source (for its metrics).
func runSource(t *testing.T, b *kafkatest.Broker, group string, n int64) (*pipelinetest.MemSink, *source.Kafka) {
	t.Helper()
	ms := &pipelinetest.MemSink{}
	router := pipeline.NewRouter(routes, qe.ModelID{Name: "len", Version: "0"})
	eng := pipeline.NewEngine(pipeline.EngineConfig{BatchSize: 4, BatchWait: 5 * time.Millisecond}, &pipelinetest.LengthScorer{}, router, ms, nil, nil)
	src := source.NewKafka(source.KafkaConfig{Brokers: []string{b.Addr()}, GroupID: group, Topics: []string{"in"}, CommitInterval: 100 * time.Millisecond, SessionTimeout: 6 * time.Second},
		pipeline.NewDecoder(pipeline.DecoderConfig{}), nil, nil)
	g := &pipeline.Gate{Source: src, Engine: eng, QueueSize: 16, QueueBytes: 1 << 20, DrainTimeout: 5 * time.Second}
	stop, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := g.Run(stop); err != nil {
			t.Errorf("gate: %v", err)
		}
	}()
	waitRouted(t, eng, n)
	cancel()
	<-done
	return ms, src
}

func ids(ms *pipelinetest.MemSink) []string {
	var out []string
	for _, r := range ms.Records() {
		var v struct{ ID string }
		_ = json.Unmarshal(r.Value, &v)
		out = append(out, v.ID)
	}
	return out
}

// TestReadCommitted: records of a transaction still open are not read
// until it commits (read_committed stops at the last stable offset); read
// uncommitted (kafka-go's default) they would be scored and published even
// if the producer then aborted. kafka-go does not filter records of
// aborted transactions, nor hide transaction markers (which are
// dead-lettered): README, "Delivery guarantees".
func TestReadCommitted(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{DisableAutoCreateTopics: true})
	b.CreateTopics(t, 1, "in", "publish.de", "postedit.de", "dlq")
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.TransactionalID("qegate-test"), kgo.DefaultProduceTopic("in"), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	produce := func(prefix string) {
		for i := range 5 {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: pairValue(fmt.Sprintf("%s-%d", prefix, i))}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Committed: c1-*; then open: open-*.
	for _, prefix := range []string{"c1", "open"} {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		produce(prefix)
		if prefix == "c1" {
			if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
				t.Fatal(err)
			}
		}
	}
	// c1's five and its commit marker: every record below the open
	// transaction. The graceful stop drains whatever else was fetched.
	ms, _ := runSource(t, b, "g-rc", 6)
	for _, id := range ids(ms) {
		if strings.HasPrefix(id, "open") {
			t.Fatalf("a record of an open transaction was gated: %v", ids(ms))
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	// Committed now: the same group goes on from its offset and gets them.
	ms, _ = runSource(t, b, "g-rc", 5)
	n := 0
	for _, id := range ids(ms) {
		if strings.HasPrefix(id, "open") {
			n++
		}
	}
	if n != 5 {
		t.Fatalf("after the commit: %v, want open-0..4", ids(ms))
	}
}

// TestOffsetResetIsCounted: the group's committed offset points at records
// retention has deleted. kafka-go skips to the first offset still there;
// the source must say so (warn) and count it, not carry on silently.
func TestOffsetResetIsCounted(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{DisableAutoCreateTopics: true})
	b.CreateTopics(t, 1, "in", "publish.de", "postedit.de", "dlq")
	w := &kafka.Writer{Addr: kafka.TCP(b.Addr()), Topic: "in", RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var msgs []kafka.Message
	for i := range 20 {
		msgs = append(msgs, kafka.Message{Value: pairValue(fmt.Sprintf("m-%d", i))})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	// The group committed offset 5; then offsets below 12 are deleted (as
	// retention would).
	client := &kafka.Client{Addr: kafka.TCP(b.Addr()), Timeout: 10 * time.Second}
	// (The group coordinator may not be loaded yet: retry until it is.)
	testutil.WaitFor(t, time.Minute, func() error {
		resp, err := client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: "g-reset", GenerationID: -1,
			Topics: map[string][]kafka.OffsetCommit{"in": {{Partition: 0, Offset: 5}}}})
		if err == nil {
			for _, p := range resp.Topics["in"] {
				err = p.Error
			}
		}
		if err != nil {
			return fmt.Errorf("commit offset 5: %w", err)
		}
		return nil
	})
	kc, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	req := kmsg.NewPtrDeleteRecordsRequest()
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = "in"
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Partition, rp.Offset = 0, 12
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 10000
	resp, err := req.RequestWith(ctx, kc)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("delete records: error code %d", code)
	}
	ms, src := runSource(t, b, "g-reset", 8)
	got := ids(ms)
	sort.Strings(got)
	if strings.Join(got, " ") != "m-12 m-13 m-14 m-15 m-16 m-17 m-18 m-19" {
		t.Fatalf("routed %v, want m-12 .. m-19", got)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(src.Collector())
	want := `
# HELP qegate_offset_resets_total Times a partition's reading resumed past its committed or current offset because those offsets were gone (retention).
# TYPE qegate_offset_resets_total counter
qegate_offset_resets_total{partition="0",topic="in"} 1
# HELP qegate_offsets_skipped_total Input offsets never delivered: deleted by retention before being read, or compacted.
# TYPE qegate_offsets_skipped_total counter
qegate_offsets_skipped_total{partition="0",topic="in"} 7
`
	if err := promtest.GatherAndCompare(reg, strings.NewReader(want), "qegate_offset_resets_total", "qegate_offsets_skipped_total"); err != nil {
		t.Fatal(err)
	}
}
