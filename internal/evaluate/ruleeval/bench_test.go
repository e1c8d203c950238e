package ruleeval

import (
	"github.com/qegate/qegate/pipeline/rules"

	"github.com/qegate/qegate/internal/evaluate"

	"testing"
)

// benchPairs is MLQE-PE dev when present, else a few built-in pairs, so
// the benchmark runs anywhere (the figures in docs/EVAL.md are on dev).
func benchPairs(b *testing.B) []Pair {
	if dir := evaluate.FindData(""); dir != "" {
		if p, err := Load(dir); err == nil {
			return p
		}
	}
	return []Pair{
		{Src: srcEN, MT: mtDE, SrcLang: "en", TgtLang: "de"},
		{Src: "Hello {0}, see https://example.org/a for 1,500 items.", MT: "Hallo {0}, siehe https://example.org/a für 1.500 Artikel.", SrcLang: "en", TgtLang: "de"},
		{Src: "About 3.6 million commuters commute from the outskirts.", MT: "大约 360 万通勤者从郊外通勤。", SrcLang: "en", TgtLang: "zh"},
	}
}

// BenchmarkCheck is the cost of every default rule per pair (ns/op is
// ns/pair), to set against the model's ~3.3 ms per pair.
func BenchmarkCheck(b *testing.B) {
	pairs := benchPairs(b)
	c, err := rules.New(rules.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	rejected := 0
	for i := 0; b.Loop(); i++ {
		p := &pairs[i%len(pairs)]
		if !c.Check(p.Src, p.MT, p.SrcLang, p.TgtLang).Passed() {
			rejected++
		}
	}
	b.ReportMetric(float64(rejected)/float64(b.N), "rejected/pair")
}

// BenchmarkCheckParallel: the checker is shared by the worker pool.
func BenchmarkCheckParallel(b *testing.B) {
	pairs := benchPairs(b)
	c, err := rules.New(rules.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			p := &pairs[i%len(pairs)]
			c.Check(p.Src, p.MT, p.SrcLang, p.TgtLang)
			i++
		}
	})
}
