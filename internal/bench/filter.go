package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/qegate/qegate/internal/app"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/sink"
	"github.com/qegate/qegate/source"
)

// FilterOptions configure FilterBench.
type FilterOptions struct {
	// Model is the model directory; empty means the shipped default.
	Model string
	// Data is as Options.Data: MLQE-PE dev pairs by default, cycled.
	Data string
	// N is the number of lines of the generated file. Zero means 1,000,000.
	N int
	// ScorerSeconds is how long each raw scorer measurement runs (one
	// before and one after the filter; their mean is the reference).
	// Zero means 20.
	ScorerSeconds float64
	// Dir holds the generated input and the outputs; empty means a
	// temporary directory, removed afterwards.
	Dir string
}

// FilterResult is what FilterBench measured, all in one process and run.
type FilterResult struct {
	Lines     int    `json:"lines"`
	Source    string `json:"source"`
	FileBytes int64  `json:"file_bytes"`
	// ScorerPairsPerS is the raw scorer (same batch size, callers and
	// sessions as the filter's engine), the mean of the runs before and
	// after; ScorerRuns are those runs.
	ScorerPairsPerS float64   `json:"scorer_pairs_per_s"`
	ScorerRuns      []float64 `json:"scorer_runs_pairs_per_s"`
	// FilterPairsPerS is input lines per second of the whole filter
	// (read, decode, score, order, write, checkpoint, compress none).
	FilterPairsPerS float64 `json:"filter_pairs_per_s"`
	FilterSeconds   float64 `json:"filter_seconds"`
	// Ratio is FilterPairsPerS / ScorerPairsPerS: wall-clock, so on a
	// shared machine it moves with the neighbours' load between the runs.
	Ratio float64 `json:"ratio"`
	// ScorerCPUMsPerPair and FilterCPUMsPerPair are this process's CPU
	// time (user + system) per pair; CPURatio = scorer / filter is the
	// share of the scorer's throughput the filter reaches when both are
	// CPU-bound on the same cores, and it is far less sensitive to other
	// processes than the wall-clock Ratio.
	ScorerCPUMsPerPair float64 `json:"scorer_cpu_ms_per_pair"`
	FilterCPUMsPerPair float64 `json:"filter_cpu_ms_per_pair"`
	CPURatio           float64 `json:"cpu_ratio"`
	// PeakRSSMB is the process's peak RSS during the filter (VmHWM reset
	// before it); RSSAtQuartersMB the RSS at 25/50/75/100% of the lines:
	// flat when memory does not grow with the file.
	PeakRSSMB       float64    `json:"peak_rss_mb"`
	PeakRSSReset    bool       `json:"peak_rss_reset"`
	RSSAtQuartersMB [4]float64 `json:"rss_at_quarters_mb"`
	Machine         string     `json:"machine"`
	LoadAvg         string     `json:"loadavg"`
	Command         string     `json:"command,omitempty"`
}

// FilterBench generates an N-line JSONL file from the data set's pairs,
// measures the raw scorer, runs the whole filter over the file (the same
// app.Build path as qegate filter, into a fresh directory), measures the
// raw scorer again, and reports the filter's throughput as a share of the
// scorer's and its memory.
func FilterBench(ctx context.Context, o FilterOptions, logw io.Writer) (*FilterResult, error) {
	if o.N <= 0 {
		o.N = 1_000_000
	}
	if o.ScorerSeconds <= 0 {
		o.ScorerSeconds = 20
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "qegate-filter-bench")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	pool, src, err := benchPairs(o.Data, 7000)
	if err != nil {
		return nil, err
	}
	// The file cycles through pool; the raw scorer scores the same pairs
	// (one pass at least), so both see the same length distribution.
	pool = pool[:min(len(pool), o.N)]
	in := filepath.Join(dir, "corpus.jsonl")
	size, err := writeCorpus(in, pool, o.N)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logw, "bench: filter: %d lines (%d MB) from %s\n", o.N, size>>20, src)

	cfg := app.Defaults()
	cfg.Model.ModelDir = o.Model
	sc, err := app.OpenScorer(cfg.Model)
	if err != nil {
		return nil, err
	}
	defer sc.Close()
	pc := cfg.Pipeline
	sessions, _ := sc.PoolSize()
	workers := sessions + 1 // as app.Build sizes them
	res := &FilterResult{Lines: o.N, Source: src, FileBytes: size, Machine: Machine(runtime.NumCPU()), LoadAvg: LoadAvg()}
	var scorerCPU []float64
	raw := func() error {
		gp, err := measureThroughput(ctx, sc, pool, pc.BatchSize, workers, o.ScorerSeconds)
		if err != nil {
			return err
		}
		res.ScorerRuns = append(res.ScorerRuns, gp.PairsPerS)
		scorerCPU = append(scorerCPU, 1000*gp.CPUCores/gp.PairsPerS)
		fmt.Fprintf(logw, "bench: filter: raw scorer %.1f pairs/s (batch %d, %d callers)\n", gp.PairsPerS, pc.BatchSize, workers)
		return nil
	}
	if err := raw(); err != nil {
		return nil, err
	}

	cfg.Routes = app.FileRoutes(0, false)
	out := filepath.Join(dir, "out")
	g, err := app.Build(ctx, &cfg, sc, app.Options{Files: &app.FileOptions{
		Input:  source.FileConfig{Paths: []string{in}},
		Output: sink.OrderedConfig{Dir: out, Force: true, Fingerprint: "bench", Inputs: []string{in}},
	}})
	if err != nil {
		return nil, err
	}
	res.PeakRSSReset = ResetPeakRSS()
	var (
		mu   sync.Mutex
		quar [4]float64
	)
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
			}
			q := int(4*g.Out.Written()/int64(o.N)) - 1
			if q >= 0 && q < 4 {
				mu.Lock()
				if quar[q] == 0 {
					quar[q] = currentRSSMB()
				}
				mu.Unlock()
			}
		}
	}()
	start, cpu0 := time.Now(), CPUSeconds()
	rep, runErr := g.Run(ctx)
	el, cpu := time.Since(start).Seconds(), CPUSeconds()-cpu0
	close(stopSampling)
	<-sampled
	if runErr == nil && g.Out.Written() == int64(o.N) {
		g.Out.MarkComplete()
	}
	if err := g.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return nil, fmt.Errorf("bench: filter: %w", runErr)
	}
	if w := g.Out.Written(); w != int64(o.N) || rep.Dropped != 0 {
		return nil, fmt.Errorf("bench: filter wrote %d of %d lines", w, o.N)
	}
	res.PeakRSSMB = PeakRSSMB()
	mu.Lock()
	res.RSSAtQuartersMB = quar
	mu.Unlock()
	if res.RSSAtQuartersMB[3] == 0 {
		res.RSSAtQuartersMB[3] = currentRSSMB()
	}
	res.FilterSeconds = el
	res.FilterPairsPerS = float64(o.N) / el
	res.FilterCPUMsPerPair = 1000 * cpu / float64(o.N)
	fmt.Fprintf(logw, "bench: filter: %.1f lines/s over %d lines in %.1fs\n", res.FilterPairsPerS, o.N, el)
	if err := raw(); err != nil {
		return nil, err
	}
	res.ScorerPairsPerS = Mean(res.ScorerRuns)
	res.Ratio = res.FilterPairsPerS / res.ScorerPairsPerS
	res.ScorerCPUMsPerPair = Mean(scorerCPU)
	res.CPURatio = res.ScorerCPUMsPerPair / res.FilterCPUMsPerPair
	return res, nil
}

// writeCorpus writes n JSONL lines cycling through pool.
func writeCorpus(path string, pool []qe.Pair, n int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := 0; i < n; i++ {
		p := pool[i%len(pool)]
		b, _ := json.Marshal(map[string]any{"id": "l" + strconv.Itoa(i), "src": p.Src, "mt": p.MT, "src_lang": p.SrcLang, "tgt_lang": p.TgtLang})
		w.Write(b)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, fmt.Errorf("bench: %w", err)
	}
	st, err := f.Stat()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	return st.Size(), nil
}

// currentRSSMB returns the process's VmRSS in MiB (0 where /proc is missing).
func currentRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// WriteFilterText prints a FilterResult for a person.
func WriteFilterText(w io.Writer, r *FilterResult) {
	fmt.Fprintf(w, "filter over %d lines (%d MB, %s)\n", r.Lines, r.FileBytes>>20, r.Source)
	fmt.Fprintf(w, "  raw scorer      %8.1f pairs/s (runs %v)\n", r.ScorerPairsPerS, roundAll(r.ScorerRuns))
	fmt.Fprintf(w, "  filter          %8.1f lines/s (%.1fs)\n", r.FilterPairsPerS, r.FilterSeconds)
	fmt.Fprintf(w, "  ratio (wall)    %8.3f\n", r.Ratio)
	fmt.Fprintf(w, "  CPU per pair    scorer %.2f ms, filter %.2f ms: ratio %.3f\n", r.ScorerCPUMsPerPair, r.FilterCPUMsPerPair, r.CPURatio)
	fmt.Fprintf(w, "  peak RSS        %8.1f MB during the filter (reset %v); at 25/50/75/100%%: %v MB\n", r.PeakRSSMB, r.PeakRSSReset, roundAll(r.RSSAtQuartersMB[:]))
	fmt.Fprintf(w, "  machine         %s; load %s\n", r.Machine, r.LoadAvg)
}

func roundAll(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(int(x*10+0.5)) / 10
	}
	return out
}
