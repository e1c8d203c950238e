package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/scorer"
)

// Run measures everything Options ask for and returns the report; progress
// lines go to logw. The stages run in order on one machine, so every
// comparison is a ratio measured side by side in this run.
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
	pairs, source, err := benchPairs(o.Data, o.N)
	if err != nil {
		return nil, err
	}
	modelDir, _ := scorer.ModelDir(o.Model) // "" when none: the scorer reports it
	cores := runtime.NumCPU()
	m := &measurement{ctx: ctx, o: o, logw: logw, pairs: pairs, modelDir: modelDir, cores: cores, callPairs: 32,
		res: &Result{ModelDir: modelDir, Data: source, Pairs: len(pairs), Cores: cores,
			Machine: Machine(cores), Quick: o.Quick, Peers: map[string]*Peer{}}}
	if o.Quick {
		m.callPairs = 8
	}
	res := m.res
	if st, err := os.Stat(filepath.Join(modelDir, scorer.ModelFile)); err == nil {
		res.ModelBytes = st.Size()
	}
	resetOK := ResetPeakRSS()
	res.LoadAvg[0] = LoadAvg()

	// 1. Table 1 protocol: batch 1, one session, one thread.
	m.progress("batch-1 latency on %d pairs (1 session x 1 thread)", min(o.LatencyN, len(pairs)))
	lat, name, err := measureBatch1(modelDir, pairs[:min(o.LatencyN, len(pairs))])
	if err != nil {
		return nil, err
	}
	res.Model, res.Batch1, res.LatencyMsP50Batch1 = name, lat, lat.TotalP50
	res.ORT = ort.GetVersion()

	m.defSessions, m.defThreads, m.defRows = scorerDefaults(modelDir)
	if err := m.grid(); err != nil {
		return nil, err
	}
	res.PaddingShare = paddingShare(modelDir, pairs, m.callPairs)
	res.PeakRSSMB, res.PeakRSSFrom = PeakRSSMB(), "the bench process after the throughput grid"
	if !resetOK {
		m.progress("note: could not reset VmHWM; process_peak_rss_mb covers the process so far")
	}
	if o.E2E {
		if err := m.endToEnd(); err != nil {
			return nil, err
		}
	}
	if err := m.peers(); err != nil {
		return nil, err
	}
	if len(res.HeadlineSamples) > 0 {
		res.PairsPerS = Percentile(res.HeadlineSamples, 50)
	}

	// 5. Peak RSS of the gate's scorer alone, in a fresh process.
	if rss, err := rssProbe(ctx, o, o.Model); err != nil {
		m.progress("rss probe failed (peak_rss_mb falls back to the bench process): %v", err)
	} else {
		res.PeakRSSMB, res.PeakRSSFrom = rss.PeakRSSMB, "a fresh process scoring the pairs with the default configuration (qegate bench --rss-probe)"
		res.LoadPeakRSSMB, res.SteadyRSSMB = rss.LoadPeakRSSMB, rss.SteadyRSSMB
	}
	res.ProcessPeakRSSMB = PeakRSSMB()
	res.Seconds = time.Since(start).Seconds()
	res.LoadAvg[1] = LoadAvg()
	return res, nil
}

// measurement is one Run's state, shared by its stages.
type measurement struct {
	ctx      context.Context
	o        Options
	logw     io.Writer
	res      *Result
	pairs    []qe.Pair
	modelDir string
	cores    int
	// callPairs is the pairs per Score call (the engine's batch).
	callPairs int
	// defSessions and defThreads are the scorer's default layout, defRows
	// its default rows per ORT run for the model.
	defSessions, defThreads, defRows int
}

func (m *measurement) progress(format string, args ...any) {
	fmt.Fprintf(m.logw, "bench: "+format+"\n", args...)
}

// ref runs qegate's headline configuration on sub. The machine may be
// shared: every comparison is bracketed by such runs on the same pairs,
// and each run over all the pairs is also a headline sample.
func (m *measurement) ref(sub []qe.Pair) (*Peer, error) {
	r, err := qegateRef(m.ctx, m.modelDir, sub, m.o, m.callPairs, m.defSessions, m.defThreads)
	if err == nil && len(sub) == len(m.pairs) {
		m.res.HeadlineSamples = append(m.res.HeadlineSamples, r.PairsPerS)
	}
	return r, err
}

// grid is stage 2, the throughput grid: Score calls of callPairs pairs
// (the engine's batch) from several goroutines, over layouts (sessions x
// intra-op threads = cores; shared or separate ORT sessions) and MaxBatch
// (rows per ORT run, length-bucketed).
func (m *measurement) grid() error {
	runBatches := []int{1, 2, 4, 8, 16, 32}
	if m.o.Quick {
		runBatches = []int{1, 8}
	}
	layouts := []Layout{{Sessions: 1, Threads: 1, Callers: 1}, {Sessions: m.defSessions, Threads: m.defThreads, Callers: m.defSessions + 1}}
	if m.cores > 1 && !m.o.Quick {
		layouts = append(layouts, Layout{Sessions: m.cores, Threads: 1, Callers: m.cores + 1, Separate: true})
		layouts = append(layouts, Layout{Sessions: 1, Threads: m.cores, Callers: 2})
		layouts = append(layouts, Layout{Sessions: 1, Threads: m.cores, Callers: 2, Spinning: true})
	}
	head := Layout{Sessions: m.defSessions, Threads: m.defThreads, Callers: m.defSessions + 1}
	// The gate's layout once more without the token bound: what rows per
	// run cost when nothing keeps a run's activations in cache.
	layouts = append(layouts, Layout{Sessions: m.defSessions, Threads: m.defThreads, Callers: m.defSessions + 1, RunTokens: -1})
	for _, l := range layouts {
		for _, mb := range runBatches {
			sc, err := scorer.New(scorer.Config{ModelDir: m.modelDir, Sessions: l.Sessions, IntraOpThreads: l.Threads,
				SeparateSessions: l.Separate, Spinning: l.Spinning, MaxBatch: mb, MaxBatchTokens: l.RunTokens})
			if err != nil {
				return err
			}
			gp, err := measureThroughput(m.ctx, sc, m.pairs, m.callPairs, l.Callers, m.o.MinSeconds)
			if err == nil {
				gp.PaddingShare, gp.RowsPerRun, err = runPadding(sc, m.pairs, m.callPairs)
			}
			sc.Close()
			if err != nil {
				return err
			}
			gp.Layout, gp.RunBatch = l, mb
			m.progress("%s, %d rows per ORT run: %.1f pairs/s", l, mb, gp.PairsPerS)
			m.res.Grid = append(m.res.Grid, gp)
			if l == head && mb == m.defRows {
				m.res.Headline, m.res.PairsPerS = gp, gp.PairsPerS
				m.res.HeadlineSamples = append(m.res.HeadlineSamples, gp.PairsPerS)
			}
		}
	}
	return nil
}

// scorerDefaults returns the scorer's default layout and rows per ORT run
// for the model.
func scorerDefaults(modelDir string) (sessions, threads, rows int) {
	sc, err := scorer.New(scorer.Config{ModelDir: modelDir})
	if err != nil {
		return 1, runtime.NumCPU(), 1
	}
	defer sc.Close()
	sessions, threads = sc.PoolSize()
	rows, _ = sc.RunLimits()
	return sessions, threads, rows
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

// runPadding is the share of padded positions in the ORT runs of sc (its
// run limits and length bucketing) when pairs come in calls of batch
// pairs, and the mean rows per run.
func runPadding(sc *scorer.Scorer, pairs []qe.Pair, batch int) (share, rowsPerRun float64, err error) {
	real, padded, runs := 0, 0, 0
	for i := 0; i < len(pairs); i += batch {
		b, err := sc.Encode(pairs[i:min(i+batch, len(pairs))])
		if err != nil {
			return 0, 0, err
		}
		r, p, n := sc.Padding(b)
		real, padded, runs = real+r, padded+p, runs+n
	}
	if padded == 0 {
		return 0, 0, nil
	}
	return 1 - float64(real)/float64(padded), float64(len(pairs)) / float64(runs), nil
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
