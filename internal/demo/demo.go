// Package demo runs the whole gate on an in-process Kafka broker (franz-go
// kfake): MLQE-PE dev pairs (or a built-in sample) with malformed messages
// interleaved are produced, gated through the same wiring as qegate run,
// read back from every output topic and summarised. qegate demo and the
// bench's end-to-end measurement use it.
package demo

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/qegate/qegate/internal/app"
	"github.com/qegate/qegate/internal/evaluate"
	"github.com/qegate/qegate/internal/kafkaread"
	"github.com/qegate/qegate/pipeline"
)

//go:embed sample.jsonl
var sampleFS embed.FS

// Message is one message the demo feeds in.
type Message struct {
	Key      string
	Value    []byte
	LangPair string   // "" for malformed
	Gold     *float64 // human mean DA, when the data has it
}

// Summary is what a demo run routed (qegate demo --json); its keys are
// stable.
type Summary struct {
	Fed        int64                `json:"fed"`
	Accepted   int64                `json:"accepted"`
	Rejected   int64                `json:"rejected"`
	Review     int64                `json:"review"`
	DeadLetter int64                `json:"dead_letter"`
	PairsPerS  float64              `json:"pairs_per_s"`
	Seconds    float64              `json:"seconds"`
	Model      string               `json:"model"`
	Output     string               `json:"output"`
	Data       string               `json:"data"`
	ByLP       map[string]LPSummary `json:"by_lang_pair"`
	ReadBack   bool                 `json:"read_back_matches"`
}

// LPSummary is one language pair of a Summary.
type LPSummary struct {
	pipeline.RouteCounts
	Fed int64 `json:"fed"`
	// AgreeGold is the share of scored pairs whose label matches the human
	// DA label at the output's DA threshold (null without gold labels).
	AgreeGold *float64 `json:"agree_with_gold,omitempty"`
}

// Sample returns the built-in sample: valid message-contract pairs written
// for the project, for machines without MLQE-PE.
func Sample() ([]Message, error) {
	b, err := sampleFS.ReadFile("sample.jsonl")
	if err != nil {
		return nil, fmt.Errorf("demo: built-in sample: %w", err)
	}
	var msgs []Message
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var raw map[string]string
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			return nil, fmt.Errorf("demo: built-in sample: %w", err)
		}
		msgs = append(msgs, Message{Key: raw["id"], Value: []byte(line), LangPair: raw["src_lang"] + "-" + raw["tgt_lang"]})
	}
	return msgs, nil
}

// LoadMessages reads up to limit pairs per language pair (0: all) from the
// MLQE-PE dev split evaluate.FindData(flag) resolves, else the built-in sample, and
// interleaves one malformed message in fifty. It also says where the pairs
// came from.
func LoadMessages(flag string, limit int) ([]Message, string, error) {
	var rows []evaluate.Row
	source := "built-in sample (no MLQE-PE found)"
	if dir := evaluate.FindData(flag); dir != "" {
		data, err := evaluate.ReadPath(dir)
		if err != nil {
			return nil, "", fmt.Errorf("demo: read %s: %w", dir, err)
		}
		rows, source = data.Rows, "MLQE-PE dev ("+dir+")"
	} else if flag != "" {
		return nil, "", fmt.Errorf("demo: no MLQE-PE TSV files under %s", flag)
	}
	var msgs []Message
	if rows == nil {
		b, err := sampleFS.ReadFile("sample.jsonl")
		if err != nil {
			return nil, "", err
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var raw map[string]string
			if err := json.Unmarshal([]byte(line), &raw); err != nil {
				return nil, "", fmt.Errorf("demo: built-in sample: %w", err)
			}
			msgs = append(msgs, Message{Key: raw["id"], Value: []byte(line), LangPair: raw["src_lang"] + "-" + raw["tgt_lang"]})
		}
	} else {
		perLP := map[string]int{}
		for i, r := range rows {
			lp := r.SrcLang + "-" + r.TgtLang
			if limit > 0 && perLP[lp] >= limit {
				continue
			}
			perLP[lp]++
			id := fmt.Sprintf("%s-%d", lp, i)
			v, _ := json.Marshal(map[string]string{"id": id, "src": r.Src, "mt": r.MT, "src_lang": r.SrcLang, "tgt_lang": r.TgtLang})
			msgs = append(msgs, Message{Key: id, Value: v, LangPair: lp, Gold: r.DA})
		}
	}
	// Interleave malformed input, as a real topic would have, to show the
	// dead-letter route: one in fifty.
	bad := [][]byte{
		[]byte(`this is not json`),
		[]byte(`{"id":"bad","src":"Hello world","src_lang":"en","tgt_lang":"de"}`),
		[]byte("{\"id\":\"bad\",\"src\":\"\xff\xfe\",\"mt\":\"x\",\"src_lang\":\"en\",\"tgt_lang\":\"de\"}"),
		[]byte(`{"id":"bad","src":"Hello","mt":"Hallo","src_lang":"english please","tgt_lang":"de"}`),
		[]byte(`{"id":"bad","src":42,"mt":"Hallo","src_lang":"en","tgt_lang":"de"}`),
		[]byte(`{"id":"bad","src":"   ","mt":"Hallo","src_lang":"en","tgt_lang":"de"}`),
	}
	out := make([]Message, 0, len(msgs)+len(msgs)/50+1)
	for i, m := range msgs {
		out = append(out, m)
		if i%50 == 49 {
			out = append(out, Message{Key: fmt.Sprintf("bad-%d", i), Value: bad[(i/50)%len(bad)]})
		}
	}
	return out, source, nil
}

// Run gates msgs on a fresh in-process broker whose input topic has the
// given partitions, with model modelDir ("" the default), and fails when
// not everything is routed within timeout or the outputs read back differ
// from what was fed. source is recorded in the summary.
func Run(ctx context.Context, log *slog.Logger, msgs []Message, source, modelDir string, partitions int, timeout time.Duration) (*Summary, error) {
	cfg, err := app.Load("")
	if err != nil {
		return nil, err
	}
	cfg.Model.ModelDir = modelDir
	cfg.Routes.Review = "review.{tgt_lang}"
	cfg.Routes.ReviewMargin = 0.02
	sc, err := app.OpenScorer(cfg.Model)
	if err != nil {
		return nil, err
	}
	defer sc.Close()

	tgts := map[string]bool{}
	for _, m := range msgs {
		if m.LangPair != "" {
			tgts[m.LangPair[strings.LastIndexByte(m.LangPair, '-')+1:]] = true
		}
	}
	for _, lp := range app.LangPairs(sc, nil) {
		tgts[lp[strings.LastIndexByte(lp, '-')+1:]] = true
	}
	var outputs []string
	for t := range tgts {
		outputs = append(outputs, pipeline.Expand(cfg.Routes.Publish, "", t), pipeline.Expand(cfg.Routes.PostEdit, "", t), pipeline.Expand(cfg.Routes.Review, "", t))
	}
	outputs = append(outputs, cfg.Routes.DeadLetter)
	sort.Strings(outputs)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(partitions), cfg.Kafka.Topics...), kfake.SeedTopics(1, outputs...))
	if err != nil {
		return nil, fmt.Errorf("demo: start in-process broker: %w", err)
	}
	defer cluster.Close()
	cfg.Kafka.Brokers = cluster.ListenAddrs()

	if err := Produce(ctx, cfg.Kafka.Brokers, cfg.Kafka.Topics[0], msgs); err != nil {
		return nil, err
	}
	g, err := app.Build(ctx, cfg, sc, app.Options{Log: log})
	if err != nil {
		return nil, err
	}
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := g.Run(stop)
		done <- err
	}()
	fed := int64(len(msgs))
	deadline := time.After(timeout)
	var elapsed time.Duration
wait:
	for {
		select {
		case err := <-done:
			return nil, fmt.Errorf("demo: gate stopped early: %w", err)
		case <-deadline:
			cancel()
			<-done
			got := g.Engine.Stats().Snapshot().Total.Sum()
			return nil, fmt.Errorf("demo: only %d of %d messages routed within %s", got, fed, timeout)
		case <-time.After(20 * time.Millisecond):
			if g.Engine.Stats().Snapshot().Total.Sum() >= fed {
				elapsed = time.Since(start)
				break wait
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		return nil, err
	}
	if err := g.Close(); err != nil {
		return nil, err
	}
	snap := g.Engine.Stats().Snapshot()
	out := sc.DecisionOutput()
	sum := &Summary{
		Fed: fed, Accepted: snap.Total.Accepted, Rejected: snap.Total.Rejected, Review: snap.Total.Review,
		DeadLetter: snap.Total.DeadLetter, Seconds: elapsed.Seconds(), PairsPerS: float64(fed) / elapsed.Seconds(),
		Model: sc.Manifest().Name + "@" + sc.Manifest().Version, Output: out.Name, Data: source,
		ByLP: map[string]LPSummary{},
	}
	fedLP := map[string]int64{}
	gold := map[string]*float64{}
	for _, m := range msgs {
		lp := m.LangPair
		if lp == "" {
			lp = "invalid"
		}
		fedLP[lp]++
		gold[m.Key] = m.Gold
	}
	agree, scored := map[string]int{}, map[string]int{}
	daCut := 0.0
	if out.DAThreshold != nil {
		daCut = *out.DAThreshold
	}
	readBack, err := readBackDemo(ctx, cfg.Kafka.Brokers, outputs, daCut, gold, agree, scored)
	if err != nil {
		return nil, err
	}
	sum.ReadBack = readBack == fed
	for lp, c := range snap.ByLP {
		s := LPSummary{RouteCounts: c, Fed: fedLP[lp]}
		if n := scored[lp]; n > 0 {
			a := float64(agree[lp]) / float64(n)
			s.AgreeGold = &a
		}
		sum.ByLP[lp] = s
	}
	if !sum.ReadBack {
		return sum, fmt.Errorf("demo: read back %d messages from the output topics, fed %d", readBack, fed)
	}
	return sum, nil
}

// Produce writes msgs to topic with acks=all, keyed by their Key.
func Produce(ctx context.Context, brokers []string, topic string, msgs []Message) error {
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll,
		BatchSize: 500, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	batch := make([]kafka.Message, 0, 500)
	for i, m := range msgs {
		batch = append(batch, kafka.Message{Key: []byte(m.Key), Value: m.Value})
		if len(batch) == cap(batch) || i == len(msgs)-1 {
			if err := w.WriteMessages(ctx, batch...); err != nil {
				return fmt.Errorf("demo: produce: %w", err)
			}
			batch = batch[:0]
		}
	}
	return nil
}

// readBackDemo reads every output topic and counts the messages, and how
// often the gate's label agrees with the human DA label.
func readBackDemo(ctx context.Context, brokers, topics []string, daCut float64, gold map[string]*float64, agree, scored map[string]int) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var n int64
	for _, t := range topics {
		msgs, err := kafkaread.Topic(ctx, brokers, t)
		if err != nil {
			return n, err
		}
		n += int64(len(msgs))
		for _, m := range msgs {
			var v struct {
				ID      string `json:"id"`
				SrcLang string `json:"src_lang"`
				TgtLang string `json:"tgt_lang"`
				QE      *struct {
					Label string `json:"label"`
				} `json:"qe"`
			}
			if json.Unmarshal(m.Value, &v) != nil || v.QE == nil || daCut <= 0 {
				continue
			}
			g := gold[string(m.Key)]
			if g == nil {
				continue
			}
			lp := v.SrcLang + "-" + v.TgtLang
			scored[lp]++
			if (*g >= daCut) == (v.QE.Label == "acceptable") {
				agree[lp]++
			}
		}
	}
	return n, nil
}
