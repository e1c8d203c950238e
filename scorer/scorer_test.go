package scorer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qegate/qegate/internal/native"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/internal/testutil"
)

func near(a, b, tol float32) bool { return math.Abs(float64(a-b)) <= float64(tol) }

func TestSizePool(t *testing.T) {
	for _, tc := range []struct{ s, th, ncpu, ws, wth int }{
		{0, 0, 16, 16, 1},
		{0, 0, 2, 2, 1},
		{0, 0, 1, 1, 1},
		{0, 0, 6, 6, 1},
		{2, 0, 16, 2, 8},
		{0, 8, 16, 2, 8},
		{0, 32, 16, 1, 32},
		{3, 3, 16, 3, 3},
		{0, 0, 0, 1, 1},
	} {
		s, th := sizePool(tc.s, tc.th, tc.ncpu)
		if s != tc.ws || th != tc.wth {
			t.Errorf("sizePool(%d, %d, %d) = %d, %d; want %d, %d", tc.s, tc.th, tc.ncpu, s, th, tc.ws, tc.wth)
		}
	}
}

func TestScoreTiny(t *testing.T) {
	s := newScorer(t, Config{})
	pairs := tinyPairs(t)
	res, err := s.Score(bg, pairs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(pairs) {
		t.Fatalf("%d results for %d pairs", len(res), len(pairs))
	}
	wantTh := map[string]float32{"en-de": 0.6, "si-en": 0.4}
	seen := map[string]bool{}
	for i, r := range res {
		lp := pairs[i].LangPair()
		seen[lp] = true
		th, ok := wantTh[lp]
		if !ok {
			th = 0.5
		}
		if len(r.Outputs) != 3 || r.Score != r.Outputs[0] || r.Threshold != th || r.Acceptable != (r.Score >= th) {
			t.Fatalf("pair %d (%s): %+v, want threshold %v", i, lp, r, th)
		}
		for j, v := range r.Outputs[:2] { // sigmoid outputs
			if !(v > 0 && v < 1) {
				t.Fatalf("pair %d: output %d = %v not a probability", i, j, v)
			}
		}
		if got := s.Threshold(lp); got != th {
			t.Fatalf("Threshold(%s) = %v, want %v", lp, got, th)
		}
	}
	if len(seen) < 2 {
		t.Logf("reference covers only %v", seen)
	}
	if s.DecisionOutput().Name != "da51" || s.Manifest().Name != "qegate-tiny-random" {
		t.Fatalf("decision %q, manifest %q", s.DecisionOutput().Name, s.Manifest().Name)
	}
	if sess, th := s.PoolSize(); sess < 1 || th < 1 {
		t.Fatalf("pool %d x %d", sess, th)
	}
	// Thresholds decide Acceptable; check both sides of the line.
	s.SetThresholds(Thresholds{Default: 0})
	if res, _ := s.Score(bg, pairs[:1]); !res[0].Acceptable || res[0].Threshold != 0 {
		t.Fatalf("threshold 0: %+v", res[0])
	}
	s.SetThresholds(Thresholds{Default: 0, ByLangPair: map[string]float32{pairs[0].LangPair(): 1.01}})
	if res, _ := s.Score(bg, pairs[:1]); res[0].Acceptable || res[0].Threshold != 1.01 {
		t.Fatalf("threshold 1.01: %+v", res[0])
	}
	if got := s.Thresholds(); got.ByLangPair[pairs[0].LangPair()] != 1.01 {
		t.Fatalf("Thresholds() = %+v", got)
	}
}

func TestScoreOutputAndThresholdConfig(t *testing.T) {
	pairs := tinyPairs(t)[:4]
	s := newScorer(t, Config{Output: "z"})
	res, err := s.Score(bg, pairs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Score != r.Outputs[2] || r.Threshold != 0 {
			t.Fatalf("output z: %+v", r)
		}
	}
	s2 := newScorer(t, Config{Thresholds: &Thresholds{Default: 0.25, ByLangPair: map[string]float32{"xx-yy": 0.9}}})
	if s2.Threshold("en-de") != 0.25 || s2.Threshold("xx-yy") != 0.9 {
		t.Fatalf("Config.Thresholds ignored: %v %v", s2.Threshold("en-de"), s2.Threshold("xx-yy"))
	}
}

// Splitting into chunks and padding to a different length must not change
// scores beyond float noise.
func TestScoreBatchingInvariance(t *testing.T) {
	pairs := tinyPairs(t)
	var base []qe.Result
	for _, mb := range []int{64, 1, 7, 32} {
		s := newScorer(t, Config{MaxBatch: mb, Sessions: 2, IntraOpThreads: 1})
		res, err := s.Score(bg, pairs)
		if err != nil {
			t.Fatal(err)
		}
		if base == nil {
			base = res
			continue
		}
		for i := range res {
			for j := range res[i].Outputs {
				if !near(res[i].Outputs[j], base[i].Outputs[j], 1e-5) {
					t.Fatalf("MaxBatch %d, pair %d, output %d: %v vs %v", mb, i, j, res[i].Outputs[j], base[i].Outputs[j])
				}
			}
		}
	}
}

// Every layout (shared or separate sessions, spinning, one or several rows
// per run, repeated calls that reuse the cached one-row tensors) gives the
// same scores in input order.
func TestScoreLayouts(t *testing.T) {
	pairs := tinyPairs(t)
	base, err := newScorer(t, Config{Sessions: 1, IntraOpThreads: 1, MaxBatch: 64}).Score(bg, pairs)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []Config{
		{Sessions: 3, IntraOpThreads: 1},
		{Sessions: 2, IntraOpThreads: 1, SeparateSessions: true, MaxBatch: 4},
		{Sessions: 1, IntraOpThreads: 2, Spinning: true, MaxBatch: 5},
	} {
		s := newScorer(t, cfg)
		for rep := range 2 {
			res, err := s.Score(bg, pairs)
			if err != nil {
				t.Fatal(err)
			}
			for i := range res {
				for j := range res[i].Outputs {
					if !near(res[i].Outputs[j], base[i].Outputs[j], 1e-5) {
						t.Fatalf("%+v, call %d, pair %d, output %d: %v vs %v", cfg, rep, i, j, res[i].Outputs[j], base[i].Outputs[j])
					}
				}
			}
		}
	}
}

func TestLengthOrder(t *testing.T) {
	rows := [][]int64{make([]int64, 5), make([]int64, 2), make([]int64, 5), make([]int64, 1)}
	if got := lengthOrder(rows); !slices.Equal(got, []int{3, 1, 0, 2}) {
		t.Errorf("lengthOrder = %v, want [3 1 0 2] (by length, stable)", got)
	}
	if got := lengthOrder(rows[1:2]); !slices.Equal(got, []int{0}) {
		t.Errorf("lengthOrder of one row = %v", got)
	}
}

func TestChunkPlan(t *testing.T) {
	for _, tc := range []struct{ n, maxBatch, size, chunks int }{
		{0, 32, 0, 0}, {1, 32, 1, 1}, {32, 32, 32, 1}, {33, 32, 17, 2}, {64, 32, 32, 2},
		{65, 32, 22, 3}, {5, 1, 1, 5}, {7, 4, 4, 2},
	} {
		size, chunks := chunkPlan(tc.n, tc.maxBatch)
		if size != tc.size || chunks != tc.chunks {
			t.Errorf("chunkPlan(%d, %d) = %d, %d; want %d, %d", tc.n, tc.maxBatch, size, chunks, tc.size, tc.chunks)
		}
	}
}

func TestRunPlan(t *testing.T) {
	rowsOf := func(lens ...int) [][]int64 {
		rows := make([][]int64, len(lens))
		for i, n := range lens {
			rows[i] = make([]int64, n)
		}
		return rows
	}
	for _, tc := range []struct {
		name                string
		lens                []int
		maxBatch, maxTokens int
		want                [][]int // row indices per run
	}{
		{"no token bound: even chunks", []int{1, 2, 3, 4, 5}, 4, -1, [][]int{{0, 1, 2}, {3, 4}}},
		{"token bound cuts before the row limit", []int{10, 10, 20, 20, 40}, 8, 40, [][]int{{0, 1}, {2, 3}, {4}}},
		{"a row over the bound runs alone", []int{5, 100, 5}, 8, 64, [][]int{{0, 2}, {1}}},
		{"segments split evenly by rows", []int{2, 2, 2, 2, 2}, 2, 100, [][]int{{0, 1}, {2, 3}, {4}}},
		{"one row per run", []int{3, 1, 2}, 1, 256, [][]int{{1}, {2}, {0}}},
		{"empty", nil, 8, 256, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := rowsOf(tc.lens...)
			got := runPlan(rows, lengthOrder(rows), tc.maxBatch, tc.maxTokens)
			if len(got) != len(tc.want) {
				t.Fatalf("runPlan = %v, want %v", got, tc.want)
			}
			for i := range got {
				if !slices.Equal(got[i], tc.want[i]) {
					t.Fatalf("runPlan = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestPadding(t *testing.T) {
	// Rows of lengths 5, 2, 5, 1 sorted to 1, 2, 5, 5.
	b := &Batch{rows: [][]int64{make([]int64, 5), make([]int64, 2), make([]int64, 5), make([]int64, 1)}}
	for _, tc := range []struct{ maxBatch, maxTokens, real, padded, runs int }{
		{1, -1, 13, 13, 4}, // one row per run: no padding
		{2, -1, 13, 14, 2}, // {1, 2} -> 2+2, {5, 5} -> 10
		{3, -1, 13, 14, 2}, // even chunks of 2, as above
		{4, -1, 13, 20, 1}, // one run of 4 rows padded to 5
		{4, 9, 13, 14, 3},  // 2 rows x 5 > 9 tokens: {1, 2}, {5}, {5}
	} {
		s := &Scorer{maxBatch: tc.maxBatch, maxTokens: tc.maxTokens}
		if real, padded, runs := s.Padding(b); real != tc.real || padded != tc.padded || runs != tc.runs {
			t.Errorf("MaxBatch %d, tokens %d: Padding = %d, %d, %d; want %d, %d, %d", tc.maxBatch, tc.maxTokens, real, padded, runs, tc.real, tc.padded, tc.runs)
		}
	}
}

func TestScoreBadInputs(t *testing.T) {
	s := newScorer(t, Config{Sessions: 1})
	good := qe.Pair{Src: "Hello.", MT: "Hallo.", SrcLang: "en", TgtLang: "de"}
	for _, tc := range []struct {
		name  string
		bad   qe.Pair
		field string
		want  error
	}{
		{"empty src", qe.Pair{MT: "x"}, "src", qe.ErrEmptyText},
		{"empty mt", qe.Pair{Src: "x"}, "mt", qe.ErrEmptyText},
		{"both empty", qe.Pair{}, "src", qe.ErrEmptyText},
		{"spaces", qe.Pair{Src: "   ", MT: "x"}, "src", qe.ErrEmptyText},
		{"invalid utf8", qe.Pair{Src: "x", MT: "\xc3\x28"}, "mt", qe.ErrInvalidUTF8},
		{"lone continuation", qe.Pair{Src: "\x80abc", MT: "x"}, "src", qe.ErrInvalidUTF8},
		{"nul", qe.Pair{Src: "x", MT: "a\x00"}, "mt", qe.ErrNULByte},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Score(bg, []qe.Pair{good, good, tc.bad, good})
			var pe *qe.TextError
			if res != nil || !errors.As(err, &pe) || pe.Index != 2 || pe.Field != tc.field || !errors.Is(err, tc.want) {
				t.Fatalf("Score = %v, %v; want qe.TextError{2, %s, %v}", res, err, tc.field, tc.want)
			}
		})
	}
	res, err := s.Score(bg, nil)
	if err != nil || len(res) != 0 {
		t.Fatalf("Score(nil) = %v, %v", res, err)
	}
	// Odd but valid text must score.
	for _, src := range []string{"\u200b\u200b", "🌞", strings.Repeat("x", 100000), "\ufffd", "a\u0301\u0301\u0301"} {
		if _, err := s.Score(bg, []qe.Pair{{Src: src, MT: "ok", SrcLang: "en", TgtLang: "de"}}); err != nil {
			t.Errorf("Score(%.20q) = %v", src, err)
		}
	}
}

func TestInferMatchesScore(t *testing.T) {
	s := newScorer(t, Config{})
	pairs := tinyPairs(t)[:5]
	b, err := s.Encode(pairs)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := s.Infer(bg, b)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Score(bg, pairs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range res {
		for j := range outs[i] {
			if outs[i][j] != res[i].Outputs[j] {
				t.Fatalf("pair %d output %d: Infer %v, Score %v", i, j, outs[i][j], res[i].Outputs[j])
			}
		}
	}
	if _, err := s.Infer(bg, nil); err == nil {
		t.Fatal("Infer(nil) succeeded")
	}
	if outs, err := s.Infer(bg, &Batch{}); err != nil || len(outs) != 0 {
		t.Fatalf("Infer(empty) = %v, %v", outs, err)
	}
}

func TestNewErrors(t *testing.T) {
	requireORT(t)
	// A copy of the tiny model whose files the cases may break.
	brokenCopies := func(t *testing.T, files map[string][]byte) string {
		dir := t.TempDir()
		for _, f := range []string{ManifestFile, ModelFile, TokenizerFile} {
			b, err := os.ReadFile(filepath.Join(tinyDir, f))
			if err != nil {
				t.Fatal(err)
			}
			if c, ok := files[f]; ok {
				b = c
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	brokenCopy := func(t *testing.T, file string, content []byte) string {
		return brokenCopies(t, map[string][]byte{file: content})
	}
	// flipped is the tiny model with one bit of its weights changed: still
	// a valid graph that ONNX Runtime loads without an error.
	flipped := func(t *testing.T) []byte {
		b, err := os.ReadFile(filepath.Join(tinyDir, ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)*3/4] ^= 0x10
		return b
	}
	manifestWith := func(t *testing.T, mutate func(map[string]any)) []byte {
		m := tinyManifestJSON(t)
		mutate(m)
		return mustJSON(t, m)
	}
	for _, tc := range []struct {
		name string
		cfg  func(t *testing.T) Config
		want string
	}{
		{"missing dir", func(t *testing.T) Config { return Config{ModelDir: filepath.Join(t.TempDir(), "nope")} }, "scorer: load manifest: open"},
		{"unknown output", func(*testing.T) Config { return Config{ModelDir: tinyDir, Output: "bleu"} }, `scorer: output "bleu" is not in`},
		{"max len too large", func(*testing.T) Config { return Config{ModelDir: tinyDir, MaxLen: 129} }, "MaxLen 129 outside [4, 128]"},
		{"max len too small", func(*testing.T) Config { return Config{ModelDir: tinyDir, MaxLen: 3} }, "MaxLen 3 outside"},
		{"negative sessions", func(*testing.T) Config { return Config{ModelDir: tinyDir, Sessions: -1} }, "must not be negative"},
		{"corrupt model, sha256 of the corrupt bytes", func(t *testing.T) Config {
			bad := []byte("not onnx")
			sum := sha256.Sum256(bad)
			return Config{ModelDir: brokenCopies(t, map[string][]byte{ModelFile: bad, ManifestFile: manifestWith(t, func(m map[string]any) {
				m["sha256"] = hex.EncodeToString(sum[:])
			})})}
		}, "scorer: inspect model.onnx"},
		{"one byte of the weights flipped", func(t *testing.T) Config {
			return Config{ModelDir: brokenCopy(t, ModelFile, flipped(t))}
		}, "scorer: model.onnx is corrupted or was replaced: sha256"},
		{"truncated model", func(t *testing.T) Config {
			b := flipped(t)
			return Config{ModelDir: brokenCopy(t, ModelFile, b[:len(b)/2])}
		}, "scorer: model.onnx is corrupted or was replaced"},
		{"model.json without sha256", func(t *testing.T) Config {
			return Config{ModelDir: brokenCopy(t, ManifestFile, manifestWith(t, func(m map[string]any) { delete(m, "sha256") }))}
		}, "model.json has no sha256 of model.onnx"},
		{"sha256 not hex", func(t *testing.T) Config {
			return Config{ModelDir: brokenCopy(t, ManifestFile, manifestWith(t, func(m map[string]any) { m["sha256"] = "xyz" }))}
		}, `sha256 "xyz" is not 64 hex digits`},
		{"corrupt tokenizer", func(t *testing.T) Config {
			return Config{ModelDir: brokenCopy(t, TokenizerFile, []byte(`{"model": 1}`))}
		}, "scorer: load tokenizer:"},
		{"output name not in graph", func(t *testing.T) Config {
			return Config{ModelDir: brokenCopy(t, ManifestFile, manifestWith(t, func(m map[string]any) {
				m["onnx"].(map[string]any)["output"] = "logits"
			}))}
		}, `onnx.output "logits" is not a graph output`},
		{"fewer outputs than graph columns", func(t *testing.T) Config {
			return Config{ModelDir: brokenCopy(t, ManifestFile, manifestWith(t, func(m map[string]any) {
				m["outputs"] = m["outputs"].([]any)[:2]
				output(m, 1)["index"] = 0
			}))}
		}, "has 3 columns, model.json lists 2 outputs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.cfg(t))
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestORTLibraryMissing runs itself in a child process, where ONNX Runtime
// is not yet initialized, with a library path that does not exist.
func TestORTLibraryMissing(t *testing.T) {
	if os.Getenv("SCORER_TEST_CHILD") == "1" {
		_, err := New(Config{ModelDir: tinyDir, ORTLibrary: "/nonexistent/libonnxruntime.so"})
		if err == nil || !strings.Contains(err.Error(), "scorer: onnxruntime library") ||
			!strings.Contains(err.Error(), native.EnvORTLibrary) {
			t.Fatalf("err = %v", err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestORTLibraryMissing$", "-test.v")
	cmd.Env = append(os.Environ(), "SCORER_TEST_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestConcurrentScore(t *testing.T) {
	s := newScorer(t, Config{Sessions: 2, IntraOpThreads: 1, MaxBatch: 4})
	pairs := tinyPairs(t)
	want, err := s.Score(bg, pairs)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 10 {
				lo := rng.IntN(len(pairs))
				hi := lo + 1 + rng.IntN(min(12, len(pairs)-lo))
				res, err := s.Score(bg, pairs[lo:hi])
				if err != nil {
					errs <- err
					return
				}
				for i, r := range res {
					if !near(r.Score, want[lo+i].Score, 1e-5) || r.Acceptable != want[lo+i].Acceptable {
						errs <- errors.New("concurrent result differs")
						return
					}
				}
				if g%2 == 0 { // thresholds may change under load
					s.SetThresholds(s.Thresholds())
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestContextCancellation(t *testing.T) {
	pairs := tinyPairs(t)[:3]

	t.Run("cancelled before", func(t *testing.T) {
		s := newScorer(t, Config{Sessions: 1})
		ctx, cancel := context.WithCancel(bg)
		cancel()
		if _, err := s.Score(ctx, pairs); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		b, _ := s.Encode(pairs)
		if _, err := s.Infer(ctx, b); !errors.Is(err, context.Canceled) {
			t.Fatalf("Infer err = %v", err)
		}
	})

	t.Run("deadline while waiting for a session", func(t *testing.T) {
		s := newScorer(t, Config{Sessions: 1})
		sess := <-s.pool.free // occupy the only session
		ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
		defer cancel()
		_, err := s.Score(ctx, pairs)
		s.pool.free <- sess
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if _, err := s.Score(bg, pairs); err != nil { // the scorer still works
			t.Fatal(err)
		}
	})

	t.Run("chunks of a cancelled call are all accounted for", func(t *testing.T) {
		s := newScorer(t, Config{Sessions: 2, MaxBatch: 1})
		all := tinyPairs(t)
		for range 20 {
			ctx, cancel := context.WithCancel(bg)
			go func() { time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond); cancel() }() // scenario: a random cancel moment
			_, err := s.Score(ctx, all)
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			// Every session must be back in the pool once Score returns.
			if n := len(s.pool.free); n != 2 {
				t.Fatalf("%d sessions free after Score returned", n)
			}
			cancel()
		}
	})

	t.Run("close waits for calls in flight", func(t *testing.T) {
		requireORT(t)
		s, err := New(Config{ModelDir: tinyDir, Sessions: 1})
		if err != nil {
			t.Fatal(err)
		}
		sess := <-s.pool.free
		scored := make(chan error, 1)
		go func() { _, err := s.Score(bg, pairs); scored <- err }()
		testutil.WaitFor(t, time.Minute, func() error {
			if s.mu.TryLock() {
				s.mu.Unlock()
				return errors.New("Score does not hold its read lock")
			}
			return nil
		})
		closed := make(chan error, 1)
		go func() { closed <- s.Close() }()
		select {
		case <-closed:
			t.Fatal("Close returned while Score was in flight")
		case <-time.After(50 * time.Millisecond):
		}
		s.pool.free <- sess
		if err := <-scored; err != nil {
			t.Fatalf("in-flight Score: %v", err)
		}
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		if _, err := s.Score(bg, pairs); !errors.Is(err, ErrClosed) {
			t.Fatalf("Score after Close: %v", err)
		}
		if _, err := s.Encode(pairs); !errors.Is(err, ErrClosed) {
			t.Fatalf("Encode after Close: %v", err)
		}
		if _, err := s.Infer(bg, &Batch{}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Infer after Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}

// TestNaNModel checks the fault suite's broken model (testdata/nan, built by
// `python -m qegate_train tiny-nan`): it loads (its sha256 matches) and
// scores NaN for some pairs and finite numbers for others, so the gate's
// handling of NaN is exercised next to normal traffic.
func TestNaNModel(t *testing.T) {
	s, err := New(Config{ModelDir: filepath.Join("testdata", "nan"), Sessions: 1, IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var pairs []qe.Pair
	mt := strings.Repeat("house ", 8)
	for i := 3; i <= 30; i++ {
		pairs = append(pairs, qe.Pair{Src: "Haus", MT: mt[:i], SrcLang: "de", TgtLang: "en"})
	}
	res, err := s.Score(context.Background(), pairs)
	if err != nil {
		t.Fatal(err)
	}
	nan := 0
	for _, r := range res {
		if math.IsNaN(float64(r.Score)) {
			nan++
		}
	}
	if nan == 0 || nan == len(res) {
		t.Fatalf("%d of %d scores NaN, want some but not all", nan, len(res))
	}
}
