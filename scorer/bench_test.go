package scorer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/qegate/qegate/internal/qe"
)

// benchModels returns the model directories to benchmark: the tiny test
// model, and models/default when it exists with its reference pairs.
func benchModels(b *testing.B) map[string]string {
	ms := map[string]string{"tiny": tinyDir}
	if d := defaultModelDir(); d != "" {
		if _, err := os.Stat(filepath.Join(d, "reference.jsonl")); err == nil {
			ms["default"] = d
		}
	}
	return ms
}

// benchPairs cycles the model's reference pairs to n pairs.
func benchPairs(b *testing.B, dir string, n int) []qe.Pair {
	recs := refPairs(readReference(b, filepath.Join(dir, "reference.jsonl")))
	ps := make([]qe.Pair, n)
	for i := range ps {
		ps[i] = recs[i%len(recs)]
	}
	return ps
}

func forEachModel(b *testing.B, fn func(b *testing.B, dir string)) {
	for _, name := range []string{"tiny", "default"} {
		if dir, ok := benchModels(b)[name]; ok {
			b.Run(name, func(b *testing.B) { fn(b, dir) })
		}
	}
}

// BenchmarkEncode times tokenization and pair assembly of 32 pairs.
func BenchmarkEncode(b *testing.B) {
	forEachModel(b, func(b *testing.B, dir string) {
		s := newScorer(b, Config{ModelDir: dir})
		pairs := benchPairs(b, dir, 32)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Encode(pairs); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(pairs))/b.Elapsed().Seconds(), "pairs/s")
	})
}

func benchScore(b *testing.B, n int) {
	forEachModel(b, func(b *testing.B, dir string) {
		s := newScorer(b, Config{ModelDir: dir})
		pairs := benchPairs(b, dir, n)
		if _, err := s.Score(bg, pairs); err != nil { // warm up
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Score(bg, pairs); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "pairs/s")
	})
}

// BenchmarkScoreBatch1 times a full Score of one pair (latency).
func BenchmarkScoreBatch1(b *testing.B) { benchScore(b, 1) }

// BenchmarkScoreBatch32 times a full Score of 32 pairs (throughput).
func BenchmarkScoreBatch32(b *testing.B) { benchScore(b, 32) }

// BenchmarkInferBatch32 times inference alone on 32 pre-encoded pairs.
func BenchmarkInferBatch32(b *testing.B) {
	forEachModel(b, func(b *testing.B, dir string) {
		s := newScorer(b, Config{ModelDir: dir})
		batch, err := s.Encode(benchPairs(b, dir, 32))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Infer(bg, batch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*32)/b.Elapsed().Seconds(), "pairs/s")
	})
}
