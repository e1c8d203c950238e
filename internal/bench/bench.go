// Package bench holds what `qegate bench` reports and how: the result
// object (its JSON keys are stable), latency statistics, the process's peak
// RSS, and the Markdown/PNG renderers behind docs/BENCHMARKS.md.
package bench

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Result is the `qegate bench --json` object.
type Result struct {
	Command    string `json:"command"`
	Model      string `json:"model"`
	ModelDir   string `json:"model_dir"`
	ModelBytes int64  `json:"model_bytes"`
	Data       string `json:"data"`
	Pairs      int    `json:"pairs"`
	Machine    string `json:"machine"`
	Cores      int    `json:"cores"`
	ORT        string `json:"onnxruntime"`
	Quick      bool   `json:"quick"`

	// Table 1 protocol: batch 1, one session, one intra-op thread.
	LatencyMsP50Batch1 float64 `json:"latency_ms_p50_batch1"`
	Batch1             Latency `json:"batch1"`

	// Headline throughput: the gate's own layout (scorer defaults, engine
	// batch and worker count) on the raw scorer.
	PairsPerS float64 `json:"pairs_per_s"`
	// HeadlineSamples are every measurement of the headline configuration
	// on all the pairs in this run (grid, e2e and peer brackets);
	// PairsPerS is their median.
	HeadlineSamples []float64   `json:"headline_samples"`
	Headline        GridPoint   `json:"headline"`
	Grid            []GridPoint `json:"grid"`
	// PaddingShare is the share of padded positions in the headline's
	// batches (input order, padded to each batch's longest row).
	PaddingShare float64 `json:"padding_share"`

	E2EPairsPerS float64 `json:"e2e_pairs_per_s"`
	E2EPairs     int     `json:"e2e_pairs"`
	E2ESeconds   float64 `json:"e2e_seconds"`
	// E2EVsRaw is e2e_pairs_per_s / pairs_per_s.
	E2EVsRaw float64 `json:"e2e_vs_raw"`
	// E2ERawPairsPerS is the raw scorer (headline configuration, same
	// pairs) measured right before and after the e2e run, averaged.
	E2ERawPairsPerS float64 `json:"e2e_raw_pairs_per_s"`
	E2EError        string  `json:"e2e_error,omitempty"`

	// PeakRSSMB is the VmHWM of a fresh process that loads the model with
	// the default configuration and scores the pairs as the gate does;
	// ProcessPeakRSSMB is the bench process's over the whole run (every
	// layout, the in-process broker and the model variants included).
	PeakRSSMB   float64 `json:"peak_rss_mb"`
	PeakRSSFrom string  `json:"peak_rss_from"`
	// LoadPeakRSSMB is that fresh process's VmHWM right after loading the
	// scorer (before scoring) and SteadyRSSMB its VmRSS after scoring: what
	// a replica holds while it runs.
	LoadPeakRSSMB    float64 `json:"load_peak_rss_mb,omitempty"`
	SteadyRSSMB      float64 `json:"steady_rss_mb,omitempty"`
	ProcessPeakRSSMB float64 `json:"process_peak_rss_mb"`

	Peers   map[string]*Peer `json:"peers"`
	Seconds float64          `json:"seconds"`
	// LoadAvg is /proc/loadavg at the start and at the end of the run.
	LoadAvg [2]string `json:"load_avg"`
}

// Latency is the batch-1 protocol's statistics, milliseconds per pair.
type Latency struct {
	N            int     `json:"n"`
	TotalP50     float64 `json:"total_ms_p50"`
	TotalP99     float64 `json:"total_ms_p99"`
	TotalMean    float64 `json:"total_ms_mean"`
	TokenizeMean float64 `json:"tokenize_ms_mean"`
	TokenizeP50  float64 `json:"tokenize_ms_p50"`
	InferMean    float64 `json:"infer_ms_mean"`
	InferP50     float64 `json:"infer_ms_p50"`
	MeanTokens   float64 `json:"mean_tokens"`
}

// Layout is how the scorer runs: Sessions concurrent runs (slots over one
// shared ORT session, or Separate sessions) of Threads intra-op threads
// each, Spinning or not, fed by Callers goroutines, with at most RunTokens
// padded tokens per ORT run (Config.MaxBatchTokens: 0 the scorer's default,
// negative no bound).
type Layout struct {
	Sessions  int  `json:"sessions"`
	Threads   int  `json:"threads"`
	Callers   int  `json:"callers"`
	Separate  bool `json:"separate_sessions,omitempty"`
	Spinning  bool `json:"spinning,omitempty"`
	RunTokens int  `json:"run_tokens,omitempty"`
}

func (l Layout) String() string {
	s := fmt.Sprintf("%dx%d", l.Sessions, l.Threads)
	if l.Sessions > 1 {
		if l.Separate {
			s += " separate"
		} else {
			s += " shared"
		}
	}
	if l.Spinning {
		s += " spinning"
	}
	s = fmt.Sprintf("%s, %d callers", s, l.Callers)
	switch {
	case l.RunTokens < 0:
		s += ", no token bound"
	case l.RunTokens > 0:
		s += fmt.Sprintf(", <= %d tokens/run", l.RunTokens)
	}
	return s
}

// GridPoint is one throughput run: Score calls of CallPairs pairs on a
// Layout, RunBatch rows per ORT run (Config.MaxBatch).
type GridPoint struct {
	Layout
	CallPairs int     `json:"call_pairs"`
	RunBatch  int     `json:"run_batch"`
	PairsPerS float64 `json:"pairs_per_s"`
	CallP50   float64 `json:"call_ms_p50"`
	CallP99   float64 `json:"call_ms_p99"`
	Pairs     int     `json:"pairs"`
	// CPUCores is the process's CPU time over the run's wall time: how
	// many cores it actually got (less than asked for on a busy machine).
	CPUCores float64 `json:"cpu_cores_used"`
	// PaddingShare is the share of padded positions in the ORT runs of
	// this point: each call's pairs length-bucketed into chunks of at most
	// RunBatch rows, each chunk padded to its longest row.
	PaddingShare float64 `json:"padding_share"`
	// RowsPerRun is the mean rows per ORT run actually made: RunBatch is
	// only the bound, and the token bound cuts runs of long rows shorter.
	RowsPerRun float64 `json:"rows_per_run"`
}

// Peer is one alternative measured in the same run on the same pairs.
type Peer struct {
	What      string  `json:"what"`
	PairsPerS float64 `json:"pairs_per_s,omitempty"`
	// Ratio is qegate's pairs_per_s / the peer's (null when not measured),
	// qegate measured right before and after the peer on the same pairs
	// (QegatePairsPerS, the mean of the two).
	Ratio    *float64 `json:"ratio"`
	RatioMin float64  `json:"ratio_min,omitempty"`
	RatioMax float64  `json:"ratio_max,omitempty"`
	Rounds   int      `json:"rounds,omitempty"`
	// CPURatio compares pairs per CPU-second (qegate / peer): what each
	// got done with the CPU time it actually received.
	CPURatio         *float64       `json:"cpu_ratio,omitempty"`
	QegatePairsPerS  float64        `json:"qegate_pairs_per_s,omitempty"`
	QegateLatencyP50 float64        `json:"qegate_latency_ms_p50_batch1,omitempty"`
	QegateCPUCores   float64        `json:"qegate_cpu_cores_used,omitempty"`
	CPUCores         float64        `json:"cpu_cores_used,omitempty"`
	LatencyP50       float64        `json:"latency_ms_p50_batch1,omitempty"`
	LatencyRate      *float64       `json:"latency_ratio,omitempty"` // peer p50 / qegate p50
	Batch            int            `json:"batch,omitempty"`
	Threads          int            `json:"threads,omitempty"`
	PeakRSSMB        float64        `json:"peak_rss_mb,omitempty"`
	Pairs            int            `json:"pairs,omitempty"`
	Note             string         `json:"note,omitempty"`
	Error            string         `json:"error,omitempty"`
	Extra            map[string]any `json:"extra,omitempty"`

	modelDir string // a model peer's directory, for its RSS probe
}

// SetRatios fills Ratio and LatencyRate against qegate's figures.
func (p *Peer) SetRatios(pairsPerS, latencyP50 float64) {
	if p.PairsPerS > 0 && pairsPerS > 0 {
		r := pairsPerS / p.PairsPerS
		p.Ratio = &r
	}
	if p.LatencyP50 > 0 && latencyP50 > 0 {
		r := p.LatencyP50 / latencyP50
		p.LatencyRate = &r
	}
}

// Percentile returns the q-th percentile (0..100, nearest rank with linear
// interpolation) of xs; 0 for none. xs is not modified.
func Percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	pos := q / 100 * float64(len(s)-1)
	lo := int(pos)
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	f := pos - float64(lo)
	return s[lo]*(1-f) + s[lo+1]*f
}

// Mean returns the mean of xs; 0 for none.
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}

// PeakRSSMB returns the process's VmHWM in MiB (0 where /proc is missing).
func PeakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// ResetPeakRSS resets VmHWM to the current RSS (Linux clear_refs 5); it
// reports whether the kernel accepted it.
func ResetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// CPUSeconds returns the process's user+system CPU time so far.
func CPUSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// LoadAvg returns the first three fields of /proc/loadavg.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// Machine summarizes lscpu-like facts from /proc/cpuinfo.
func Machine(cores int) string {
	model := ""
	flags := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "model name":
				if model == "" {
					model = strings.TrimSpace(v)
				}
			case "flags":
				if flags == "" {
					flags = v
				}
			}
		}
	}
	var isa []string
	for _, f := range []string{"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8"} {
		if strings.Contains(flags+" ", " "+f+" ") {
			isa = append(isa, f)
		}
	}
	return strings.TrimSpace(model + ", " + strconv.Itoa(cores) + " CPUs, " + strings.Join(isa, " "))
}
