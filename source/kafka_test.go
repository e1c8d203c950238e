package source_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/qegate/qegate/internal/kafkaread"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/internal/testutil"
	"github.com/qegate/qegate/pipeline"
	"github.com/qegate/qegate/pipeline/pipelinetest"
	"github.com/qegate/qegate/sink"
	"github.com/qegate/qegate/source"
)

var routes = pipeline.RoutesConfig{Publish: "publish.{tgt_lang}", PostEdit: "postedit.{tgt_lang}", DeadLetter: "dlq"}

func startGate(t *testing.T, brokers []string, group string, sc pipeline.Scorer, m *pipeline.Metrics) (*pipeline.Engine, context.CancelFunc, chan pipeline.Report) {
	t.Helper()
	snk, err := sink.NewKafka(sink.KafkaConfig{Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	router := pipeline.NewRouter(routes, qe.ModelID{Name: "len", Version: "0"})
	eng := pipeline.NewEngine(pipeline.EngineConfig{BatchSize: 16, BatchWait: 5 * time.Millisecond, Workers: 3}, sc, router, snk, m, nil)
	src := source.NewKafka(source.KafkaConfig{
		Brokers: brokers, GroupID: group, Topics: []string{"in"}, CommitInterval: 100 * time.Millisecond,
		SessionTimeout: 6 * time.Second,
	}, pipeline.NewDecoder(pipeline.DecoderConfig{}), m, nil)
	g := &pipeline.Gate{Source: src, Engine: eng, QueueSize: 64, DrainTimeout: 10 * time.Second}
	stop, cancel := context.WithCancel(context.Background())
	done := make(chan pipeline.Report, 1)
	go func() {
		rep, err := g.Run(stop)
		if err != nil {
			t.Errorf("gate: %v", err)
		}
		_ = snk.Close()
		done <- rep
	}()
	return eng, cancel, done
}

func waitRouted(t *testing.T, eng *pipeline.Engine, n int64) {
	t.Helper()
	testutil.WaitFor(t, time.Minute, func() error {
		if got := eng.Stats().Snapshot().Total.Sum(); got < n {
			return fmt.Errorf("only %d of %d routed", got, n)
		}
		return nil
	})
}

// TestKafkaSourceOnInProcessBroker runs source -> engine -> Kafka sink against
// kfake: every input lands on exactly one output topic, offsets are
// committed to the end, and a restarted gate has nothing left to redo.
func TestKafkaSourceOnInProcessBroker(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "in"),
		kfake.SeedTopics(2, "publish.de", "postedit.de", "publish.en", "postedit.en", "dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()

	const n = 2000
	var msgs []kafka.Message
	want := map[string]string{}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("m%d", i)
		var v string
		switch {
		case i%97 == 0:
			v, want[id] = "not json "+id, "dlq"
		case i%2 == 0:
			v, want[id] = fmt.Sprintf(`{"id":%q,"src":"ab","mt":"abcdef","src_lang":"en","tgt_lang":"de"}`, id), "publish.de"
		default:
			v, want[id] = fmt.Sprintf(`{"id":%q,"src":"abcd","mt":"ab","src_lang":"de","tgt_lang":"en"}`, id), "postedit.en"
		}
		msgs = append(msgs, kafka.Message{Key: []byte(id), Value: []byte(v)})
	}
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: "in", Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()

	m := pipeline.NewMetrics(nil)
	eng, stop, done := startGate(t, brokers, "g1", &pipelinetest.LengthScorer{}, m)
	waitRouted(t, eng, n)
	// Once everything is committed, every partition's lag reads 0; each
	// routed message fed the end-to-end latency, each scored one the score
	// histogram.
	testutil.WaitFor(t, 30*time.Second, func() error {
		for p := 0; p < 4; p++ {
			if lag := promtest.ToFloat64(m.Lag.WithLabelValues("in", fmt.Sprint(p))); lag != 0 {
				return fmt.Errorf("partition %d lag %v after everything was routed", p, lag)
			}
		}
		return nil
	})
	dead := 0
	for id := range want {
		if want[id] == "dlq" {
			dead++
		}
	}
	if got := histCount(t, m.EndToEnd); got != n {
		t.Fatalf("end-to-end latency observed %d times, want %d", got, n)
	}
	scored := histCount(t, m.Scores.WithLabelValues("en-de", "accepted").(prometheus.Histogram)) +
		histCount(t, m.Scores.WithLabelValues("de-en", "rejected").(prometheus.Histogram))
	if scored != n-dead {
		t.Fatalf("score histogram holds %d scores, want %d", scored, n-dead)
	}
	stop()
	rep := <-done
	if rep.Dropped != 0 || !rep.Drained {
		t.Fatalf("shutdown report %+v", rep)
	}

	got := map[string][]string{}
	for _, topic := range []string{"publish.de", "postedit.de", "publish.en", "postedit.en", "dlq"} {
		out, err := kafkaread.Topic(context.Background(), brokers, topic)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out {
			got[string(m.Key)] = append(got[string(m.Key)], topic)
			if topic == "dlq" {
				if len(headerOf(m, qe.HeaderError)) == 0 {
					t.Fatalf("dead letter %s without qe-error", m.Key)
				}
				continue
			}
			var v struct{ QE map[string]any }
			if err := json.Unmarshal(m.Value, &v); err != nil || v.QE["label"] == nil || len(headerOf(m, qe.HeaderScore)) == 0 {
				t.Fatalf("output %s lacks qe fields/headers: %s", m.Key, m.Value)
			}
		}
	}
	for id, topic := range want {
		if len(got[id]) != 1 || got[id][0] != topic {
			t.Fatalf("id %s routed to %v, want [%s]", id, got[id], topic)
		}
	}

	// Committed offsets must equal the end offsets, so a restarted gate in
	// the same group has nothing left to redo.
	client := &kafka.Client{Addr: kafka.TCP(brokers...)}
	ends, err := client.ListOffsets(context.Background(), &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		"in": {kafka.LastOffsetOf(0), kafka.LastOffsetOf(1), kafka.LastOffsetOf(2), kafka.LastOffsetOf(3)}}})
	if err != nil {
		t.Fatal(err)
	}
	committed, err := client.OffsetFetch(context.Background(), &kafka.OffsetFetchRequest{GroupID: "g1", Topics: map[string][]int{"in": {0, 1, 2, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	end := map[int]int64{}
	for _, p := range ends.Topics["in"] {
		end[p.Partition] = p.LastOffset
	}
	for _, p := range committed.Topics["in"] {
		if p.CommittedOffset != end[p.Partition] {
			t.Fatalf("partition %d committed %d, end offset %d", p.Partition, p.CommittedOffset, end[p.Partition])
		}
	}
}

func histCount(t *testing.T, h prometheus.Histogram) int {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return int(m.GetHistogram().GetSampleCount())
}

func headerOf(m kafka.Message, key string) []byte {
	for _, h := range m.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}
