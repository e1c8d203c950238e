package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	ort "github.com/yalue/onnxruntime_go"

	"github.com/qegate/qegate/internal/bench"
	"github.com/qegate/qegate/internal/evaluate"
	"github.com/qegate/qegate/internal/native"
	"github.com/qegate/qegate/scorer"
)

func init() { rootCmd.AddCommand(newBenchCmd()) }

type benchOpts struct {
	model, data      string
	asJSON, quick    bool
	n, latencyN      int
	minSeconds       float64
	peers            string
	python, peersDir string
	hugot            string
	unquantized      string
	unpruned         string
	unprunedFP32     string
	markdown, plot   string
	e2e              bool
	partitions       int
	rounds           int
	rssProbe         bool
	render           string
}

func newBenchCmd() *cobra.Command {
	var o benchOpts
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure scoring latency and throughput, end to end through Kafka, and against peers on the same pairs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.rssProbe {
				return runRSSProbe(cmd.Context(), o, cmd.OutOrStdout())
			}
			var res *bench.Result
			if o.render != "" {
				// Re-render the reports of an earlier --json run.
				b, err := os.ReadFile(o.render)
				if err != nil {
					return err
				}
				res = &bench.Result{}
				if err := json.Unmarshal(b, res); err != nil {
					return fmt.Errorf("bench: %s: %w", o.render, err)
				}
			} else {
				r, err := runBench(cmd.Context(), o, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				res = r
				res.Command = "qegate bench " + strings.Join(os.Args[2:], " ")
			}
			if o.markdown != "" {
				if err := bench.WriteMarkdown(o.markdown, o.plot, res); err != nil {
					return err
				}
			}
			if o.plot != "" {
				if err := bench.WritePlot(o.plot, res); err != nil {
					return err
				}
			}
			if o.asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			bench.WriteText(cmd.OutOrStdout(), res)
			return nil
		},
	}
	root := native.RepoRoot()
	at := func(rel string) string {
		if root == "" {
			return ""
		}
		return filepath.Join(root, rel)
	}
	f := cmd.Flags()
	f.StringVar(&o.model, "model", "", "model directory (default: the shipped default model)")
	f.StringVar(&o.data, "data", "", "MLQE-PE directory or TSV/JSONL file (default: as for demo, ../shared/mlqe-pe/da/dev)")
	f.BoolVar(&o.asJSON, "json", false, "print one JSON object")
	f.BoolVar(&o.quick, "quick", false, "a few seconds: few pairs, small grid, short runs")
	f.IntVar(&o.n, "n", 2000, "pairs to use (cycled from the data set when it has fewer)")
	f.IntVar(&o.latencyN, "latency-n", 300, "pairs for the batch-1 latency protocol")
	f.Float64Var(&o.minSeconds, "min-seconds", 3, "each throughput run repeats the pairs until this long")
	f.StringVar(&o.peers, "peers", "python_ort,hugot,unquantized,unpruned,unpruned_fp32", "peers to measure, comma-separated (none: no peers)")
	f.StringVar(&o.python, "python", at("train/.venv/bin/python"), "Python with onnxruntime and tokenizers, for the python_ort peer")
	f.StringVar(&o.peersDir, "peers-dir", at("bench/peers"), "directory of the peer scripts")
	f.StringVar(&o.hugot, "hugot", at("bin/hugot-peer"), "hugot peer binary (bench/peers/hugot, built by bench/peers/build_hugot.sh)")
	f.StringVar(&o.unquantized, "unquantized", at("train/.work/lat/L4_fp32.onnx"), "fp32 ONNX of the same pruned model")
	f.StringVar(&o.unpruned, "unpruned", at("train/.work/lat/L12_int8.onnx"), "int8 ONNX of the unpruned 12-layer model")
	f.StringVar(&o.unprunedFP32, "unpruned-fp32", at("train/.work/lat/L12_fp32.onnx"), "fp32 ONNX of the unpruned 12-layer model (the paper's baseline)")
	f.StringVar(&o.markdown, "markdown", "", "also write a Markdown report to this path (docs/BENCHMARKS.md)")
	f.StringVar(&o.plot, "plot", "", "also write a PNG plot (throughput vs batch size) to this path")
	f.BoolVar(&o.e2e, "e2e", true, "measure end to end through the in-process Kafka broker")
	f.IntVar(&o.partitions, "partitions", 4, "partitions of the e2e input topic")
	f.IntVar(&o.rounds, "rounds", 3, "rounds per peer (each bracketed by qegate runs); the ratio is the median")
	f.BoolVar(&o.rssProbe, "rss-probe", false, "internal: score the pairs with the default configuration and print the peak RSS")
	_ = f.MarkHidden("rss-probe")
	f.StringVar(&o.render, "render", "", "write --markdown/--plot (and print) from the JSON of an earlier run instead of measuring")
	return cmd
}

func runBench(ctx context.Context, o benchOpts, logw io.Writer) (*bench.Result, error) {
	start := time.Now()
	if o.quick {
		o.n = min(o.n, 64)
		o.latencyN = min(o.latencyN, 16)
		o.minSeconds = 0
	}
	if o.n < 1 || o.latencyN < 1 {
		return nil, errors.New("bench: --n and --latency-n must be at least 1")
	}
	progress := func(format string, args ...any) {
		fmt.Fprintf(logw, "bench: "+format+"\n", args...)
	}
	pairs, source, err := benchPairs(o.data, o.n)
	if err != nil {
		return nil, err
	}
	modelDir := o.model
	if modelDir == "" {
		modelDir = native.DefaultModelDir()
	}
	cores := runtime.NumCPU()
	res := &bench.Result{ModelDir: modelDir, Data: source, Pairs: len(pairs), Cores: cores,
		Machine: bench.Machine(cores), Quick: o.quick, Peers: map[string]*bench.Peer{}}
	if st, err := os.Stat(filepath.Join(modelDir, scorer.ModelFile)); err == nil {
		res.ModelBytes = st.Size()
	}
	resetOK := bench.ResetPeakRSS()
	res.LoadAvg[0] = bench.LoadAvg()

	// 1. Table 1 protocol: batch 1, one session, one thread.
	progress("batch-1 latency on %d pairs (1 session x 1 thread)", min(o.latencyN, len(pairs)))
	lat, name, err := measureBatch1(modelDir, pairs[:min(o.latencyN, len(pairs))])
	if err != nil {
		return nil, err
	}
	res.Model, res.Batch1, res.LatencyMsP50Batch1 = name, lat, lat.TotalP50
	res.ORT = ort.GetVersion()

	// 2. Throughput grid: Score calls of callPairs pairs (the engine's
	// batch) from several goroutines, over layouts (sessions x intra-op
	// threads = cores; shared or separate ORT sessions) and MaxBatch (rows
	// per ORT run, length-bucketed).
	callPairs := 32
	runBatches := []int{1, 4, 8, 32}
	if o.quick {
		callPairs, runBatches = 8, []int{1, 8}
	}
	defSessions, defThreads := scorerDefaults(modelDir)
	layouts := []bench.Layout{{Sessions: 1, Threads: 1, Callers: 1}, {Sessions: defSessions, Threads: defThreads, Callers: defSessions + 1}}
	if cores > 1 && !o.quick {
		layouts = append(layouts, bench.Layout{Sessions: cores, Threads: 1, Callers: cores + 1, Separate: true})
		layouts = append(layouts, bench.Layout{Sessions: 1, Threads: cores, Callers: 2})
		layouts = append(layouts, bench.Layout{Sessions: 1, Threads: cores, Callers: 2, Spinning: true})
	}
	head := bench.Layout{Sessions: defSessions, Threads: defThreads, Callers: defSessions + 1}
	for _, l := range layouts {
		for _, mb := range runBatches {
			sc, err := scorer.New(scorer.Config{ModelDir: modelDir, Sessions: l.Sessions, IntraOpThreads: l.Threads,
				SeparateSessions: l.Separate, Spinning: l.Spinning, MaxBatch: mb})
			if err != nil {
				return nil, err
			}
			gp, err := measureThroughput(ctx, sc, pairs, callPairs, l.Callers, o.minSeconds)
			sc.Close()
			if err != nil {
				return nil, err
			}
			gp.Layout, gp.RunBatch = l, mb
			progress("%s, %d rows per ORT run: %.1f pairs/s", l, mb, gp.PairsPerS)
			res.Grid = append(res.Grid, gp)
			if l == head && mb == scorer.DefaultMaxBatch {
				res.Headline, res.PairsPerS = gp, gp.PairsPerS
				res.HeadlineSamples = append(res.HeadlineSamples, gp.PairsPerS)
			}
		}
	}
	res.PaddingShare = paddingShare(modelDir, pairs, callPairs)
	res.PeakRSSMB, res.PeakRSSFrom = bench.PeakRSSMB(), "the bench process after the throughput grid"
	if !resetOK {
		progress("note: could not reset VmHWM; process_peak_rss_mb covers the process so far")
	}

	// The machine may be shared: every comparison below is bracketed by
	// qegate runs of the headline configuration on the same pairs, and each
	// of those runs is also a headline sample.
	ref := func(sub []scorer.Pair) (*bench.Peer, error) {
		r, err := qegateRef(ctx, modelDir, sub, o, callPairs, defSessions, defThreads)
		if err == nil && len(sub) == len(pairs) {
			res.HeadlineSamples = append(res.HeadlineSamples, r.PairsPerS)
		}
		return r, err
	}

	// 3. End to end through the in-process Kafka broker, same pairs.
	if o.e2e {
		progress("end to end through kfake: %d pairs, bracketed by raw scorer runs", len(pairs))
		before, err := ref(pairs)
		if err != nil {
			return nil, err
		}
		e2e, secs, err := measureE2E(ctx, modelDir, pairs, o.partitions)
		if err != nil {
			res.E2EError = err.Error()
			progress("e2e failed: %v", err)
		}
		after, err2 := ref(pairs)
		if err2 != nil {
			return nil, err2
		}
		if err == nil {
			res.E2EPairsPerS, res.E2ESeconds, res.E2EPairs = e2e, secs, len(pairs)
			res.E2ERawPairsPerS = (before.PairsPerS + after.PairsPerS) / 2
			res.E2EVsRaw = e2e / res.E2ERawPairsPerS
			progress("e2e %.1f pairs/s, raw alongside %.1f pairs/s", e2e, res.E2ERawPairsPerS)
		}
	}

	// 4. Peers on the same pairs, in rounds: qegate, peer, qegate, peer, ...
	// qegate; a round's ratio is against the mean of the qegate runs either
	// side of it, and the peer's ratio is the median over rounds.
	rounds := o.rounds
	if o.quick {
		rounds = 1
	}
	for _, p := range strings.Split(o.peers, ",") {
		p = strings.TrimSpace(p)
		if p == "" || p == "none" {
			continue
		}
		// Slower model variants get fewer pairs: a quarter, at least 64.
		sub := pairs[:min(len(pairs), max(64, len(pairs)/4))]
		var run func(first bool) *bench.Peer
		switch p {
		case "python_ort":
			sub = pairs
			run = func(first bool) *bench.Peer {
				return externalPeer(ctx, o.python, []string{filepath.Join(o.peersDir, "python_ort.py")}, modelDir, sub, o, first, callPairs, cores,
					"Python onnxruntime 1.30 + HF tokenizers: one session, intra-op threads = cores, batches in input order")
			}
		case "hugot":
			sub = pairs
			run = func(first bool) *bench.Peer {
				return externalPeer(ctx, o.hugot, nil, modelDir, sub, o, first, callPairs, cores,
					"hugot v0.7.0 (ORT backend, Rust tokenizer): TextClassificationPipeline, one session, intra-op threads = cores")
			}
		case "unquantized":
			run = func(bool) *bench.Peer {
				return variantPeer(ctx, modelDir, o.unquantized, sub, o, callPairs, defSessions, defThreads, "same pruned model, fp32 weights, qegate's scorer")
			}
		case "unpruned":
			run = func(bool) *bench.Peer {
				return variantPeer(ctx, modelDir, o.unpruned, sub, o, callPairs, defSessions, defThreads, "unpruned 12-layer model, int8, qegate's scorer")
			}
		case "unpruned_fp32":
			run = func(bool) *bench.Peer {
				return variantPeer(ctx, modelDir, o.unprunedFP32, sub, o, callPairs, defSessions, defThreads, "unpruned 12-layer model, fp32 (the paper's baseline), qegate's scorer")
			}
		default:
			return nil, fmt.Errorf("bench: unknown peer %q (python_ort, hugot, unquantized, unpruned, unpruned_fp32)", p)
		}
		progress("peer %s (%d pairs, %d rounds)", p, len(sub), rounds)
		prev, err := ref(sub)
		if err != nil {
			return nil, err
		}
		var peer *bench.Peer
		var ratios, cpuRatios, latRatios, rates, qrates []float64
		for i := range rounds {
			pr := run(i == 0)
			next, err := ref(sub)
			if err != nil {
				return nil, err
			}
			if peer == nil {
				peer = pr
			}
			if pr.Error != "" {
				peer = pr
				break
			}
			q := (prev.PairsPerS + next.PairsPerS) / 2
			qc := (prev.CPUCores + next.CPUCores) / 2
			rates, qrates = append(rates, pr.PairsPerS), append(qrates, q)
			ratios = append(ratios, q/pr.PairsPerS)
			if qc > 0 && pr.CPUCores > 0 {
				cpuRatios = append(cpuRatios, (q/qc)/(pr.PairsPerS/pr.CPUCores))
			}
			if i == 0 && pr.LatencyP50 > 0 {
				latRatios = append(latRatios, pr.LatencyP50/((prev.LatencyP50+next.LatencyP50)/2))
				peer.QegateLatencyP50 = (prev.LatencyP50 + next.LatencyP50) / 2
			}
			progress("peer %s round %d: %.1f pairs/s (%.2f cores), qegate alongside %.1f pairs/s (%.2f cores)", p, i+1, pr.PairsPerS, pr.CPUCores, q, qc)
			prev = next
		}
		if len(ratios) > 0 {
			peer.PairsPerS, peer.QegatePairsPerS = bench.Percentile(rates, 50), bench.Percentile(qrates, 50)
			r := bench.Percentile(ratios, 50)
			peer.Ratio, peer.RatioMin, peer.RatioMax, peer.Rounds = &r, slices.Min(ratios), slices.Max(ratios), len(ratios)
			if len(cpuRatios) > 0 {
				c := bench.Percentile(cpuRatios, 50)
				peer.CPURatio = &c
			}
			if len(latRatios) > 0 {
				peer.LatencyRate = &latRatios[0]
			}
		}
		res.Peers[p] = peer
	}
	if len(res.HeadlineSamples) > 0 {
		res.PairsPerS = bench.Percentile(res.HeadlineSamples, 50)
	}

	// 5. Peak RSS of the gate's scorer alone, in a fresh process.
	if rss, err := rssProbe(ctx, o); err != nil {
		progress("rss probe failed (peak_rss_mb falls back to the bench process): %v", err)
	} else {
		res.PeakRSSMB, res.PeakRSSFrom = rss, "a fresh process scoring the pairs with the default configuration (qegate bench --rss-probe)"
	}
	res.ProcessPeakRSSMB = bench.PeakRSSMB()
	res.Seconds = time.Since(start).Seconds()
	res.LoadAvg[1] = bench.LoadAvg()
	return res, nil
}

// rssProbe runs `qegate bench --rss-probe` in a fresh process: the peak RSS
// of loading the model with the default configuration and scoring the
// pairs as the gate does, without what the bench itself has touched.
func rssProbe(ctx context.Context, o benchOpts) (float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	// A test binary would run its tests instead of the probe (and those
	// would start probes again): never re-execute one, nor nest probes.
	if strings.HasSuffix(exe, ".test") || os.Getenv(rssProbeEnv) != "" {
		return 0, errors.New("not re-executing a test binary or a probe")
	}
	args := []string{"bench", "--rss-probe", "--n", fmt.Sprint(o.n)}
	if o.model != "" {
		args = append(args, "--model", o.model)
	}
	if o.data != "" {
		args = append(args, "--data", o.data)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), rssProbeEnv+"=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("%w: %s", err, lastLines(stderr.String(), 3))
	}
	var r struct {
		PeakRSSMB float64 `json:"peak_rss_mb"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, err
	}
	return r.PeakRSSMB, nil
}

const rssProbeEnv = "QEGATE_BENCH_RSS_PROBE"

func runRSSProbe(ctx context.Context, o benchOpts, w io.Writer) error {
	pairs, _, err := benchPairs(o.data, o.n)
	if err != nil {
		return err
	}
	sc, err := scorer.New(scorer.Config{ModelDir: o.model})
	if err != nil {
		return err
	}
	defer sc.Close()
	sessions, _ := sc.PoolSize()
	if _, err := measureThroughput(ctx, sc, pairs, 32, sessions+1, 0); err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(map[string]float64{"peak_rss_mb": bench.PeakRSSMB()})
}

// benchPairs reads the data set and takes n valid pairs, interleaving the
// language pairs (row i of each file in turn) so any prefix mixes them.
func benchPairs(flag string, n int) ([]scorer.Pair, string, error) {
	var rows []evaluate.Row
	source := ""
	if dir := findDemoData(flag); dir != "" {
		data, err := evaluate.ReadPath(dir)
		if err != nil {
			return nil, "", fmt.Errorf("bench: read %s: %w", dir, err)
		}
		rows, source = data.Rows, "MLQE-PE dev ("+dir+")"
	} else if flag != "" {
		data, err := evaluate.ReadPath(flag)
		if err != nil {
			return nil, "", fmt.Errorf("bench: read %s: %w", flag, err)
		}
		rows, source = data.Rows, flag
	} else {
		msgs, src, err := loadDemoMessages("", 0)
		if err != nil {
			return nil, "", err
		}
		source = src
		for _, m := range msgs {
			var v struct{ Src, MT, SrcLang, TgtLang string }
			var raw map[string]any
			if m.lp == "" || json.Unmarshal(m.value, &raw) != nil {
				continue
			}
			v.Src, _ = raw["src"].(string)
			v.MT, _ = raw["mt"].(string)
			v.SrcLang, _ = raw["src_lang"].(string)
			v.TgtLang, _ = raw["tgt_lang"].(string)
			rows = append(rows, evaluate.Row{Src: v.Src, MT: v.MT, SrcLang: v.SrcLang, TgtLang: v.TgtLang})
		}
	}
	byLP := map[string][]scorer.Pair{}
	var order []string
	for _, r := range rows {
		p := scorer.Pair{Src: r.Src, MT: r.MT, SrcLang: r.SrcLang, TgtLang: r.TgtLang}
		if scorer.ValidatePair(p) != nil {
			continue
		}
		lp := p.LangPair()
		if _, ok := byLP[lp]; !ok {
			order = append(order, lp)
		}
		byLP[lp] = append(byLP[lp], p)
	}
	var all []scorer.Pair
	for i := 0; ; i++ {
		added := false
		for _, lp := range order {
			if i < len(byLP[lp]) {
				all, added = append(all, byLP[lp][i]), true
			}
		}
		if !added {
			break
		}
	}
	if len(all) == 0 {
		return nil, "", fmt.Errorf("bench: no usable pairs in %s", source)
	}
	out := make([]scorer.Pair, n)
	for i := range out {
		out[i] = all[i%len(all)]
	}
	return out, source, nil
}

func scorerDefaults(modelDir string) (int, int) {
	sc, err := scorer.New(scorer.Config{ModelDir: modelDir})
	if err != nil {
		return 1, runtime.NumCPU()
	}
	defer sc.Close()
	return sc.PoolSize()
}

// measureBatch1 is the paper's Table 1 protocol: one pair at a time on one
// session with one intra-op thread; tokenization (Encode) and inference
// (Infer) are timed apart.
func measureBatch1(modelDir string, pairs []scorer.Pair) (bench.Latency, string, error) {
	sc, err := scorer.New(scorer.Config{ModelDir: modelDir, Sessions: 1, IntraOpThreads: 1})
	if err != nil {
		return bench.Latency{}, "", err
	}
	defer sc.Close()
	name := sc.Manifest().Name + "@" + sc.Manifest().Version
	ctx := context.Background()
	for i := range min(10, len(pairs)) { // warm-up
		if _, err := sc.Score(ctx, pairs[i:i+1]); err != nil {
			return bench.Latency{}, "", err
		}
	}
	tok := make([]float64, len(pairs))
	inf := make([]float64, len(pairs))
	tot := make([]float64, len(pairs))
	ntok := 0
	for i := range pairs {
		t0 := time.Now()
		b, err := sc.Encode(pairs[i : i+1])
		if err != nil {
			return bench.Latency{}, "", err
		}
		t1 := time.Now()
		if _, err := sc.Infer(ctx, b); err != nil {
			return bench.Latency{}, "", err
		}
		t2 := time.Now()
		tok[i], inf[i], tot[i] = float64(t1.Sub(t0))/1e6, float64(t2.Sub(t1))/1e6, float64(t2.Sub(t0))/1e6
		ntok += b.MaxSeqLen()
	}
	return bench.Latency{
		N: len(pairs), TotalP50: bench.Percentile(tot, 50), TotalP99: bench.Percentile(tot, 99), TotalMean: bench.Mean(tot),
		TokenizeMean: bench.Mean(tok), TokenizeP50: bench.Percentile(tok, 50),
		InferMean: bench.Mean(inf), InferP50: bench.Percentile(inf, 50),
		MeanTokens: float64(ntok) / float64(len(pairs)),
	}, name, nil
}

// measureThroughput runs Score over pairs in batches of size batch from
// callers goroutines, repeating the pairs until minSeconds have passed.
func measureThroughput(ctx context.Context, sc *scorer.Scorer, pairs []scorer.Pair, batch, callers int, minSeconds float64) (bench.GridPoint, error) {
	var chunks [][]scorer.Pair
	for i := 0; i < len(pairs); i += batch {
		chunks = append(chunks, pairs[i:min(i+batch, len(pairs))])
	}
	if _, err := sc.Score(ctx, chunks[0]); err != nil { // warm-up
		return bench.GridPoint{}, err
	}
	var (
		next  atomic.Int64
		mu    sync.Mutex
		calls []float64
		done  int
		first error
	)
	deadline := time.Now().Add(time.Duration(minSeconds * float64(time.Second)))
	cpu0 := bench.CPUSeconds()
	start := time.Now()
	var wg sync.WaitGroup
	for range max(callers, 1) {
		wg.Go(func() {
			var mine []float64
			n := 0
			for {
				i := next.Add(1) - 1
				if i >= int64(len(chunks)) && !time.Now().Before(deadline) {
					break // at least one pass, then until the minimum time
				}
				c := chunks[i%int64(len(chunks))]
				t := time.Now()
				if _, err := sc.Score(ctx, c); err != nil {
					mu.Lock()
					first = errors.Join(first, err)
					mu.Unlock()
					break
				}
				mine = append(mine, float64(time.Since(t))/1e6)
				n += len(c)
			}
			mu.Lock()
			calls = append(calls, mine...)
			done += n
			mu.Unlock()
		})
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	cpu := bench.CPUSeconds() - cpu0
	if first != nil {
		return bench.GridPoint{}, first
	}
	return bench.GridPoint{Layout: bench.Layout{Callers: callers}, CallPairs: batch, PairsPerS: float64(done) / el,
		CallP50: bench.Percentile(calls, 50), CallP99: bench.Percentile(calls, 99), Pairs: done, CPUCores: cpu / el}, nil
}

// paddingShare is the share of padded positions when pairs are batched in
// input order and each batch is padded to its longest row.
func paddingShare(modelDir string, pairs []scorer.Pair, batch int) float64 {
	sc, err := scorer.New(scorer.Config{ModelDir: modelDir, Sessions: 1, IntraOpThreads: 1})
	if err != nil {
		return 0
	}
	defer sc.Close()
	b, err := sc.Encode(pairs)
	if err != nil {
		return 0
	}
	real, padded := 0, 0
	for lo := 0; lo < b.Len(); lo += batch {
		hi, longest := min(lo+batch, b.Len()), 0
		for i := lo; i < hi; i++ {
			real += len(b.TokenIDs(i))
			longest = max(longest, len(b.TokenIDs(i)))
		}
		padded += longest * (hi - lo)
	}
	if padded == 0 {
		return 0
	}
	return 1 - float64(real)/float64(padded)
}

// measureE2E runs the demo's whole gate (in-process kfake broker, the
// gate's default configuration) over exactly these pairs, no malformed ones.
func measureE2E(ctx context.Context, modelDir string, pairs []scorer.Pair, partitions int) (float64, float64, error) {
	msgs := make([]demoMsg, len(pairs))
	for i, p := range pairs {
		id := fmt.Sprintf("b%d", i)
		v, _ := json.Marshal(map[string]string{"id": id, "src": p.Src, "mt": p.MT, "src_lang": p.SrcLang, "tgt_lang": p.TgtLang})
		msgs[i] = demoMsg{key: id, value: v, lp: p.LangPair()}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sum, err := runDemo(ctx, log, msgs, "bench", modelDir, partitions, 10*time.Minute)
	if err != nil {
		return 0, 0, err
	}
	return sum.PairsPerS, sum.Seconds, nil
}

// qegateRef measures qegate's headline layout and batch-1 latency on pairs,
// next to a peer run.
func qegateRef(ctx context.Context, modelDir string, pairs []scorer.Pair, o benchOpts, batch, sessions, threads int) (*bench.Peer, error) {
	lat, _, err := measureBatch1(modelDir, pairs[:min(len(pairs), max(16, o.latencyN/3))])
	if err != nil {
		return nil, err
	}
	sc, err := scorer.New(scorer.Config{ModelDir: modelDir, Sessions: sessions, IntraOpThreads: threads})
	if err != nil {
		return nil, err
	}
	defer sc.Close()
	gp, err := measureThroughput(ctx, sc, pairs, batch, sessions+1, o.minSeconds)
	if err != nil {
		return nil, err
	}
	return &bench.Peer{PairsPerS: gp.PairsPerS, LatencyP50: lat.TotalP50, CPUCores: gp.CPUCores}, nil
}

// variantPeer runs another ONNX file of the same model family through
// qegate's own scorer (same tokenizer, manifest and layout).
func variantPeer(ctx context.Context, modelDir, onnx string, pairs []scorer.Pair, o benchOpts, batch, sessions, threads int, what string) *bench.Peer {
	peer := &bench.Peer{What: what, Batch: scorer.DefaultMaxBatch, Threads: sessions * threads} // Batch: rows per ORT run
	if onnx == "" {
		peer.Error = "no ONNX file given"
		return peer
	}
	if _, err := os.Stat(onnx); err != nil {
		peer.Error = "not found: " + onnx + " (export it with the recipe in train/)"
		return peer
	}
	dir, err := os.MkdirTemp("", "qegate-bench-")
	if err != nil {
		peer.Error = err.Error()
		return peer
	}
	defer os.RemoveAll(dir)
	abs, _ := filepath.Abs(onnx)
	mabs, _ := filepath.Abs(modelDir)
	for _, l := range [][2]string{{abs, scorer.ModelFile}, {filepath.Join(mabs, scorer.TokenizerFile), scorer.TokenizerFile}, {filepath.Join(mabs, scorer.ManifestFile), scorer.ManifestFile}} {
		if err := os.Symlink(l[0], filepath.Join(dir, l[1])); err != nil {
			peer.Error = err.Error()
			return peer
		}
	}
	peer.Note = onnx
	sub := pairs
	lat, _, err := measureBatch1(dir, sub[:min(len(sub), max(16, o.latencyN/3))])
	if err != nil {
		peer.Error = err.Error()
		return peer
	}
	peer.LatencyP50 = lat.TotalP50
	sc, err := scorer.New(scorer.Config{ModelDir: dir, Sessions: sessions, IntraOpThreads: threads})
	if err != nil {
		peer.Error = err.Error()
		return peer
	}
	defer sc.Close()
	gp, err := measureThroughput(ctx, sc, sub, batch, sessions+1, o.minSeconds)
	if err != nil {
		peer.Error = err.Error()
		return peer
	}
	peer.PairsPerS, peer.Pairs, peer.CPUCores = gp.PairsPerS, gp.Pairs, gp.CPUCores
	return peer
}

// externalPeer runs a peer program that takes the model, tokenizer and a
// JSONL file of pairs and prints one JSON object (bench/peers/*).
func externalPeer(ctx context.Context, prog string, pre []string, modelDir string, pairs []scorer.Pair, o benchOpts, first bool, batch, cores int, what string) *bench.Peer {
	peer := &bench.Peer{What: what, Batch: batch, Threads: cores}
	if prog == "" {
		peer.Error = "no program given"
		return peer
	}
	if _, err := os.Stat(prog); err != nil {
		peer.Error = "not available: " + prog
		return peer
	}
	for _, p := range pre {
		if _, err := os.Stat(p); err != nil {
			peer.Error = "not available: " + p
			return peer
		}
	}
	f, err := os.CreateTemp("", "qegate-bench-*.jsonl")
	if err != nil {
		peer.Error = err.Error()
		return peer
	}
	defer os.Remove(f.Name())
	enc := json.NewEncoder(f)
	for _, p := range pairs {
		_ = enc.Encode(map[string]string{"src": p.Src, "mt": p.MT})
	}
	if err := f.Close(); err != nil {
		peer.Error = err.Error()
		return peer
	}
	sc, err := scorer.New(scorer.Config{ModelDir: modelDir, Sessions: 1, IntraOpThreads: 1})
	if err != nil {
		peer.Error = err.Error()
		return peer
	}
	man := sc.Manifest()
	sc.Close()
	args := append(append([]string{}, pre...),
		"--model", filepath.Join(modelDir, scorer.ModelFile), "--tokenizer", filepath.Join(modelDir, scorer.TokenizerFile),
		"--pairs", f.Name(), "--max-len", fmt.Sprint(man.MaxLen),
		"--bos", fmt.Sprint(man.SpecialTokens.BOS), "--pad", fmt.Sprint(man.SpecialTokens.PAD), "--eos", fmt.Sprint(man.SpecialTokens.EOS),
		"--threads", fmt.Sprint(cores), "--batch", fmt.Sprintf("1,%d", batch),
		"--latency-pairs", fmt.Sprint(map[bool]int{true: o.latencyN, false: 10}[first]), "--min-seconds", fmt.Sprint(o.minSeconds))
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = append(os.Environ(), "ORT_LIBRARY="+native.ORTLibrary())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		peer.Error = strings.TrimSpace(err.Error() + ": " + lastLines(stderr.String(), 5))
		return peer
	}
	var r map[string]any
	if err := json.Unmarshal(out, &r); err != nil {
		peer.Error = "bad peer output: " + lastLines(string(out), 3)
		return peer
	}
	num := func(k string) float64 { v, _ := r[k].(float64); return v }
	peer.PairsPerS, peer.LatencyP50, peer.PeakRSSMB = num("pairs_per_s"), num("latency_ms_p50_batch1"), num("peak_rss_mb")
	peer.Pairs, peer.CPUCores = int(num("pairs")), num("cpu_cores_used")
	if b := int(num("best_batch")); b > 0 {
		peer.Batch = b
	}
	if e, ok := r["error"].(string); ok {
		peer.Error = e
	}
	if n, ok := r["note"].(string); ok {
		peer.Note = n
	}
	delete(r, "pairs_per_s")
	delete(r, "latency_ms_p50_batch1")
	delete(r, "peak_rss_mb")
	peer.Extra = r
	return peer
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(ls[max(0, len(ls)-n):], " | ")
}
