package main

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/qegate/qegate/internal/evaluate"
	"github.com/qegate/qegate/internal/kafkaread"
	"github.com/qegate/qegate/internal/native"
	"github.com/qegate/qegate/pipeline"
)

//go:embed demodata/sample.jsonl
var demoFS embed.FS

func init() { rootCmd.AddCommand(newDemoCmd()) }

// demoMsg is one message the demo feeds in.
type demoMsg struct {
	key   string
	value []byte
	lp    string   // "" for malformed
	gold  *float64 // human mean DA, when the data has it
}

// demoSummary is the --json output; its keys are stable.
type demoSummary struct {
	Fed        int64                    `json:"fed"`
	Accepted   int64                    `json:"accepted"`
	Rejected   int64                    `json:"rejected"`
	Review     int64                    `json:"review"`
	DeadLetter int64                    `json:"dead_letter"`
	PairsPerS  float64                  `json:"pairs_per_s"`
	Seconds    float64                  `json:"seconds"`
	Model      string                   `json:"model"`
	Output     string                   `json:"output"`
	Data       string                   `json:"data"`
	ByLP       map[string]demoLPSummary `json:"by_lang_pair"`
	ReadBack   bool                     `json:"read_back_matches"`
}

type demoLPSummary struct {
	pipeline.RouteCounts
	Fed int64 `json:"fed"`
	// AgreeGold is the share of scored pairs whose label matches the human
	// DA label at the output's DA threshold (null without gold labels).
	AgreeGold *float64 `json:"agree_with_gold,omitempty"`
}

func newDemoCmd() *cobra.Command {
	var (
		asJSON     bool
		limit      int
		dataDir    string
		modelDir   string
		partitions int
		timeout    time.Duration
		verbose    bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole gate on an in-process Kafka broker fed with MLQE-PE dev pairs and print a routing summary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lvl := slog.LevelWarn
			if verbose {
				lvl = slog.LevelInfo
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
			msgs, source, err := loadDemoMessages(dataDir, limit)
			if err != nil {
				return err
			}
			sum, err := runDemo(cmd.Context(), log, msgs, source, modelDir, partitions, timeout)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(sum)
			}
			printDemo(cmd.OutOrStdout(), sum)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the summary as one JSON object")
	f.IntVar(&limit, "limit", 300, "pairs per language pair to feed (0: all)")
	f.StringVar(&dataDir, "data", "", "MLQE-PE directory (default: $QEGATE_DATA, else ../shared/mlqe-pe, else the built-in sample)")
	f.StringVar(&modelDir, "model", "", "model directory (default: the shipped default model)")
	f.IntVar(&partitions, "partitions", 4, "partitions of the input topic")
	f.DurationVar(&timeout, "timeout", 15*time.Minute, "give up when not everything is routed by then")
	f.BoolVar(&verbose, "verbose", false, "log pipeline events")
	return cmd
}

// findDemoData resolves the MLQE-PE dev split: flag, $QEGATE_DATA, then
// ../shared/mlqe-pe next to the repository or the working directory.
func findDemoData(flag string) string {
	var cands []string
	if flag != "" {
		cands = append(cands, flag)
	}
	if env := os.Getenv("QEGATE_DATA"); env != "" {
		cands = append(cands, env)
	}
	if root := native.RepoRoot(); root != "" {
		cands = append(cands, filepath.Join(root, "..", "shared", "mlqe-pe"), filepath.Join(root, ".cache", "data", "mlqe-pe"))
	}
	cands = append(cands, filepath.Join("..", "shared", "mlqe-pe"))
	for _, c := range cands {
		for _, sub := range []string{filepath.Join("da", "dev"), "dev", ""} {
			d := filepath.Join(c, sub)
			if m, _ := filepath.Glob(filepath.Join(d, "*-*.tsv")); len(m) > 0 {
				return d
			}
		}
	}
	return ""
}

func loadDemoMessages(flag string, limit int) ([]demoMsg, string, error) {
	var rows []evaluate.Row
	source := "built-in sample (no MLQE-PE found)"
	if dir := findDemoData(flag); dir != "" {
		data, err := evaluate.ReadPath(dir)
		if err != nil {
			return nil, "", fmt.Errorf("demo: read %s: %w", dir, err)
		}
		rows, source = data.Rows, "MLQE-PE dev ("+dir+")"
	} else if flag != "" {
		return nil, "", fmt.Errorf("demo: no MLQE-PE TSV files under %s", flag)
	}
	var msgs []demoMsg
	if rows == nil {
		b, err := demoFS.ReadFile("demodata/sample.jsonl")
		if err != nil {
			return nil, "", err
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var raw map[string]string
			if err := json.Unmarshal([]byte(line), &raw); err != nil {
				return nil, "", fmt.Errorf("demo: built-in sample: %w", err)
			}
			msgs = append(msgs, demoMsg{key: raw["id"], value: []byte(line), lp: raw["src_lang"] + "-" + raw["tgt_lang"]})
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
			msgs = append(msgs, demoMsg{key: id, value: v, lp: lp, gold: r.DA})
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
	out := make([]demoMsg, 0, len(msgs)+len(msgs)/50+1)
	for i, m := range msgs {
		out = append(out, m)
		if i%50 == 49 {
			out = append(out, demoMsg{key: fmt.Sprintf("bad-%d", i), value: bad[(i/50)%len(bad)]})
		}
	}
	return out, source, nil
}

func runDemo(ctx context.Context, log *slog.Logger, msgs []demoMsg, source, modelDir string, partitions int, timeout time.Duration) (*demoSummary, error) {
	cfg, err := LoadConfig("")
	if err != nil {
		return nil, err
	}
	cfg.Model.Dir = modelDir
	cfg.Routes.Review = "review.{tgt_lang}"
	cfg.Routes.ReviewMargin = 0.02
	sc, err := openScorer(cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	defer sc.Close()

	tgts := map[string]bool{}
	for _, m := range msgs {
		if m.lp != "" {
			tgts[m.lp[strings.LastIndexByte(m.lp, '-')+1:]] = true
		}
	}
	for _, lp := range modelLangPairs(sc, nil) {
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

	if err := produceDemo(ctx, cfg.Kafka.Brokers, cfg.Kafka.Topics[0], msgs); err != nil {
		return nil, err
	}
	parts, err := buildGate(ctx, cfg, sc, log, nil)
	if err != nil {
		return nil, err
	}
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := parts.gate.Run(stop)
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
			got := parts.engine.Stats().Snapshot().Total.Sum()
			return nil, fmt.Errorf("demo: only %d of %d messages routed within %s", got, fed, timeout)
		case <-time.After(20 * time.Millisecond):
			if parts.engine.Stats().Snapshot().Total.Sum() >= fed {
				elapsed = time.Since(start)
				break wait
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		return nil, err
	}
	if err := parts.sink.Close(); err != nil {
		return nil, err
	}
	snap := parts.engine.Stats().Snapshot()
	out := sc.DecisionOutput()
	sum := &demoSummary{
		Fed: fed, Accepted: snap.Total.Accepted, Rejected: snap.Total.Rejected, Review: snap.Total.Review,
		DeadLetter: snap.Total.DeadLetter, Seconds: elapsed.Seconds(), PairsPerS: float64(fed) / elapsed.Seconds(),
		Model: sc.Manifest().Name + "@" + sc.Manifest().Version, Output: out.Name, Data: source,
		ByLP: map[string]demoLPSummary{},
	}
	fedLP := map[string]int64{}
	gold := map[string]*float64{}
	for _, m := range msgs {
		lp := m.lp
		if lp == "" {
			lp = "invalid"
		}
		fedLP[lp]++
		gold[m.key] = m.gold
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
		s := demoLPSummary{RouteCounts: c, Fed: fedLP[lp]}
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

func produceDemo(ctx context.Context, brokers []string, topic string, msgs []demoMsg) error {
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll,
		BatchSize: 500, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	batch := make([]kafka.Message, 0, 500)
	for i, m := range msgs {
		batch = append(batch, kafka.Message{Key: []byte(m.key), Value: m.value})
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

func printDemo(w io.Writer, s *demoSummary) {
	fmt.Fprintf(w, "qegate demo: %d messages from %s through an in-process Kafka broker\n", s.Fed, s.Data)
	fmt.Fprintf(w, "model %s, decision output %s\n\n", s.Model, s.Output)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "lang pair\tfed\taccepted\trejected\treview\tdead letter\tagrees with DA label\t")
	lps := make([]string, 0, len(s.ByLP))
	for lp := range s.ByLP {
		lps = append(lps, lp)
	}
	sort.Strings(lps)
	for _, lp := range lps {
		c := s.ByLP[lp]
		agree := "-"
		if c.AgreeGold != nil {
			agree = fmt.Sprintf("%.1f%%", 100**c.AgreeGold)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t\n", lp, c.Fed, c.Accepted, c.Rejected, c.Review, c.DeadLetter, agree)
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%d\t\t\n", s.Fed, s.Accepted, s.Rejected, s.Review, s.DeadLetter)
	_ = tw.Flush()
	fmt.Fprintf(w, "\naccepted + rejected + review + dead letter = %d of %d fed; read back from the output topics: %v\n",
		s.Accepted+s.Rejected+s.Review+s.DeadLetter, s.Fed, s.ReadBack)
	fmt.Fprintf(w, "rate: %.1f pairs/s end to end (%.1fs)\n", s.PairsPerS, s.Seconds)
}
