package sink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/qegate/qegate/internal/qe"
)

func TestPermanentKafka(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{kafka.UnknownTopicOrPartition, false}, // MissingTopicError: retried, bounded
		{kafka.MessageSizeTooLarge, true},
		{fmt.Errorf("wrapped: %w", kafka.TopicAuthorizationFailed), true},
		{kafka.MessageTooLargeError{}, true},
		{kafka.NotEnoughReplicas, false},
		{kafka.LeaderNotAvailable, false},
		{context.DeadlineExceeded, false},
		{errors.New("connection refused"), false},
	}
	for _, tc := range tests {
		if got := permanentKafka(tc.err); got != tc.want {
			t.Errorf("permanentKafka(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestNewKafkaNeedsBrokers(t *testing.T) {
	if _, err := NewKafka(KafkaConfig{}); err == nil {
		t.Fatal("no brokers accepted")
	}
}

// TestKafkaSinkWrites writes through franz-go's in-process broker (the
// real-broker path is covered by the integration suites): records with
// headers arrive, and a record for a missing topic fails alone, marked
// permanent, without failing its batch-mates.
func TestKafkaSinkWrites(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := NewKafka(KafkaConfig{Brokers: c.ListenAddrs(), WriteTimeout: 5 * time.Second, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs := []qe.Record{
		{Topic: "out", Key: []byte("k1"), Value: []byte(`{"a":1}`), Headers: []qe.Header{{Key: qe.HeaderScore, Value: []byte("0.5")}}},
		{Topic: "out", Key: []byte("k2"), Value: []byte(`{"a":2}`)},
	}
	if err := s.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteOne(ctx, qe.Record{Topic: "out", Value: []byte(`{"a":3}`)}); err != nil {
		t.Fatal(err)
	}
	// kafka-go fails the whole call when a topic has no metadata: the
	// error is a MissingTopicError (neither transient nor permanent), and
	// the engine then retries each record alone (WriteOne) to find the one
	// at fault.
	err = s.Write(ctx, []qe.Record{{Topic: "out", Value: []byte(`{"a":4}`)}, {Topic: "missing", Value: []byte(`{"a":5}`)}})
	if !qe.IsMissingTopic(err) || qe.IsPermanent(err) {
		t.Fatalf("write to a missing topic: %v, want a missing-topic error", err)
	}
	var mt *qe.MissingTopicError
	if err := s.WriteOne(ctx, qe.Record{Topic: "missing", Value: []byte(`{"a":5}`)}); !errors.As(err, &mt) || mt.Topic != "missing" {
		t.Fatalf("WriteOne to a missing topic: %v, want a missing-topic error naming it", err)
	}
	if err := s.WriteOne(ctx, qe.Record{Topic: "out", Value: []byte(`{"a":4}`)}); err != nil {
		t.Fatalf("batch-mate alone: %v", err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: c.ListenAddrs(), Topic: "out", Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	for i, want := range []string{`{"a":1}`, `{"a":2}`, `{"a":3}`, `{"a":4}`} {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if string(m.Value) != want {
			t.Fatalf("message %d = %s, want %s", i, m.Value, want)
		}
		if i == 0 && (len(m.Headers) != 1 || m.Headers[0].Key != qe.HeaderScore || string(m.Key) != "k1") {
			t.Fatalf("key or headers lost: %q %v", m.Key, m.Headers)
		}
	}
}

func TestReason(t *testing.T) {
	if got := qe.Reason(errors.New("a\nb")); got != "a b" {
		t.Errorf("Reason = %q", got)
	}
	if got := qe.Reason(errors.New(strings.Repeat("x", 500))); len(got) != 300 {
		t.Errorf("Reason kept %d bytes, want 300", len(got))
	}
	if got := qe.Reason(errors.New("x" + strings.Repeat("é", 200))); !utf8.ValidString(got) || len(got) > 300 {
		t.Errorf("Reason cut a rune: %q", got)
	}
}
