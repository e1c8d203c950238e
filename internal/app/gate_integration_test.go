//go:build integration

package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/kafkaread"
	"github.com/qegate/qegate/internal/kafkatest"
	"github.com/qegate/qegate/internal/native"
	"github.com/qegate/qegate/internal/testutil"
	"github.com/qegate/qegate/scorer"
)

// copyModel copies the tiny test model into a fresh directory the test may
// change under the running gate.
func copyModel(t *testing.T) string {
	t.Helper()
	if native.ORTLibrary() == "" {
		t.Skip("libonnxruntime.so not found (make native)")
	}
	src := filepath.Join("..", "..", "scorer", "testdata", "tiny")
	dir := t.TempDir()
	for _, f := range []string{"model.json", "model.onnx", "tokenizer.json"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// setVersion rewrites the version in dir/model.json.
func setVersion(t *testing.T, dir, version string) {
	t.Helper()
	p := filepath.Join(dir, "model.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["version"] = version
	out, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func produce(t *testing.T, brokers []string, from, n int) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: "in", Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		id := fmt.Sprintf("m%05d", from+i)
		v := fmt.Sprintf(`{"id":%q,"src":"The cat number %d sat on the mat.","mt":"Die Katze Nummer %d sass auf der Matte.","src_lang":"en","tgt_lang":"de"}`, id, from+i, from+i)
		msgs[i] = kafka.Message{Key: []byte(id), Value: []byte(v)}
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
}

func readyz(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitReady(t *testing.T, base string, want int, within time.Duration) string {
	t.Helper()
	var body string
	testutil.WaitFor(t, within, func() error {
		var code int
		if code, body = readyz(t, base); code != want {
			return fmt.Errorf("/readyz stayed %d %q, want %d", code, body, want)
		}
		return nil
	})
	return body
}

// waitRouted waits until the gate has routed n messages.
func waitRouted(t *testing.T, g *Wired, n int64, within time.Duration) {
	t.Helper()
	testutil.WaitFor(t, within, func() error {
		if got := g.Engine.Stats().Snapshot().Total.Sum(); got < n {
			return fmt.Errorf("routed %d of %d", got, n)
		}
		return nil
	})
}

// TestReadinessAndHotReload runs a gate on a real broker: /readyz is not
// ready before the group is joined, ready once partitions are assigned, not
// ready while the broker is down and ready again after it is back. The
// model is reloaded mid-stream (new version) and then offered a corrupt
// model.onnx, which is refused while the new one keeps serving. Every
// message is routed, each copy naming the model that scored it. The
// broker restart may redo work whose offsets were not committed yet
// (at-least-once): a duplicate must be a second copy of the same input
// message, the same qe-source.
func TestReadinessAndHotReload(t *testing.T) {
	dir := copyModel(t)
	b := kafkatest.Start(t, kafkatest.Options{DisableAutoCreateTopics: true})
	b.CreateTopics(t, 2, "in")
	b.CreateTopics(t, 1, "pub", "pe", "dlq")

	cfg := Defaults()
	cfg.Kafka.Brokers, cfg.Kafka.GroupID, cfg.Kafka.Topics = []string{b.Addr()}, "ready", []string{"in"}
	cfg.Kafka.CommitInterval, cfg.Kafka.SessionTimeout = 100*time.Millisecond, 6*time.Second
	cfg.Routes.Publish, cfg.Routes.PostEdit, cfg.Routes.DeadLetter = "pub", "pe", "dlq"
	cfg.Model.ModelDir = dir
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	model, err := scorer.NewReloading(cfg.Model.Config, log)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(model.Collectors()...)
	g, err := Build(context.Background(), &cfg, model, Options{Log: log, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stopMetrics, err := ServeMetrics(MetricsConfig{Listen: addr}, reg, g.Ready, log)
	if err != nil {
		t.Fatal(err)
	}
	defer stopMetrics()
	base := "http://" + addr

	if code, body := readyz(t, base); code != http.StatusServiceUnavailable || !strings.Contains(body, "not joined") {
		t.Fatalf("before the gate runs: /readyz = %d %q, want 503 not joined", code, body)
	}
	stop, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := g.Run(stop)
		done <- err
	}()
	waitReady(t, base, http.StatusOK, 60*time.Second)

	const batch = 400
	produce(t, cfg.Kafka.Brokers, 0, batch)
	setVersion(t, dir, "2.0.0")
	if err := model.Reload(context.Background()); err != nil { // mid-stream: batch 1 is in flight
		t.Fatalf("reload: %v", err)
	}
	produce(t, cfg.Kafka.Brokers, batch, batch)
	if err := os.WriteFile(filepath.Join(dir, "model.onnx"), []byte("not an onnx model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := model.Reload(context.Background()); err == nil {
		t.Fatal("a corrupt model.onnx was swapped in")
	}
	if v := model.Model().Version; v != "2.0.0" {
		t.Fatalf("after a refused reload the model is %s, want 2.0.0 still serving", v)
	}
	produce(t, cfg.Kafka.Brokers, 2*batch, batch)
	waitRouted(t, g, 3*batch, 2*time.Minute)

	// Readiness follows the broker.
	b.Stop()
	body := waitReady(t, base, http.StatusServiceUnavailable, 30*time.Second)
	t.Logf("broker down: /readyz %q", strings.TrimSpace(body))
	b.Restart()
	waitReady(t, base, http.StatusOK, 90*time.Second)

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	versions := map[string][]string{} // per id, the model version of each copy
	sources := map[string]string{}    // per id, the input position (qe-source)
	dups := 0
	ctx, cancelRead := context.WithTimeout(context.Background(), time.Minute)
	defer cancelRead()
	for _, topic := range []string{"pub", "pe", "dlq"} {
		msgs, err := kafkaread.Topic(ctx, cfg.Kafka.Brokers, topic)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			var v struct {
				QE struct {
					ModelVersion string `json:"model_version"`
				} `json:"qe"`
			}
			if topic == "dlq" || json.Unmarshal(m.Value, &v) != nil {
				t.Fatalf("%s on %s: not a scored output: %s", m.Key, topic, m.Value)
			}
			id, src := string(m.Key), string(header(m, "qe-source"))
			if first, dup := sources[id]; dup {
				if src != first {
					t.Fatalf("%s routed twice from different inputs (qe-source %s and %s): not a redelivery", id, first, src)
				}
				dups++
			}
			sources[id] = src
			versions[id] = append(versions[id], v.QE.ModelVersion)
			if h := string(header(m, "qe-model")); h != "qegate-tiny-random@"+v.QE.ModelVersion {
				t.Fatalf("%s: qe-model header %q disagrees with model_version %s", id, h, v.QE.ModelVersion)
			}
		}
	}
	t.Logf("%d outputs, %d of them redelivered copies (same qe-source)", len(versions)+dups, dups)
	if len(versions) != 3*batch {
		t.Fatalf("read back %d distinct ids, produced %d", len(versions), 3*batch)
	}
	for i := batch; i < 3*batch; i++ {
		id := fmt.Sprintf("m%05d", i)
		for _, v := range versions[id] {
			if v != "2.0.0" {
				t.Fatalf("%s, produced after the reload, was scored by version %q", id, v)
			}
		}
	}
	for id, vs := range versions {
		for _, v := range vs {
			if v != "1.0.0" && v != "2.0.0" {
				t.Fatalf("%s: an output names version %q", id, v)
			}
		}
	}
}

func header(m kafka.Message, key string) []byte {
	for _, h := range m.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}
