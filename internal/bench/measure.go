package bench

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

	ort "github.com/yalue/onnxruntime_go"

	"github.com/qegate/qegate/internal/demo"
	"github.com/qegate/qegate/internal/evaluate"
	"github.com/qegate/qegate/internal/native"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/scorer"
)

// Run measures everything Options ask for and returns the report; progress
// lines go to logw.
func Run(ctx context.Context, o Options, logw io.Writer) (*Result, error) {
	start := time.Now()
	if o.Quick {
		o.N = min(o.N, 64)
		o.LatencyN = min(o.LatencyN, 16)
		o.MinSeconds = 0
	}
	if o.N < 1 || o.LatencyN < 1 {
		return nil, errors.New("bench: --n and --latency-n must be at least 1")
	}
	progress := func(format string, args ...any) {
		fmt.Fprintf(logw, "bench: "+format+"\n", args...)
	}
	pairs, source, err := benchPairs(o.Data, o.N)
	if err != nil {
		return nil, err
	}
	modelDir := o.Model
	if modelDir == "" {
		modelDir = native.DefaultModelDir()
	}
	cores := runtime.NumCPU()
	res := &Result{ModelDir: modelDir, Data: source, Pairs: len(pairs), Cores: cores,
		Machine: Machine(cores), Quick: o.Quick, Peers: map[string]*Peer{}}
	if st, err := os.Stat(filepath.Join(modelDir, scorer.ModelFile)); err == nil {
		res.ModelBytes = st.Size()
	}
	resetOK := ResetPeakRSS()
	res.LoadAvg[0] = LoadAvg()

	// 1. Table 1 protocol: batch 1, one session, one thread.
	progress("batch-1 latency on %d pairs (1 session x 1 thread)", min(o.LatencyN, len(pairs)))
	lat, name, err := measureBatch1(modelDir, pairs[:min(o.LatencyN, len(pairs))])
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
	if o.Quick {
		callPairs, runBatches = 8, []int{1, 8}
	}
	defSessions, defThreads := scorerDefaults(modelDir)
	layouts := []Layout{{Sessions: 1, Threads: 1, Callers: 1}, {Sessions: defSessions, Threads: defThreads, Callers: defSessions + 1}}
	if cores > 1 && !o.Quick {
		layouts = append(layouts, Layout{Sessions: cores, Threads: 1, Callers: cores + 1, Separate: true})
		layouts = append(layouts, Layout{Sessions: 1, Threads: cores, Callers: 2})
		layouts = append(layouts, Layout{Sessions: 1, Threads: cores, Callers: 2, Spinning: true})
	}
	head := Layout{Sessions: defSessions, Threads: defThreads, Callers: defSessions + 1}
	for _, l := range layouts {
		for _, mb := range runBatches {
			sc, err := scorer.New(scorer.Config{ModelDir: modelDir, Sessions: l.Sessions, IntraOpThreads: l.Threads,
				SeparateSessions: l.Separate, Spinning: l.Spinning, MaxBatch: mb})
			if err != nil {
				return nil, err
			}
			gp, err := measureThroughput(ctx, sc, pairs, callPairs, l.Callers, o.MinSeconds)
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
	res.PeakRSSMB, res.PeakRSSFrom = PeakRSSMB(), "the bench process after the throughput grid"
	if !resetOK {
		progress("note: could not reset VmHWM; process_peak_rss_mb covers the process so far")
	}

	// The machine may be shared: every comparison below is bracketed by
	// qegate runs of the headline configuration on the same pairs, and each
	// of those runs is also a headline sample.
	ref := func(sub []qe.Pair) (*Peer, error) {
		r, err := qegateRef(ctx, modelDir, sub, o, callPairs, defSessions, defThreads)
		if err == nil && len(sub) == len(pairs) {
			res.HeadlineSamples = append(res.HeadlineSamples, r.PairsPerS)
		}
		return r, err
	}

	// 3. End to end through the in-process Kafka broker, same pairs.
	if o.E2E {
		progress("end to end through kfake: %d pairs, bracketed by raw scorer runs", len(pairs))
		before, err := ref(pairs)
		if err != nil {
			return nil, err
		}
		e2e, secs, err := measureE2E(ctx, modelDir, pairs, o.Partitions)
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
	rounds := o.Rounds
	if o.Quick {
		rounds = 1
	}
	for _, p := range strings.Split(o.Peers, ",") {
		p = strings.TrimSpace(p)
		if p == "" || p == "none" {
			continue
		}
		// Slower model variants get fewer pairs: a quarter, at least 64.
		sub := pairs[:min(len(pairs), max(64, len(pairs)/4))]
		var run func(first bool) *Peer
		switch p {
		case "python_ort":
			sub = pairs
			run = func(first bool) *Peer {
				return externalPeer(ctx, o.Python, []string{filepath.Join(o.PeersDir, "python_ort.py")}, modelDir, sub, o, first, callPairs, cores,
					"Python onnxruntime 1.30 + HF tokenizers: one session, intra-op threads = cores, batches in input order")
			}
		case "hugot":
			sub = pairs
			run = func(first bool) *Peer {
				return externalPeer(ctx, o.Hugot, nil, modelDir, sub, o, first, callPairs, cores,
					"hugot v0.7.0 (ORT backend, Rust tokenizer): TextClassificationPipeline, one session, intra-op threads = cores")
			}
		case "unquantized":
			run = func(bool) *Peer {
				return variantPeer(ctx, modelDir, o.Unquantized, sub, o, callPairs, defSessions, defThreads, "same pruned model, fp32 weights, qegate's scorer")
			}
		case "unpruned":
			run = func(bool) *Peer {
				return variantPeer(ctx, modelDir, o.Unpruned, sub, o, callPairs, defSessions, defThreads, "unpruned 12-layer model, int8, qegate's scorer")
			}
		case "unpruned_fp32":
			run = func(bool) *Peer {
				return variantPeer(ctx, modelDir, o.UnprunedFP32, sub, o, callPairs, defSessions, defThreads, "unpruned 12-layer model, fp32 (the paper's baseline), qegate's scorer")
			}
		default:
			return nil, fmt.Errorf("bench: unknown peer %q (python_ort, hugot, unquantized, unpruned, unpruned_fp32)", p)
		}
		progress("peer %s (%d pairs, %d rounds)", p, len(sub), rounds)
		prev, err := ref(sub)
		if err != nil {
			return nil, err
		}
		var peer *Peer
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
			peer.PairsPerS, peer.QegatePairsPerS = Percentile(rates, 50), Percentile(qrates, 50)
			r := Percentile(ratios, 50)
			peer.Ratio, peer.RatioMin, peer.RatioMax, peer.Rounds = &r, slices.Min(ratios), slices.Max(ratios), len(ratios)
			if len(cpuRatios) > 0 {
				c := Percentile(cpuRatios, 50)
				peer.CPURatio = &c
			}
			if len(latRatios) > 0 {
				peer.LatencyRate = &latRatios[0]
			}
		}
		res.Peers[p] = peer
	}
	if len(res.HeadlineSamples) > 0 {
		res.PairsPerS = Percentile(res.HeadlineSamples, 50)
	}

	// 5. Peak RSS of the gate's scorer alone, in a fresh process.
	if rss, err := rssProbe(ctx, o); err != nil {
		progress("rss probe failed (peak_rss_mb falls back to the bench process): %v", err)
	} else {
		res.PeakRSSMB, res.PeakRSSFrom = rss, "a fresh process scoring the pairs with the default configuration (qegate bench --rss-probe)"
	}
	res.ProcessPeakRSSMB = PeakRSSMB()
	res.Seconds = time.Since(start).Seconds()
	res.LoadAvg[1] = LoadAvg()
	return res, nil
}

// rssProbe runs `qegate bench --rss-probe` in a fresh process: the peak RSS
// of loading the model with the default configuration and scoring the
// pairs as the gate does, without what the bench itself has touched.
func rssProbe(ctx context.Context, o Options) (float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	// A test binary would run its tests instead of the probe (and those
	// would start probes again): never re-execute one, nor nest probes.
	if strings.HasSuffix(exe, ".test") || os.Getenv(rssProbeEnv) != "" {
		return 0, errors.New("not re-executing a test binary or a probe")
	}
	args := []string{"bench", "--rss-probe", "--n", fmt.Sprint(o.N)}
	if o.Model != "" {
		args = append(args, "--model", o.Model)
	}
	if o.Data != "" {
		args = append(args, "--data", o.Data)
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

// RSSProbe is `qegate bench --rss-probe`: score the pairs with the default
// configuration and print the process's peak RSS as JSON on w.
func RSSProbe(ctx context.Context, o Options, w io.Writer) error {
	pairs, _, err := benchPairs(o.Data, o.N)
	if err != nil {
		return err
	}
	sc, err := scorer.New(scorer.Config{ModelDir: o.Model})
	if err != nil {
		return err
	}
	defer sc.Close()
	sessions, _ := sc.PoolSize()
	if _, err := measureThroughput(ctx, sc, pairs, 32, sessions+1, 0); err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(map[string]float64{"peak_rss_mb": PeakRSSMB()})
}

// benchPairs reads the data set and takes n valid pairs, interleaving the
// language pairs (row i of each file in turn) so any prefix mixes them.
func benchPairs(flag string, n int) ([]qe.Pair, string, error) {
	var rows []evaluate.Row
	source := ""
	if dir := demo.FindData(flag); dir != "" {
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
		msgs, src, err := demo.LoadMessages("", 0)
		if err != nil {
			return nil, "", err
		}
		source = src
		for _, m := range msgs {
			var v struct{ Src, MT, SrcLang, TgtLang string }
			var raw map[string]any
			if m.LangPair == "" || json.Unmarshal(m.Value, &raw) != nil {
				continue
			}
			v.Src, _ = raw["src"].(string)
			v.MT, _ = raw["mt"].(string)
			v.SrcLang, _ = raw["src_lang"].(string)
			v.TgtLang, _ = raw["tgt_lang"].(string)
			rows = append(rows, evaluate.Row{Src: v.Src, MT: v.MT, SrcLang: v.SrcLang, TgtLang: v.TgtLang})
		}
	}
	byLP := map[string][]qe.Pair{}
	var order []string
	for _, r := range rows {
		p := qe.Pair{Src: r.Src, MT: r.MT, SrcLang: r.SrcLang, TgtLang: r.TgtLang}
		if qe.ValidatePair(p) != nil {
			continue
		}
		lp := p.LangPair()
		if _, ok := byLP[lp]; !ok {
			order = append(order, lp)
		}
		byLP[lp] = append(byLP[lp], p)
	}
	var all []qe.Pair
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
	out := make([]qe.Pair, n)
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
func measureBatch1(modelDir string, pairs []qe.Pair) (Latency, string, error) {
	sc, err := scorer.New(scorer.Config{ModelDir: modelDir, Sessions: 1, IntraOpThreads: 1})
	if err != nil {
		return Latency{}, "", err
	}
	defer sc.Close()
	name := sc.Manifest().Name + "@" + sc.Manifest().Version
	ctx := context.Background()
	for i := range min(10, len(pairs)) { // warm-up
		if _, err := sc.Score(ctx, pairs[i:i+1]); err != nil {
			return Latency{}, "", err
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
			return Latency{}, "", err
		}
		t1 := time.Now()
		if _, err := sc.Infer(ctx, b); err != nil {
			return Latency{}, "", err
		}
		t2 := time.Now()
		tok[i], inf[i], tot[i] = float64(t1.Sub(t0))/1e6, float64(t2.Sub(t1))/1e6, float64(t2.Sub(t0))/1e6
		ntok += b.MaxSeqLen()
	}
	return Latency{
		N: len(pairs), TotalP50: Percentile(tot, 50), TotalP99: Percentile(tot, 99), TotalMean: Mean(tot),
		TokenizeMean: Mean(tok), TokenizeP50: Percentile(tok, 50),
		InferMean: Mean(inf), InferP50: Percentile(inf, 50),
		MeanTokens: float64(ntok) / float64(len(pairs)),
	}, name, nil
}

// measureThroughput runs Score over pairs in batches of size batch from
// callers goroutines, repeating the pairs until minSeconds have passed.
func measureThroughput(ctx context.Context, sc *scorer.Scorer, pairs []qe.Pair, batch, callers int, minSeconds float64) (GridPoint, error) {
	var chunks [][]qe.Pair
	for i := 0; i < len(pairs); i += batch {
		chunks = append(chunks, pairs[i:min(i+batch, len(pairs))])
	}
	if _, err := sc.Score(ctx, chunks[0]); err != nil { // warm-up
		return GridPoint{}, err
	}
	var (
		next  atomic.Int64
		mu    sync.Mutex
		calls []float64
		done  int
		first error
	)
	deadline := time.Now().Add(time.Duration(minSeconds * float64(time.Second)))
	cpu0 := CPUSeconds()
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
	cpu := CPUSeconds() - cpu0
	if first != nil {
		return GridPoint{}, first
	}
	return GridPoint{Layout: Layout{Callers: callers}, CallPairs: batch, PairsPerS: float64(done) / el,
		CallP50: Percentile(calls, 50), CallP99: Percentile(calls, 99), Pairs: done, CPUCores: cpu / el}, nil
}

// paddingShare is the share of padded positions when pairs are batched in
// input order and each batch is padded to its longest row.
func paddingShare(modelDir string, pairs []qe.Pair, batch int) float64 {
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
func measureE2E(ctx context.Context, modelDir string, pairs []qe.Pair, partitions int) (float64, float64, error) {
	msgs := make([]demo.Message, len(pairs))
	for i, p := range pairs {
		id := fmt.Sprintf("b%d", i)
		v, _ := json.Marshal(map[string]string{"id": id, "src": p.Src, "mt": p.MT, "src_lang": p.SrcLang, "tgt_lang": p.TgtLang})
		msgs[i] = demo.Message{Key: id, Value: v, LangPair: p.LangPair()}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sum, err := demo.Run(ctx, log, msgs, "bench", modelDir, partitions, 10*time.Minute)
	if err != nil {
		return 0, 0, err
	}
	return sum.PairsPerS, sum.Seconds, nil
}

// qegateRef measures qegate's headline layout and batch-1 latency on pairs,
// next to a peer run.
func qegateRef(ctx context.Context, modelDir string, pairs []qe.Pair, o Options, batch, sessions, threads int) (*Peer, error) {
	lat, _, err := measureBatch1(modelDir, pairs[:min(len(pairs), max(16, o.LatencyN/3))])
	if err != nil {
		return nil, err
	}
	sc, err := scorer.New(scorer.Config{ModelDir: modelDir, Sessions: sessions, IntraOpThreads: threads})
	if err != nil {
		return nil, err
	}
	defer sc.Close()
	gp, err := measureThroughput(ctx, sc, pairs, batch, sessions+1, o.MinSeconds)
	if err != nil {
		return nil, err
	}
	return &Peer{PairsPerS: gp.PairsPerS, LatencyP50: lat.TotalP50, CPUCores: gp.CPUCores}, nil
}

// variantPeer runs another ONNX file of the same model family through
// qegate's own scorer (same tokenizer, manifest and layout).
func variantPeer(ctx context.Context, modelDir, onnx string, pairs []qe.Pair, o Options, batch, sessions, threads int, what string) *Peer {
	peer := &Peer{What: what, Batch: scorer.DefaultMaxBatch, Threads: sessions * threads} // Batch: rows per ORT run
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
	for _, l := range [][2]string{{abs, scorer.ModelFile}, {filepath.Join(mabs, scorer.TokenizerFile), scorer.TokenizerFile}} {
		if err := os.Symlink(l[0], filepath.Join(dir, l[1])); err != nil {
			peer.Error = err.Error()
			return peer
		}
	}
	// The peer's model.onnx is another file than the manifest's: the copy
	// of model.json carries its sha256, which loading verifies.
	if err := peerManifest(mabs, abs, dir); err != nil {
		peer.Error = err.Error()
		return peer
	}
	peer.Note = onnx
	sub := pairs
	lat, _, err := measureBatch1(dir, sub[:min(len(sub), max(16, o.LatencyN/3))])
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
	gp, err := measureThroughput(ctx, sc, sub, batch, sessions+1, o.MinSeconds)
	if err != nil {
		peer.Error = err.Error()
		return peer
	}
	peer.PairsPerS, peer.Pairs, peer.CPUCores = gp.PairsPerS, gp.Pairs, gp.CPUCores
	return peer
}

// externalPeer runs a peer program that takes the model, tokenizer and a
// JSONL file of pairs and prints one JSON object (bench/peers/*).
func externalPeer(ctx context.Context, prog string, pre []string, modelDir string, pairs []qe.Pair, o Options, first bool, batch, cores int, what string) *Peer {
	peer := &Peer{What: what, Batch: batch, Threads: cores}
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
		"--latency-pairs", fmt.Sprint(map[bool]int{true: o.LatencyN, false: 10}[first]), "--min-seconds", fmt.Sprint(o.MinSeconds))
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

// peerManifest writes modelDir's model.json into dir with the sha256 of
// the peer's onnx file.
func peerManifest(modelDir, onnx, dir string) error {
	man, err := scorer.LoadManifest(modelDir)
	if err != nil {
		return err
	}
	if man.SHA256, err = scorer.FileSHA256(onnx); err != nil {
		return err
	}
	b, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: peer manifest: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, scorer.ManifestFile), b, 0o644)
}
