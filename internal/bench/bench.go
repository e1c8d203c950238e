// Package bench holds what `qegate bench` reports and how: the result
// object (its JSON keys are stable), latency statistics, the process's peak
// RSS, and the Markdown/PNG renderers behind docs/BENCHMARKS.md.
package bench

import (
	"bufio"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
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
	PairsPerS float64     `json:"pairs_per_s"`
	Headline  GridPoint   `json:"headline"`
	Grid      []GridPoint `json:"grid"`
	// PaddingShare is the share of padded positions in the headline's
	// batches (input order, padded to each batch's longest row).
	PaddingShare float64 `json:"padding_share"`

	E2EPairsPerS float64 `json:"e2e_pairs_per_s"`
	E2EPairs     int     `json:"e2e_pairs"`
	E2ESeconds   float64 `json:"e2e_seconds"`
	// E2EVsRaw is e2e_pairs_per_s / pairs_per_s.
	E2EVsRaw float64 `json:"e2e_vs_raw"`
	E2EError string  `json:"e2e_error,omitempty"`

	// PeakRSSMB is VmHWM over the scorer phases (reset before them where
	// the kernel allows); ProcessPeakRSSMB is over the whole run (in-process
	// broker and model-variant peers included).
	PeakRSSMB        float64 `json:"peak_rss_mb"`
	ProcessPeakRSSMB float64 `json:"process_peak_rss_mb"`

	Peers   map[string]*Peer `json:"peers"`
	Seconds float64          `json:"seconds"`
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

// GridPoint is one throughput run: Sessions ORT sessions of Threads
// intra-op threads each, Callers goroutines calling Score with Batch pairs.
type GridPoint struct {
	Sessions  int     `json:"sessions"`
	Threads   int     `json:"threads"`
	Callers   int     `json:"callers"`
	Batch     int     `json:"batch"`
	PairsPerS float64 `json:"pairs_per_s"`
	CallP50   float64 `json:"call_ms_p50"`
	CallP99   float64 `json:"call_ms_p99"`
	Pairs     int     `json:"pairs"`
}

// Peer is one alternative measured in the same run on the same pairs.
type Peer struct {
	What      string  `json:"what"`
	PairsPerS float64 `json:"pairs_per_s,omitempty"`
	// Ratio is qegate's pairs_per_s / the peer's (null when not measured).
	Ratio       *float64       `json:"ratio"`
	LatencyP50  float64        `json:"latency_ms_p50_batch1,omitempty"`
	LatencyRate *float64       `json:"latency_ratio,omitempty"` // peer p50 / qegate p50
	Batch       int            `json:"batch,omitempty"`
	Threads     int            `json:"threads,omitempty"`
	PeakRSSMB   float64        `json:"peak_rss_mb,omitempty"`
	Pairs       int            `json:"pairs,omitempty"`
	Note        string         `json:"note,omitempty"`
	Error       string         `json:"error,omitempty"`
	Extra       map[string]any `json:"extra,omitempty"`
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

// Ms converts durations to float milliseconds.
func Ms(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = float64(d) / 1e6
	}
	return out
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
