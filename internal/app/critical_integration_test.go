//go:build integration

package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/kafkaread"
	"github.com/qegate/qegate/internal/kafkatest"
	"github.com/qegate/qegate/internal/native"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/scorer"
)

// TestGateCritical runs the gate with the 5-output test model on a real
// broker, routes.critical set: every output carries the qe-critical header
// and qe.critical; exactly the pairs the scorer flags reach the critical
// topic (with the reason), none is published, and qegate_critical_total
// counts them.
func TestGateCritical(t *testing.T) {
	if native.ORTLibrary() == "" {
		t.Skip("libonnxruntime.so not found (make native)")
	}
	modelDir := filepath.Join("..", "..", "scorer", "testdata", "critical")
	f, err := os.Open(filepath.Join(modelDir, "reference.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var pairs []qe.Pair
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct{ LP, Src, MT string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		s, tg, _ := strings.Cut(r.LP, "-")
		pairs = append(pairs, qe.Pair{Src: r.Src, MT: r.MT, SrcLang: s, TgtLang: tg})
	}
	f.Close()

	b := kafkatest.Start(t, kafkatest.Options{DisableAutoCreateTopics: true})
	b.CreateTopics(t, 2, "in")
	b.CreateTopics(t, 1, "pub", "pe", "crit", "dlq")
	cfg := Defaults()
	cfg.Kafka.Brokers, cfg.Kafka.GroupID, cfg.Kafka.Topics = []string{b.Addr()}, "critical", []string{"in"}
	cfg.Kafka.CommitInterval = 100 * time.Millisecond
	cfg.Routes.Publish, cfg.Routes.PostEdit, cfg.Routes.Critical, cfg.Routes.DeadLetter = "pub", "pe", "crit", "dlq"
	cfg.Rules.Disabled = true // every pair reaches the model
	cfg.Model.ModelDir = modelDir
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	model, err := scorer.NewReloading(cfg.Model.Config, log)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	want := map[string]bool{} // id -> flagged, by the scorer itself
	res, err := model.Score(context.Background(), pairs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		want[fmt.Sprintf("c%03d", i)] = r.Critical.Flagged
	}
	reg := prometheus.NewRegistry()
	g, err := Build(context.Background(), &cfg, model, Options{Log: log, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	stop, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := g.Run(stop)
		done <- err
	}()

	w := &kafka.Writer{Addr: kafka.TCP(b.Addr()), Topic: "in", Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
	msgs := make([]kafka.Message, len(pairs))
	for i, p := range pairs {
		id := fmt.Sprintf("c%03d", i)
		v, _ := json.Marshal(map[string]string{"id": id, "src": p.Src, "mt": p.MT, "src_lang": p.SrcLang, "tgt_lang": p.TgtLang})
		msgs[i] = kafka.Message{Key: []byte(id), Value: v}
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for g.Engine.Stats().Snapshot().Total.Sum() < int64(len(pairs)) {
		if time.Now().After(deadline) {
			t.Fatalf("routed %d of %d", g.Engine.Stats().Snapshot().Total.Sum(), len(pairs))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}

	ctx, cancelRead := context.WithTimeout(context.Background(), time.Minute)
	defer cancelRead()
	seen, flagged := map[string]bool{}, 0
	for _, topic := range []string{"pub", "pe", "crit", "dlq"} {
		out, err := kafkaread.Topic(ctx, cfg.Kafka.Brokers, topic)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out {
			id := string(m.Key)
			var v struct {
				QE struct {
					Route, Label, Reason string
					Critical             json.Number
				} `json:"qe"`
			}
			if topic == "dlq" || json.Unmarshal(m.Value, &v) != nil || seen[id] {
				t.Fatalf("%s on %s: dead-lettered, not JSON or routed twice: %s", id, topic, m.Value)
			}
			seen[id] = true
			if h := string(header(m, qe.HeaderCritical)); h == "" || h != string(v.QE.Critical) {
				t.Errorf("%s: qe-critical header %q, qe.critical %q", id, h, v.QE.Critical)
			}
			if _, err := strconv.ParseFloat(string(v.QE.Critical), 64); err != nil {
				t.Errorf("%s: qe.critical %q: %v", id, v.QE.Critical, err)
			}
			isCrit := topic == "crit"
			if isCrit != want[id] {
				t.Errorf("%s on %s; the scorer flags it: %v", id, topic, want[id])
			}
			if isCrit {
				flagged++
				if v.QE.Route != "critical" || v.QE.Label != "rejected" || !strings.HasPrefix(v.QE.Reason, "critical error: ") ||
					string(header(m, qe.HeaderReason)) != v.QE.Reason {
					t.Errorf("%s on crit: qe %+v, qe-reason %q", id, v.QE, header(m, qe.HeaderReason))
				}
			}
		}
	}
	if len(seen) != len(pairs) || flagged == 0 || flagged == len(pairs) {
		t.Fatalf("read back %d of %d, %d flagged: want all, with both verdicts", len(seen), len(pairs), flagged)
	}
	var total float64
	for _, lp := range []string{"en-de", "en-zh", "et-en", "ne-en", "ro-en", "ru-en", "si-en", "other"} {
		total += testutil.ToFloat64(g.Metrics.Critical.WithLabelValues(lp))
	}
	if int(total) != flagged {
		t.Fatalf("qegate_critical_total sums to %v, %d flagged on the topic", total, flagged)
	}
}
