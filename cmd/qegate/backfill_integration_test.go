//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/audit"
	"github.com/qegate/qegate/internal/kafkaread"
	"github.com/qegate/qegate/internal/kafkatest"
	"github.com/qegate/qegate/internal/qe"
)

// TestBackfillRange: history produced in two periods (message timestamps
// an hour apart); `qegate backfill --from <second period> --to now` routes
// every message of the second period exactly once (audit: the first
// period's are the only ones missing, nothing duplicated or unexpected),
// each with its qe-source, exits 0 by itself, and creates no consumer
// group. QEGATE_BACKFILL_N sets the size of the range (default 4,000; the
// issue's 100,000 with QEGATE_BACKFILL_N=100000).
func TestBackfillRange(t *testing.T) {
	nB := 4000
	if s := os.Getenv("QEGATE_BACKFILL_N"); s != "" {
		var err error
		if nB, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	nA := nB / 3
	b := kafkatest.Start(t, kafkatest.Options{DisableAutoCreateTopics: true})
	outputs := []string{"bf.accepted", "bf.rejected", "bf.review", "bf.dead"}
	b.CreateTopics(t, 3, "hist")
	b.CreateTopics(t, 2, outputs...)
	outputs2 := []string{"bf2.accepted", "bf2.rejected", "bf2.review", "bf2.dead"} // of the offset-range backfill
	b.CreateTopics(t, 2, outputs2...)

	good, _ := e2ePairs(t, nA+nB)
	bad, _ := malformed(nB / 50)
	// Recent timestamps: older ones fall under the broker's 7-day retention.
	t0 := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	t1 := t0.Add(time.Hour)
	var msgs []kafka.Message
	for i := 0; i < nA+nB; i++ {
		line := good[i]
		if i >= nA && i%50 == 13 {
			line = bad[(i/50)%len(bad)]
		}
		k, v, _ := strings.Cut(line, "\t")
		ts := t0.Add(time.Duration(i) * time.Millisecond)
		if i >= nA {
			ts = t1.Add(time.Duration(i-nA) * time.Millisecond)
		}
		msgs = append(msgs, kafka.Message{Key: []byte(k), Value: []byte(v), Time: ts})
	}
	w := &kafka.Writer{Addr: kafka.TCP(b.Addr()), Topic: "hist", Balancer: &kafka.RoundRobin{}, RequiredAcks: kafka.RequireAll,
		BatchSize: 1000, BatchBytes: 12 << 20, BatchTimeout: 5 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for i := 0; i < len(msgs); i += 5000 {
		if err := w.WriteMessages(ctx, msgs[i:min(i+5000, len(msgs))]...); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()

	cfg := writeConfig(t, fmt.Sprintf(`
kafka:
  brokers: [%s]
routes:
  publish: bf.accepted
  post_edit: bf.rejected
  review: bf.review
  review_margin: 0.005
  dead_letter: bf.dead
model:
  dir: %s
  thresholds:
    default: 0.07
`, b.Addr(), tinyModel(t)))
	cmd := exec.CommandContext(ctx, qegateBin, "backfill", "-c", cfg, "--topic", "hist", "--from", t1.Format(time.RFC3339), "--to", "now",
		"--progress", "plain", "--progress-interval", "2s", "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("backfill: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	t.Logf("backfill of %d messages (of %d in the topic) took %s wall, including the model load", nB, nA+nB, time.Since(start).Round(time.Millisecond))
	var sum struct {
		Read     int64 `json:"read"`
		Complete bool  `json:"complete"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil || !sum.Complete || sum.Read != int64(nB) {
		t.Fatalf("summary %s (err %v): want %d read, complete", stdout.String(), err, nB)
	}
	if !strings.Contains(stderr.String(), "backfill:") || !strings.Contains(stderr.String(), "p0 ") {
		t.Fatalf("no per-partition progress on stderr:\n%s", stderr.String())
	}

	rep, err := audit.Run(ctx, audit.Config{Brokers: []string{b.Addr()}, Input: "hist", Outputs: outputs, MaxIDs: nA + 10})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Missing != nA || rep.Duplicated != 0 || rep.Unexpected != 0 || rep.OutputMessages != nB {
		t.Fatalf("audit: missing %d (want %d, the first period), duplicated %d, unexpected %d, outputs %d (want %d)",
			rep.Missing, nA, rep.Duplicated, rep.Unexpected, rep.OutputMessages, nB)
	}
	for _, id := range rep.MissingList {
		if n, err := strconv.Atoi(strings.TrimPrefix(id, "ok-")); err != nil || n >= nA {
			t.Fatalf("missing %s is not from the first period", id)
		}
	}
	for _, topic := range outputs {
		if rep.ByTopic[topic] == 0 {
			t.Fatalf("nothing routed to %s: %v", topic, rep.ByTopic)
		}
	}
	dead, err := kafkaread.Topic(ctx, []string{b.Addr()}, "bf.dead")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range dead {
		var src, reason string
		for _, h := range m.Headers {
			switch h.Key {
			case qe.HeaderSource:
				src = string(h.Value)
			case qe.HeaderError:
				reason = string(h.Value)
			}
		}
		if !strings.HasPrefix(src, "hist:") || reason == "" {
			t.Fatalf("dead letter without qe-source or reason: %q %q", src, reason)
		}
	}
	groups, err := (&kafka.Client{Addr: kafka.TCP(b.Addr())}).ListGroups(ctx, &kafka.ListGroupsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups.Groups) != 0 {
		t.Fatalf("backfill created consumer groups: %+v", groups.Groups)
	}

	// An explicit offset range of one partition, into other topics: exactly
	// offsets [100, 350) of partition 1, each once.
	cfg2 := writeConfig(t, fmt.Sprintf(`
kafka:
  brokers: [%s]
routes:
  publish: bf2.accepted
  post_edit: bf2.rejected
  review: bf2.review
  review_margin: 0.005
  dead_letter: bf2.dead
model:
  dir: %s
  thresholds:
    default: 0.07
`, b.Addr(), tinyModel(t)))
	if out, err := exec.CommandContext(ctx, qegateBin, "backfill", "-c", cfg2, "--topic", "hist", "--from", "1:100", "--to", "1:350", "--progress", "none").CombinedOutput(); err != nil {
		t.Fatalf("offset backfill: %v\n%s", err, out)
	}
	seen := map[string]int{}
	for _, topic := range outputs2 {
		msgs, err := kafkaread.Topic(ctx, []string{b.Addr()}, topic)
		if err != nil {
			t.Fatalf("read %s: %v", topic, err)
		}
		for _, m := range msgs {
			for _, h := range m.Headers {
				if h.Key == qe.HeaderSource {
					seen[string(h.Value)]++
				}
			}
		}
	}
	if len(seen) != 250 {
		t.Fatalf("offset range routed %d distinct inputs, want 250", len(seen))
	}
	for o := 100; o < 350; o++ {
		if n := seen[fmt.Sprintf("hist:1:%d", o)]; n != 1 {
			t.Fatalf("hist:1:%d routed %d times", o, n)
		}
	}
}
