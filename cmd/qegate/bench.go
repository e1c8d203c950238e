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
}

func newBenchCmd() *cobra.Command {
	var o benchOpts
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure scoring latency and throughput, end to end through Kafka, and against peers on the same pairs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := runBench(cmd.Context(), o, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			res.Command = "qegate bench " + strings.Join(os.Args[2:], " ")
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

	// 1. Table 1 protocol: batch 1, one session, one thread.
	progress("batch-1 latency on %d pairs (1 session x 1 thread)", min(o.latencyN, len(pairs)))
	lat, name, err := measureBatch1(modelDir, pairs[:min(o.latencyN, len(pairs))])
	if err != nil {
		return nil, err
	}
	res.Model, res.Batch1, res.LatencyMsP50Batch1 = name, lat, lat.TotalP50
	res.ORT = ort.GetVersion()

	// 2. Throughput grid: layouts with sessions x threads = cores.
	batches := []int{1, 8, 32, 64}
	if o.quick {
		batches = []int{1, 8}
	}
	defSessions, defThreads := scorerDefaults(modelDir)
	type layout struct{ sessions, threads, callers int }
	layouts := []layout{{1, 1, 1}, {defSessions, defThreads, defSessions + 1}}
	if cores > 1 {
		layouts = append(layouts, layout{cores, 1, cores})
		if defSessions != 1 || defThreads != cores {
			layouts = append(layouts, layout{1, cores, 2})
		}
	}
	for _, l := range layouts {
		sc, err := scorer.New(scorer.Config{ModelDir: modelDir, Sessions: l.sessions, IntraOpThreads: l.threads, MaxBatch: 64})
		if err != nil {
			return nil, err
		}
		for _, b := range batches {
			gp, err := measureThroughput(ctx, sc, pairs, b, l.callers, o.minSeconds)
			if err != nil {
				sc.Close()
				return nil, err
			}
			gp.Sessions, gp.Threads = l.sessions, l.threads
			progress("%d session(s) x %d thread(s), %d caller(s), batch %d: %.1f pairs/s", l.sessions, l.threads, l.callers, b, gp.PairsPerS)
			res.Grid = append(res.Grid, gp)
		}
		sc.Close()
	}
	// Headline: the gate's own layout (scorer defaults, engine batch 32,
	// sessions+1 workers), measured on the raw scorer.
	hb := 32
	if o.quick {
		hb = 8
	}
	for _, gp := range res.Grid {
		if gp.Sessions == defSessions && gp.Threads == defThreads && gp.Callers == defSessions+1 && gp.Batch == hb {
			res.Headline, res.PairsPerS = gp, gp.PairsPerS
		}
	}
	res.PaddingShare = paddingShare(modelDir, pairs, hb)
	res.PeakRSSMB = bench.PeakRSSMB()
	if !resetOK {
		progress("note: could not reset VmHWM; peak_rss_mb covers the process so far")
	}

	// 3. End to end through the in-process Kafka broker, same pairs.
	if o.e2e {
		progress("end to end through kfake: %d pairs", len(pairs))
		e2e, secs, err := measureE2E(ctx, modelDir, pairs, o.partitions)
		if err != nil {
			res.E2EError = err.Error()
			progress("e2e failed: %v", err)
		} else {
			res.E2EPairsPerS, res.E2ESeconds, res.E2EPairs = e2e, secs, len(pairs)
			if res.PairsPerS > 0 {
				res.E2EVsRaw = e2e / res.PairsPerS
			}
		}
	}

	// 4. Peers on the same pairs.
	for _, p := range strings.Split(o.peers, ",") {
		p = strings.TrimSpace(p)
		if p == "" || p == "none" {
			continue
		}
		progress("peer %s", p)
		var peer *bench.Peer
		switch p {
		case "python_ort":
			peer = externalPeer(ctx, o.python, []string{filepath.Join(o.peersDir, "python_ort.py")}, modelDir, pairs, o, hb, cores,
				"Python onnxruntime + HF tokenizers (one session, intra-op threads = cores, batches in input order; batch-1 on one thread)")
		case "hugot":
			peer = externalPeer(ctx, o.hugot, nil, modelDir, pairs, o, hb, cores,
				"hugot (knights-analytics/hugot, ORT backend, Rust tokenizer), CrossEncoderPipeline")
		case "unquantized":
			peer = variantPeer(ctx, modelDir, o.unquantized, pairs, o, hb, defSessions, defThreads, "same pruned model, fp32 weights, through qegate's scorer")
		case "unpruned":
			peer = variantPeer(ctx, modelDir, o.unpruned, pairs, o, hb, defSessions, defThreads, "unpruned 12-layer model, int8, through qegate's scorer")
		case "unpruned_fp32":
			peer = variantPeer(ctx, modelDir, o.unprunedFP32, pairs, o, hb, defSessions, defThreads, "unpruned 12-layer model, fp32 (the paper's baseline), through qegate's scorer")
		default:
			return nil, fmt.Errorf("bench: unknown peer %q (python_ort, hugot, unquantized, unpruned, unpruned_fp32)", p)
		}
		peer.SetRatios(res.PairsPerS, res.LatencyMsP50Batch1)
		res.Peers[p] = peer
	}
	res.ProcessPeakRSSMB = bench.PeakRSSMB()
	res.Seconds = time.Since(start).Seconds()
	return res, nil
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
	if first != nil {
		return bench.GridPoint{}, first
	}
	return bench.GridPoint{Callers: callers, Batch: batch, PairsPerS: float64(done) / el,
		CallP50: bench.Percentile(calls, 50), CallP99: bench.Percentile(calls, 99), Pairs: done}, nil
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

// variantPeer runs another ONNX file of the same model family through
// qegate's own scorer (same tokenizer, manifest and layout).
func variantPeer(ctx context.Context, modelDir, onnx string, pairs []scorer.Pair, o benchOpts, batch, sessions, threads int, what string) *bench.Peer {
	peer := &bench.Peer{What: what, Batch: batch, Threads: sessions * threads}
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
	// Slower variants get fewer pairs: a quarter of the set, at least 64.
	sub := pairs[:min(len(pairs), max(64, len(pairs)/4))]
	lat, _, err := measureBatch1(dir, sub[:min(len(sub), max(16, o.latencyN/3))])
	if err != nil {
		peer.Error = err.Error()
		return peer
	}
	peer.LatencyP50 = lat.TotalP50
	sc, err := scorer.New(scorer.Config{ModelDir: dir, Sessions: sessions, IntraOpThreads: threads, MaxBatch: 64})
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
	peer.PairsPerS, peer.Pairs = gp.PairsPerS, gp.Pairs
	return peer
}

// externalPeer runs a peer program that takes the model, tokenizer and a
// JSONL file of pairs and prints one JSON object (bench/peers/*).
func externalPeer(ctx context.Context, prog string, pre []string, modelDir string, pairs []scorer.Pair, o benchOpts, batch, cores int, what string) *bench.Peer {
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
		"--threads", fmt.Sprint(cores), "--batch", fmt.Sprint(batch),
		"--latency-pairs", fmt.Sprint(o.latencyN), "--min-seconds", fmt.Sprint(o.minSeconds))
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
	peer.Pairs = int(num("pairs"))
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
