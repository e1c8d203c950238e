package rules

import (
	"sync"
	"testing"
)

// TestConcurrentCheck: one Checker shared by many goroutines (the worker
// pool) gives every goroutine the verdicts a single goroutine gets; run
// with -race to check the pooled scratch buffers.
func TestConcurrentCheck(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	pairs := []struct{ Src, MT, SrcLang, TgtLang string }{
		{Src: srcEN, MT: mtDE, SrcLang: "en", TgtLang: "de"},
		{Src: srcEN, MT: srcEN, SrcLang: "en", TgtLang: "de"},
		{Src: "He was born in 1832.", MT: "Er wurde 1923 geboren.", SrcLang: "en", TgtLang: "de"},
		{Src: "Hello {0}", MT: "Hallo", SrcLang: "en", TgtLang: "de"},
		{Src: srcEN, MT: "ist ist ist ist ist", SrcLang: "en", TgtLang: "de"},
		{Src: srcEN, MT: "山上的博物馆周一和公共假日闭馆。", SrcLang: "en", TgtLang: "de"},
	}
	want := make([]Verdict, len(pairs))
	for i, p := range pairs {
		want[i] = c.Check(p.Src, p.MT, p.SrcLang, p.TgtLang)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 500 {
				i := (g + n) % len(pairs)
				p := pairs[i]
				if got := c.Check(p.Src, p.MT, p.SrcLang, p.TgtLang); got != want[i] {
					errs <- got.Rule + ": " + got.Reason
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error("verdict differs under concurrency:", e)
	}
}
