//go:build integration

package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/kafkaread"
	"github.com/qegate/qegate/internal/kafkatest"
	"github.com/qegate/qegate/internal/native"
	"github.com/qegate/qegate/scorer"
)

// TestGlassboxThroughKafka runs the shipped model (with its glassbox block)
// in a gate on a real broker: a message with a numeric mt_score is scored
// with the block (qe member "glassbox": true, the block's en-de threshold),
// one without it or with null is scored from its text alone, and a
// non-numeric mt_score is dead-lettered with the reason.
func TestGlassboxThroughKafka(t *testing.T) {
	if native.ORTLibrary() == "" {
		t.Skip("libonnxruntime.so not found (make native)")
	}
	dir := filepath.Join("..", "..", "models", "default")
	man, err := scorer.LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if man.Glassbox == nil || man.Glassbox.Pairs["en-de"].Outputs["da51"].Weights == nil {
		t.Fatalf("%s: model.json has no glassbox fit for en-de da51", dir)
	}
	glassTh := man.Glassbox.Pairs["en-de"].Outputs["da51"].Threshold
	plainTh := man.Output("da51").Threshold("en-de")

	b := kafkatest.Start(t, kafkatest.Options{DisableAutoCreateTopics: true})
	b.CreateTopics(t, 1, "in", "pub", "pe", "dlq")
	cfg := Defaults()
	cfg.Kafka.Brokers, cfg.Kafka.GroupID, cfg.Kafka.Topics = []string{b.Addr()}, "glass", []string{"in"}
	cfg.Kafka.CommitInterval = 100 * time.Millisecond
	cfg.Routes.Publish, cfg.Routes.PostEdit, cfg.Routes.DeadLetter = "pub", "pe", "dlq"
	cfg.Model.ModelDir = dir
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	model, err := scorer.NewReloading(cfg.Model.Config, log)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	g, err := Build(context.Background(), &cfg, model, Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}

	const pair = `"src":"The museum is closed on Mondays.","mt":"Das Museum ist montags geschlossen.","src_lang":"en","tgt_lang":"de"`
	msgs := map[string]string{
		"with":   `{"id":"with",` + pair + `,"mt_score":-0.25}`,
		"low":    `{"id":"low",` + pair + `,"mt_score":-3.5}`,
		"absent": `{"id":"absent",` + pair + `}`,
		"null":   `{"id":"null",` + pair + `,"mt_score":null}`,
		"string": `{"id":"string",` + pair + `,"mt_score":"-0.25"}`,
	}
	w := &kafka.Writer{Addr: kafka.TCP(b.Addr()), Topic: "in", RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
	for id, v := range msgs {
		if err := w.WriteMessages(context.Background(), kafka.Message{Key: []byte(id), Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()

	stop, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := g.Run(stop)
		done <- err
	}()
	waitRouted(t, g, int64(len(msgs)), 2*time.Minute)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}

	type verdict struct {
		Score     float64 `json:"score"`
		Threshold float64 `json:"threshold"`
		Glassbox  bool    `json:"glassbox"`
	}
	got := map[string]verdict{}
	reasons := map[string]string{}
	ctx, cancelRead := context.WithTimeout(context.Background(), time.Minute)
	defer cancelRead()
	for _, topic := range []string{"pub", "pe", "dlq"} {
		out, err := kafkaread.Topic(ctx, cfg.Kafka.Brokers, topic)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out {
			id := string(m.Key)
			if topic == "dlq" {
				reasons[id] = string(header(m, "qe-error"))
				continue
			}
			var v struct {
				QE verdict `json:"qe"`
			}
			if err := json.Unmarshal(m.Value, &v); err != nil {
				t.Fatalf("%s: %v: %s", id, err, m.Value)
			}
			got[id] = v.QE
		}
	}
	near := func(a float64, b float32) bool {
		s, _ := strconv.ParseFloat(strconv.FormatFloat(float64(b), 'f', 6, 32), 64)
		return a == s
	}
	for _, id := range []string{"with", "low"} {
		if v, ok := got[id]; !ok || !v.Glassbox || !near(v.Threshold, glassTh) {
			t.Errorf("%s: %+v (present %v), want glassbox true and threshold %v", id, v, ok, glassTh)
		}
	}
	if got["with"].Score <= got["low"].Score {
		t.Errorf("a higher MT log-probability should not lower the score: with %v, low %v", got["with"].Score, got["low"].Score)
	}
	for _, id := range []string{"absent", "null"} {
		if v, ok := got[id]; !ok || v.Glassbox || !near(v.Threshold, plainTh) {
			t.Errorf("%s: %+v (present %v), want no glassbox and threshold %v", id, v, ok, plainTh)
		}
	}
	if got["absent"] != got["null"] {
		t.Errorf("absent %+v and null %+v mt_score scored differently", got["absent"], got["null"])
	}
	if r := reasons["string"]; !strings.Contains(r, `field "mt_score": want a number, got a string`) {
		t.Errorf("string mt_score: dead-letter reason %q", r)
	}
	if len(got)+len(reasons) != len(msgs) {
		t.Errorf("read back %d scored + %d dead-lettered, produced %d", len(got), len(reasons), len(msgs))
	}
}
