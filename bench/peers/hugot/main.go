// Command hugot-peer is the hugot peer of `qegate bench`: the same model and
// pairs through github.com/knights-analytics/hugot (ORT backend, Rust
// tokenizer). It takes the flags of bench/peers/python_ort.py and prints one
// JSON object. It is its own module: hugot needs daulet/tokenizers v1.26
// (a different C ABI from the v1.22.1 qegate links), see build_hugot.sh.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/knights-analytics/hugot"
	"github.com/knights-analytics/hugot/backends"
	"github.com/knights-analytics/hugot/options"
	"github.com/knights-analytics/hugot/pipelines"
)

type pair struct {
	Src string `json:"src"`
	MT  string `json:"mt"`
}

func main() {
	model := flag.String("model", "", "model.onnx")
	tok := flag.String("tokenizer", "", "tokenizer.json")
	pairsPath := flag.String("pairs", "", "JSONL pairs (src, mt)")
	maxLen := flag.Int("max-len", 128, "max tokens")
	outputs := flag.Int("outputs", 3, "columns of the model's output (model.json outputs)")
	flag.Int("bos", 0, "unused (the tokenizer's template adds special tokens)")
	flag.Int("pad", 1, "unused")
	flag.Int("eos", 2, "unused")
	threads := flag.Int("threads", 2, "intra-op threads")
	batch := flag.String("batch", "1,32", "comma-separated batch sizes; pairs_per_s is the best")
	latN := flag.Int("latency-pairs", 300, "pairs for batch-1 latency")
	minSec := flag.Float64("min-seconds", 3, "minimum seconds per throughput run")
	flag.Parse()
	out, err := run(*model, *tok, *pairsPath, *maxLen, *outputs, *threads, *batch, *latN, *minSec)
	if err != nil {
		out = map[string]any{"name": "hugot", "error": err.Error()}
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

func run(model, tok, pairsPath string, maxLen, outputs, threads int, batchList string, latN int, minSec float64) (map[string]any, error) {
	var batches []int
	for _, f := range strings.Split(batchList, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || b < 1 {
			return nil, fmt.Errorf("bad --batch %q", batchList)
		}
		batches = append(batches, b)
	}
	f, err := os.Open(pairsPath)
	if err != nil {
		return nil, err
	}
	var pairs []pair
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var p pair
		if json.Unmarshal(sc.Bytes(), &p) == nil {
			pairs = append(pairs, p)
		}
	}
	f.Close()
	// hugot wants a model directory: the ONNX, tokenizer.json, config.json
	// (max_position_embeddings bounds the tokens) and the separator token.
	dir, err := os.MkdirTemp("", "hugot-peer-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ma, _ := filepath.Abs(model)
	ta, _ := filepath.Abs(tok)
	if err := os.Symlink(ma, filepath.Join(dir, "model.onnx")); err != nil {
		return nil, err
	}
	if err := os.Symlink(ta, filepath.Join(dir, "tokenizer.json")); err != nil {
		return nil, err
	}
	// hugot checks that id2label names every output column; the names do
	// not matter to the timing.
	labels := make(map[string]string, outputs)
	for i := range outputs {
		labels[strconv.Itoa(i)] = fmt.Sprintf("out%d", i)
	}
	lj, err := json.Marshal(map[string]any{"max_position_embeddings": maxLen + 1, "id2label": labels})
	if err != nil {
		return nil, err
	}
	cfg := string(lj)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "special_tokens_map.json"), []byte(`{"sep_token": "</s>"}`), 0o644); err != nil {
		return nil, err
	}
	lib := os.Getenv("ORT_LIBRARY")
	out := map[string]any{"name": "hugot", "threads": threads, "pairs": len(pairs)}

	// hugot's CrossEncoderPipeline (its API for text pairs) refuses this
	// model: it wants a [batch, 1] output and ours has 3 columns. Its
	// TextClassificationPipeline takes [batch, K]; a pair is passed as one
	// text joined with the separator, exactly what hugot's pair tokenization
	// does itself (src + "</s></s>" + mt, template special tokens added).
	text := func(q pair) string { return q.Src + "</s></s>" + q.MT }
	var tot, tk, inf []float64
	err = withPipeline(dir, lib, 1, func(p *pipelines.TextClassificationPipeline) error {
		lat := pairs[:min(latN, len(pairs))]
		for _, q := range lat[:min(10, len(lat))] {
			if _, err := p.RunPipeline([]string{text(q)}); err != nil {
				return err
			}
		}
		for _, q := range lat {
			t := time.Now()
			if _, err := p.RunPipeline([]string{text(q)}); err != nil {
				return err
			}
			tot = append(tot, ms(time.Since(t)))
		}
		for _, q := range lat {
			b := backends.NewBatch(1)
			t0 := time.Now()
			if err := p.Preprocess(b, []string{text(q)}); err != nil {
				return err
			}
			t1 := time.Now()
			if err := p.Forward(b); err != nil {
				return err
			}
			tk, inf = append(tk, ms(t1.Sub(t0))), append(inf, ms(time.Since(t1)))
			_ = b.Destroy()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out["latency_ms_p50_batch1"] = pct(tot, 50)
	out["latency_ms_p99_batch1"] = pct(tot, 99)
	out["tokenize_ms_mean"] = mean(tk)
	out["infer_ms_mean"] = mean(inf)

	// Throughput on one session of `threads` intra-op threads: RunPipeline
	// on batches of distinct pairs, in input order.
	err = withPipeline(dir, lib, threads, func(p *pipelines.TextClassificationPipeline) error {
		texts := make([]string, len(pairs))
		for i, q := range pairs {
			texts[i] = text(q)
		}
		byBatch := map[string]any{}
		best, bestB := 0.0, 0
		for _, batch := range batches {
			if _, err := p.RunPipeline(texts[:min(batch, len(texts))]); err != nil {
				return err
			}
			n, t0, c0 := 0, time.Now(), cpuSeconds()
			var calls []float64
			for {
				for i := 0; i < len(texts); i += batch {
					chunk := texts[i:min(i+batch, len(texts))]
					t := time.Now()
					if _, err := p.RunPipeline(chunk); err != nil {
						return err
					}
					calls = append(calls, ms(time.Since(t)))
					n += len(chunk)
				}
				if time.Since(t0).Seconds() >= minSec {
					break
				}
			}
			el := time.Since(t0).Seconds()
			rate, cores := float64(n)/el, (cpuSeconds()-c0)/el
			byBatch[strconv.Itoa(batch)] = map[string]float64{"pairs_per_s": rate, "cpu_cores_used": cores, "call_ms_p50": pct(calls, 50), "call_ms_p99": pct(calls, 99)}
			if rate > best {
				best, bestB = rate, batch
				out["cpu_cores_used"] = cores
			}
		}
		out["pairs_per_s"], out["best_batch"], out["by_batch"] = best, bestB, byBatch
		return nil
	})
	if err != nil {
		return nil, err
	}
	// VmHWM, not ru_maxrss: the latter includes the parent's, inherited
	// across exec.
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				out["peak_rss_mb"] = kb / 1024
			}
		}
	}
	out["note"] = "TextClassificationPipeline on src+\"</s></s>\"+mt (CrossEncoderPipeline rejects a 3-column output)"
	return out, nil
}

func withPipeline(dir, lib string, threads int, fn func(*pipelines.TextClassificationPipeline) error) error {
	opts := []options.WithOption{options.WithIntraOpNumThreads(threads), options.WithInterOpNumThreads(1)}
	if lib != "" {
		opts = append(opts, options.WithOnnxLibraryPath(filepath.Dir(lib)))
	}
	s, err := hugot.NewORTSession(opts...)
	if err != nil {
		return fmt.Errorf("hugot session: %w", err)
	}
	defer s.Destroy()
	p, err := hugot.NewPipeline(s, hugot.TextClassificationConfig{ModelPath: dir, Name: "qe", OnnxFilename: "model.onnx",
		Options: []hugot.TextClassificationOption{pipelines.WithSigmoid(), pipelines.WithMultiLabel()}})
	if err != nil {
		return fmt.Errorf("hugot pipeline: %w", err)
	}
	return fn(p)
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func mean(xs []float64) float64 {
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(max(1, len(xs)))
}

func pct(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[min(len(s)-1, int(q/100*float64(len(s)-1)+0.5))]
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
