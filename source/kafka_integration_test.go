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
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/qegate/qegate/internal/kafkatest"
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
	router := pipeline.NewRouter(routes, pipeline.ModelInfo{Name: "len", Version: "0"})
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

// TestReadCommitted: a transactional producer commits, aborts, commits.
// The aborted records sit between the committed ones in the partition; read
// uncommitted (kafka-go's default) the gate would score and publish them.
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
	for txn, prefix := range []string{"c1", "aborted", "c2"} {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: pairValue(fmt.Sprintf("%s-%d", prefix, i))}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		commit := kgo.TryCommit
		if txn == 1 {
			commit = kgo.TryAbort
		}
		if err := cl.EndTransaction(ctx, commit); err != nil {
			t.Fatal(err)
		}
	}
	ms, _ := runSource(t, b, "g-rc", 10)
	got := ids(ms)
	if len(got) != 10 {
		t.Fatalf("routed %v, want the 10 committed", got)
	}
	for _, id := range got {
		if strings.HasPrefix(id, "aborted") {
			t.Fatalf("an aborted transaction's record was gated: %v", got)
		}
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
	if _, err := client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: "g-reset", GenerationID: -1,
		Topics: map[string][]kafka.OffsetCommit{"in": {{Partition: 0, Offset: 5}}}}); err != nil {
		t.Fatal(err)
	}
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
# HELP qegate_offset_resets_total Times a partition reader found its offset deleted (retention) and skipped to the first offset still there.
# TYPE qegate_offset_resets_total counter
qegate_offset_resets_total{partition="0",topic="in"} 1
# HELP qegate_offsets_skipped_total Input offsets never delivered: deleted by retention before being read, compacted, or transaction markers and aborted records.
# TYPE qegate_offsets_skipped_total counter
qegate_offsets_skipped_total{partition="0",topic="in"} 7
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "qegate_offset_resets_total", "qegate_offsets_skipped_total"); err != nil {
		t.Fatal(err)
	}
}
