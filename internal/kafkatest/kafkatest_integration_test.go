//go:build integration

package kafkatest_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/kafkatest"
)

// consumeAll reads n messages from topic (all partitions, from the start)
// and returns value by key.
func consumeAll(t *testing.T, addr, topic string, n int) map[string]string {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     []string{addr},
		GroupID:     "kafkatest-" + topic + fmt.Sprint(time.Now().UnixNano()),
		Topic:       topic,
		StartOffset: kafka.FirstOffset,
		MaxWait:     100 * time.Millisecond,
	})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got := map[string]string{}
	for len(got) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read message %d of %d: %v", len(got)+1, n, err)
		}
		if _, dup := got[string(m.Key)]; dup {
			t.Fatalf("key %q read twice", m.Key)
		}
		got[string(m.Key)] = string(m.Value)
	}
	return got
}

func TestKcatToKafkaGo(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{})
	t.Logf("broker start took %s", b.StartupTime())
	const topic = "kafkatest-roundtrip"
	b.CreateTopics(t, 3, topic)

	const n = 100
	lines := make([]string, n)
	want := map[string]string{}
	for i := range n {
		k, v := fmt.Sprintf("k%03d", i), fmt.Sprintf("message %d: \u00e9t\u00e9 \u2713", i)
		lines[i] = k + "\t" + v
		want[k] = v
	}
	b.KcatProduce(t, topic, lines, "-K", "\t")

	got := consumeAll(t, b.Addr(), topic, n)
	if !maps.Equal(got, want) {
		t.Fatalf("consumed %d messages that differ from the %d produced", len(got), n)
	}

	// kcat sees the three partitions and the 100 messages too.
	md := b.Kcat(t, "-L", "-t", topic)
	for p := range 3 {
		if !contains(md, fmt.Sprintf("partition %d, leader 1", p)) {
			t.Errorf("kcat -L lacks partition %d:\n%s", p, md)
		}
	}
	out := b.Kcat(t, "-C", "-t", topic, "-e", "-q", "-f", "%k\n")
	keys := slices.DeleteFunc(splitLines(out), func(s string) bool { return s == "" })
	if len(keys) != n {
		t.Errorf("kcat -C read %d messages, want %d", len(keys), n)
	}
}

func TestRestartKeepsData(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	addr := b.Addr()
	b.KcatProduce(t, "auto-created", []string{"a\t1", "b\t2"}, "-K", "\t")
	b.Restart()
	if b.Addr() != addr {
		t.Fatalf("address changed across restart: %s -> %s", addr, b.Addr())
	}
	b.KcatProduce(t, "auto-created", []string{"c\t3"}, "-K", "\t")
	got := consumeAll(t, addr, "auto-created", 3)
	if want := map[string]string{"a": "1", "b": "2", "c": "3"}; !maps.Equal(got, want) {
		t.Fatalf("after restart got %v, want %v", got, want)
	}

	// A paused broker does not answer; once resumed it does.
	b.Pause()
	if conn, err := kafka.Dial("tcp", addr); err == nil {
		_ = conn.SetDeadline(time.Now().Add(time.Second))
		_, err = conn.Brokers()
		_ = conn.Close()
		if err == nil {
			t.Fatal("paused broker answered a metadata request")
		}
	}
	b.Resume()
	b.KcatProduce(t, "auto-created", []string{"d\t4"}, "-K", "\t")

	b.Kill()
	if b.Running() {
		t.Fatal("broker still running after Kill")
	}
	b.Restart()
	if !b.Running() {
		t.Fatal("broker not running after Restart")
	}
	b.Stop()
	b.Stop() // idempotent
}

func contains(s, sub string) bool { return len(sub) == 0 || indexOf(s, sub) >= 0 }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
