package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/qegate/qegate/internal/native"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/scorer"
)

// peers is stage 4: each peer on the same pairs, in rounds: qegate, peer,
// qegate, peer, ... qegate; a round's ratio is against the mean of the
// qegate runs either side of it, and the peer's ratio is the median over
// rounds.
func (m *measurement) peers() error {
	ctx, o, pairs, modelDir, callPairs, cores := m.ctx, m.o, m.pairs, m.modelDir, m.callPairs, m.cores
	defSessions, defThreads := m.defSessions, m.defThreads
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
		case "l4":
			sub = pairs
			run = func(bool) *Peer {
				return modelPeer(ctx, o.L4, sub, o, callPairs, defSessions, defThreads, "4-layer tier (models/l4), qegate's scorer and layout")
			}
		case "v1":
			sub = pairs
			run = func(bool) *Peer {
				return modelPeer(ctx, o.V1, sub, o, callPairs, defSessions, defThreads, "model 1.0.0 (bench/models/l4-1.0.0: 4 layers, dynamic int8, DA only; the reference of issue 19's ratios), qegate's scorer and layout")
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
			return fmt.Errorf("bench: unknown peer %q (python_ort, hugot, l4, v1, unquantized, unpruned, unpruned_fp32)", p)
		}
		m.progress("peer %s (%d pairs, %d rounds)", p, len(sub), rounds)
		prev, err := m.ref(sub)
		if err != nil {
			return err
		}
		var peer *Peer
		var ratios, cpuRatios, latRatios, rates, qrates []float64
		for i := range rounds {
			pr := run(i == 0)
			next, err := m.ref(sub)
			if err != nil {
				return err
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
			m.progress("peer %s round %d: %.1f pairs/s (%.2f cores), qegate alongside %.1f pairs/s (%.2f cores)", p, i+1, pr.PairsPerS, pr.CPUCores, q, qc)
			prev = next
		}
		if peer.Error == "" && peer.modelDir != "" {
			// a model peer's own fresh-process peak RSS, as the headline's
			if r, err := rssProbe(ctx, o, peer.modelDir); err == nil {
				peer.PeakRSSMB = r.PeakRSSMB
			} else {
				m.progress("peer %s: rss probe: %v", p, err)
			}
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
		m.res.Peers[p] = peer
	}
	return nil
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
	peer := &Peer{What: what, Threads: sessions * threads} // Batch: rows per ORT run, set by scorerPeer
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
	return scorerPeer(ctx, dir, pairs, o, batch, sessions, threads, peer)
}

// modelPeer runs another model directory (its own tokenizer and manifest)
// through qegate's scorer in the same layout: a model tier side by side.
func modelPeer(ctx context.Context, modelDir string, pairs []qe.Pair, o Options, batch, sessions, threads int, what string) *Peer {
	peer := &Peer{What: what, Threads: sessions * threads, Note: modelDir, modelDir: modelDir}
	if _, err := os.Stat(filepath.Join(modelDir, scorer.ModelFile)); err != nil {
		peer.Error = "not found: " + filepath.Join(modelDir, scorer.ModelFile)
		return peer
	}
	return scorerPeer(ctx, modelDir, pairs, o, batch, sessions, threads, peer)
}

// scorerPeer measures the model in dir with qegate's scorer: batch-1
// latency and the throughput of the layout, filled into peer.
func scorerPeer(ctx context.Context, dir string, sub []qe.Pair, o Options, batch, sessions, threads int, peer *Peer) *Peer {
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
	peer.Batch, _ = sc.RunLimits() // the scorer's default for this model
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
		"--pairs", f.Name(), "--max-len", fmt.Sprint(man.MaxLen), "--outputs", fmt.Sprint(len(man.Outputs)),
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
	// Whether another export's scores depend on its batch mates is not
	// known: it runs one row per run, as any model not marked invariant.
	man.BatchInvariant = false
	b, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: peer manifest: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, scorer.ManifestFile), b, 0o644)
}
