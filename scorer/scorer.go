package scorer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/qegate/qegate/internal/native"
	"github.com/qegate/qegate/internal/qe"
)

// ErrClosed is returned by calls on a closed Scorer.
var ErrClosed = errors.New("scorer: closed")

// DefaultMaxBatch is the most rows per ONNX Runtime run when Config.MaxBatch
// is zero. One, by measurement: on 2 cores with 2 MB of L2 each, the 6-layer
// default model scores as many pairs per second and per core one row per
// run as with any length-bucketed batch (up to 8 rows and 256 tokens per
// run it is within a few percent, under the padding the batches add), and
// one row per run needs no padding (docs/BENCHMARKS.md, rows per run).
// Machines where more rows per run pay can raise model.max_batch: with a
// batch-invariant model (Manifest.BatchInvariant) that changes no score.
const DefaultMaxBatch = 1

// DefaultMaxBatchTokens bounds a run's padded size (rows x its longest row)
// when Config.MaxBatchTokens is zero. Past a few hundred tokens the per-pair
// cost of a run grows on CPUs with ~2 MB of L2 per core: the activations of
// the widest layer (tokens x 1536 floats) no longer fit in cache, and every
// elementwise op goes to memory (docs/BENCHMARKS.md, rows per run).
const DefaultMaxBatchTokens = 256

// Config configures New. Every zero value picks a documented default. The
// tagged fields are the model section of the configuration; the others are
// for benchmarks and tools.
type Config struct {
	// ModelDir holds model.onnx, tokenizer.json and model.json.
	// Zero: native.DefaultModelDir() ($QEGATE_MODEL_DIR, the baked path, or
	// models/default in the repository).
	ModelDir string `mapstructure:"dir"`
	// ORTLibrary is the path of libonnxruntime.so. Zero: native.ORTLibrary()
	// ($QEGATE_ORT_LIBRARY, the baked path, or .cache/native/lib). Only the
	// first Scorer of a process loads the library.
	ORTLibrary string `mapstructure:"ort_library"`
	// Output names the decision output (qe.Result.Score). Zero: the manifest's
	// default_output.
	Output string `mapstructure:"output"`
	// Sessions is how many ORT runs may execute at once (run slots over one
	// shared ORT session unless SeparateSessions). IntraOpThreads is the
	// thread count of each run. Zero values are sized so that Sessions x
	// IntraOpThreads ~= runtime.NumCPU(): both zero gives NumCPU sessions of
	// one thread (parallel runs scale better than intra-op threads on a
	// model this small); one zero is derived from the other.
	Sessions int `mapstructure:"sessions"`
	// IntraOpThreads is each session's intra-op thread count (see Sessions).
	IntraOpThreads int `mapstructure:"intra_op_threads"`
	// Spinning lets idle intra-op threads busy-wait for work
	// (session.intra_op.allow_spinning). Off by default: it buys little
	// latency and burns the cores that other sessions, the tokenizer and
	// the pipeline need. Irrelevant with one intra-op thread.
	Spinning bool `mapstructure:"-"`
	// SeparateSessions gives each of the Sessions its own ORT session (own
	// copy of the weights and own thread pool). Default: the Sessions are
	// run slots over one shared ORT session, which costs one copy of the
	// weights; with IntraOpThreads 1 the runs execute on the callers'
	// threads in parallel.
	SeparateSessions bool `mapstructure:"-"`
	// MaxLen bounds a pair's encoding, special tokens included. Zero: the
	// manifest's max_len; otherwise it must lie in [4, max_len].
	MaxLen int `mapstructure:"max_len"`
	// MaxBatch is the most rows per ORT run: a call's rows are sorted by
	// length and split into even chunks that run concurrently on free
	// sessions. Zero: DefaultMaxBatch. Above 1 with a model that is not
	// batch-invariant (Manifest.BatchInvariant), a pair's scores depend on
	// the pairs run with it.
	MaxBatch int `mapstructure:"max_batch"`
	// MaxBatchTokens bounds a run's padded size, rows x its longest row
	// (a longer row runs alone). Zero: DefaultMaxBatchTokens; negative: no
	// bound, runs are cut by MaxBatch only.
	MaxBatchTokens int `mapstructure:"max_batch_tokens"`
	// MaxInputBytes, when positive, cuts each text to about that many bytes
	// (at whitespace where possible) before tokenization, bounding the cost
	// of huge messages (~1 s of CPU per MB). Zero or negative: never cut,
	// the exact contract. A cut far above MaxLen tokens (say 64 x MaxLen)
	// leaves natural text's ids unchanged, but the tokenizer segments a whole
	// text at once (Metaspace, split=false), so a long unbroken run such as
	// "aaaa..." can tokenize differently from Python.
	MaxInputBytes int `mapstructure:"-"`
	// Thresholds replaces the decision output's thresholds from model.json.
	// Nil: use the manifest's.
	Thresholds *Thresholds `mapstructure:"-"`
	// CriticalThresholds replaces the critical output's thresholds from
	// model.json. Nil: use the manifest's. Ignored for a model without a
	// critical output.
	CriticalThresholds *Thresholds `mapstructure:"-"`
	// ThresholdOverrides replace single thresholds of the decision output
	// (the model.thresholds key): per language pair ("en-de": 0.62), and
	// the key "default" for the default threshold. Pairs not named keep
	// the model's (or Thresholds'). Empty: none.
	ThresholdOverrides map[string]float64 `mapstructure:"thresholds"`
	// CriticalThresholdOverrides replace single thresholds of the critical
	// output (the model.critical_thresholds key), as ThresholdOverrides do
	// for the decision output: lower flags more pairs as critical errors.
	// Ignored for a model without a critical output. Empty: none.
	CriticalThresholdOverrides map[string]float64 `mapstructure:"critical_thresholds"`
}

// Scorer scores pairs with one model. It is safe for concurrent use.
type Scorer struct {
	man        *Manifest
	decision   int // position of the decision output in man.Outputs
	critical   int // position of the critical output in man.Outputs; -1: none
	critTh     *Thresholds
	enc        encoder
	tok        *tokenizer
	pool       *sessionPool
	spec       sessionSpec
	pad        int64
	maxBatch   int // rows per ORT run, at most
	maxTokens  int // padded tokens per ORT run, at most; <= 0: no bound
	thresholds atomic.Pointer[Thresholds]
	model      qe.ModelID // what every Result names

	mu     sync.RWMutex // held for reading by every call, for writing by Close
	closed bool
}

// ModelDir is the one place an empty model directory (Config.ModelDir,
// model.dir, --model) is resolved: dir itself, else native.DefaultModelDir()
// ($QEGATE_MODEL_DIR, the baked path, or models/default in the repository);
// an error when there is none.
func ModelDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	if dir = native.DefaultModelDir(); dir == "" {
		return "", fmt.Errorf("scorer: no model directory: set Config.ModelDir or $%s", native.EnvModelDir)
	}
	return dir, nil
}

// New loads the model directory and opens the ONNX Runtime sessions.
func New(cfg Config) (*Scorer, error) {
	var err error
	if cfg.ModelDir, err = ModelDir(cfg.ModelDir); err != nil {
		return nil, err
	}
	if cfg.Sessions < 0 || cfg.IntraOpThreads < 0 || cfg.MaxBatch < 0 || cfg.MaxLen < 0 {
		return nil, errors.New("scorer: Sessions, IntraOpThreads, MaxBatch and MaxLen must not be negative")
	}
	man, err := LoadManifest(cfg.ModelDir)
	if err != nil {
		return nil, err
	}
	s := &Scorer{man: man, pad: man.SpecialTokens.PAD, maxBatch: cfg.MaxBatch, maxTokens: cfg.MaxBatchTokens}
	if s.maxBatch == 0 {
		s.maxBatch = DefaultMaxBatch
	}
	if s.maxTokens == 0 {
		s.maxTokens = DefaultMaxBatchTokens
	}
	if cfg.Output == "" {
		cfg.Output = man.DefaultOutput
	}
	s.decision = -1
	for i := range man.Outputs {
		if man.Outputs[i].Name == cfg.Output {
			s.decision = i
		}
	}
	if s.decision < 0 {
		return nil, fmt.Errorf("scorer: output %q is not in %s", cfg.Output, filepath.Join(cfg.ModelDir, ManifestFile))
	}
	if man.Outputs[s.decision].Kind == KindCritical {
		return nil, fmt.Errorf("scorer: output %q is the critical-error output: it flags pairs, it cannot decide acceptability (choose a classification or regression output)", cfg.Output)
	}
	s.critical = -1
	for i := range man.Outputs {
		if o := &man.Outputs[i]; o.Kind == KindCritical {
			s.critical = i
			th := cfg.CriticalThresholds
			if th == nil {
				th = &Thresholds{Default: o.DefaultThreshold, ByLangPair: o.Thresholds}
			}
			s.critTh = th.clone()
			for lp, v := range cfg.CriticalThresholdOverrides {
				if lp == "default" {
					s.critTh.Default = float32(v)
					continue
				}
				s.critTh.ByLangPair[strings.ToLower(lp)] = float32(v)
			}
		}
	}
	s.model = qe.ModelID{Name: man.Name, Version: man.Version, Output: cfg.Output}
	maxLen := cfg.MaxLen
	if maxLen == 0 {
		maxLen = man.MaxLen
	}
	if maxLen < minMaxLen || maxLen > man.MaxLen {
		return nil, fmt.Errorf("scorer: MaxLen %d outside [%d, %d] (max_len of the model)", maxLen, minMaxLen, man.MaxLen)
	}
	th := cfg.Thresholds
	if th == nil {
		o := &man.Outputs[s.decision]
		th = &Thresholds{Default: o.DefaultThreshold, ByLangPair: o.Thresholds}
	}
	th = th.clone()
	for lp, v := range cfg.ThresholdOverrides {
		if lp == "default" {
			th.Default = float32(v)
			continue
		}
		th.ByLangPair[strings.ToLower(lp)] = float32(v)
	}
	s.thresholds.Store(th)

	sessions, threads := sizePool(cfg.Sessions, cfg.IntraOpThreads, runtime.NumCPU())

	if err := initORT(cfg.ORTLibrary); err != nil {
		return nil, err
	}
	// The tokenizer first: parsing its JSON leaves garbage that is handed
	// back to the OS before ONNX Runtime loads the model, so that the two
	// do not add up in the peak RSS (docs/BENCHMARKS.md, memory).
	s.tok, err = loadTokenizer(filepath.Join(cfg.ModelDir, TokenizerFile))
	if err != nil {
		return nil, fmt.Errorf("scorer: load tokenizer: %w", err)
	}
	modelPath := filepath.Join(cfg.ModelDir, ModelFile)
	model, err := os.Open(modelPath)
	if err != nil {
		s.tok.close()
		return nil, fmt.Errorf("scorer: load model: %w", err)
	}
	// Closed once the sessions exist: until then it pins the file checked.
	defer model.Close()
	if err := verifyModelFile(model, man); err != nil {
		s.tok.close()
		return nil, err
	}
	// The bytes checked above are garbage now: hand them back to the OS
	// before ORT reads the file itself.
	debug.FreeOSMemory()
	s.enc = encoder{
		tokenize:      s.tok.tokenize,
		maxLen:        maxLen,
		bos:           man.SpecialTokens.BOS,
		eos:           man.SpecialTokens.EOS,
		maxInputBytes: cfg.MaxInputBytes,
	}
	s.spec = sessionSpec{
		modelPath:      pinnedPath(model, modelPath),
		inputs:         man.ONNX.Inputs,
		output:         man.ONNX.Output,
		numOutputs:     len(man.Outputs),
		sessions:       sessions,
		intraOpThreads: threads,
		spinning:       cfg.Spinning,
		separate:       cfg.SeparateSessions,
	}
	if s.pool, err = newSessionPool(s.spec); err != nil {
		s.tok.close()
		return nil, err
	}
	return s, nil
}

// verifyModelFile checks model.onnx against the manifest (sha256, graph
// inputs and output). ONNX Runtime then reads the file itself (holding the
// bytes in Go while it loads its own copy would add their size to the peak
// RSS), through pinnedPath, so a model.onnx renamed over the checked one in
// between (how deployments and hot reload replace files) is not what loads.
// A write into the checked file itself is not detected: the check guards
// against a corrupted or mismatched file, not a writer with access to it.
func verifyModelFile(f *os.File, man *Manifest) error {
	// One buffer of the file's size: io.ReadAll's doubling growth would
	// hold two partial copies at once, and this is the process's peak.
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("scorer: load model: %w", err)
	}
	onnx := make([]byte, st.Size())
	if _, err := io.ReadFull(f, onnx); err != nil {
		return fmt.Errorf("scorer: load model: %w", err)
	}
	if err := man.VerifyModel(onnx); err != nil {
		return err
	}
	return checkModelIO(onnx, man)
}

// pinnedPath names the open file f for ONNX Runtime: /proc/self/fd/N on
// Linux reaches the file that was opened (and checked) even when its name
// now points at another file; elsewhere the name itself.
func pinnedPath(f *os.File, name string) string {
	p := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
	if runtime.GOOS == "linux" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return name
}

// sizePool applies the Config defaults for Sessions and IntraOpThreads.
func sizePool(sessions, threads, ncpu int) (int, int) {
	ncpu = max(ncpu, 1)
	switch {
	case sessions == 0 && threads == 0:
		sessions, threads = ncpu, 1
	case sessions == 0:
		sessions = max(1, ncpu/threads)
	case threads == 0:
		threads = max(1, ncpu/sessions)
	}
	return sessions, threads
}

// Manifest returns the model's manifest. It must not be modified.
func (s *Scorer) Manifest() *Manifest { return s.man }

// Model names the model and decision output that every Result names.
func (s *Scorer) Model() qe.ModelID { return s.model }

// DecisionOutput returns the output that qe.Result.Score and Acceptable use.
func (s *Scorer) DecisionOutput() OutputSpec { return s.man.Outputs[s.decision] }

// CriticalOutput returns the critical-error output and true, or false when
// the model has none.
func (s *Scorer) CriticalOutput() (OutputSpec, bool) {
	if s.critical < 0 {
		return OutputSpec{}, false
	}
	return s.man.Outputs[s.critical], true
}

// CriticalThreshold returns the critical-error threshold applied to
// language pair lp, and false when the model has no critical output.
func (s *Scorer) CriticalThreshold(lp string) (float32, bool) {
	if s.critical < 0 {
		return 0, false
	}
	return s.critTh.For(lp), true
}

// CriticalThresholds returns a copy of the critical output's thresholds in
// use, and false when the model has no critical output.
func (s *Scorer) CriticalThresholds() (Thresholds, bool) {
	if s.critical < 0 {
		return Thresholds{}, false
	}
	return *s.critTh.clone(), true
}

// PoolSize returns the number of sessions and the intra-op threads of each.
func (s *Scorer) PoolSize() (sessions, intraOpThreads int) {
	return s.spec.sessions, s.spec.intraOpThreads
}

// Score encodes, runs and thresholds pairs; results are in input order.
// Pairs with a finite MTScore whose language pair the manifest's Glassbox
// covers get the glass-box combination (Result.Glassbox); all others the
// model's own outputs. An unusable pair fails the call with a *qe.TextError
// naming it. A cancelled ctx stops work that has not started, but Score
// always waits for ORT runs in flight before returning.
func (s *Scorer) Score(ctx context.Context, pairs []qe.Pair) ([]qe.Result, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scorer: %w", err)
	}
	b, err := s.enc.encode(pairs)
	if err != nil {
		return nil, err
	}
	// Raw columns are kept only when some pair can use the glass-box block,
	// which reads logits, not probabilities.
	glass := false
	if s.man.Glassbox != nil {
		for i := range pairs {
			glass = glass || pairs[i].MTScore != nil
		}
	}
	outs, err := s.infer(ctx, b, !glass)
	if err != nil {
		return nil, err
	}
	th := s.thresholds.Load()
	res := make([]qe.Result, len(outs))
	var crits []qe.Critical // one allocation for the batch's verdicts
	if s.critical >= 0 {
		crits = make([]qe.Critical, len(outs))
	}
	for i, o := range outs {
		r := qe.Result{Threshold: th.For(b.langPairs[i]), Outputs: o, Model: s.model, Truncated: b.Truncated(i)}
		if glass {
			raw := slices.Clone(o)
			s.transform(raw, o)
			// A non-finite MT score (only a Go caller can pass one; JSON has
			// none) would poison the combination: the text alone decides.
			if f := s.man.Glassbox.fit(b.langPairs[i]); f != nil && usableMT(pairs[i].MTScore) {
				if used, t := f.combine(s.man, s.man.Glassbox.Inputs, raw, *pairs[i].MTScore, o, s.decision); used {
					r.Glassbox, r.Threshold = true, t
				}
			}
		}
		r.Score = o[s.decision]
		r.Acceptable = r.Score >= r.Threshold
		if crits != nil {
			c := &crits[i]
			c.Prob, c.Threshold = o[s.critical], s.critTh.For(b.langPairs[i])
			c.Flagged = c.Prob >= c.Threshold
			r.Critical = c
		}
		res[i] = r
	}
	return res, nil
}

// usableMT reports whether a pair's MT score can enter the glass-box layer.
func usableMT(mt *float64) bool {
	return mt != nil && !math.IsNaN(*mt) && !math.IsInf(*mt, 0)
}

// transform writes the transformed outputs of one row of raw ONNX columns
// into dst, in manifest order.
func (s *Scorer) transform(src, dst []float32) {
	for j := range s.man.Outputs {
		o := &s.man.Outputs[j]
		v := src[o.Index]
		if o.Transform == TransformSigmoid {
			v = sigmoid(v)
		}
		dst[j] = v
	}
}

// Encode tokenizes pairs into a Batch without running the model.
func (s *Scorer) Encode(pairs []qe.Pair) (*Batch, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	return s.enc.encode(pairs)
}

// Infer runs the model on b and returns, per pair, every output after its
// transform in manifest order (what qe.Result.Outputs holds). Thresholds are
// not applied. Context handling is as for Score.
func (s *Scorer) Infer(ctx context.Context, b *Batch) ([][]float32, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	if b == nil {
		return nil, errors.New("scorer: infer: nil batch")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	return s.infer(ctx, b, true)
}

// infer runs b in chunks (see runPlan): rows are grouped by length first
// (length bucketing), so each chunk holds rows of similar length and padding
// to the chunk's longest row wastes little; results are scattered back to
// input order. With transform, rows hold the transformed outputs in
// manifest order; without, the raw ONNX columns.
func (s *Scorer) infer(ctx context.Context, b *Batch, transform bool) ([][]float32, error) {
	n, k := len(b.rows), len(s.man.Outputs)
	flat := make([]float32, n*k)
	outs := make([][]float32, n)
	for i := range outs {
		outs[i] = flat[i*k : (i+1)*k : (i+1)*k]
	}
	if n == 0 {
		return outs, nil
	}
	plan := runPlan(b.rows, lengthOrder(b.rows), s.maxBatch, s.maxTokens)
	if len(plan) == 1 {
		if err := s.runChunk(ctx, b.rows, plan[0], flat, transform); err != nil {
			return nil, err
		}
		return outs, nil
	}
	// Chunks run concurrently on free sessions by at most one goroutine
	// per session.
	errs := make([]error, len(plan))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(len(plan), s.spec.sessions) {
		wg.Go(func() {
			for {
				c := int(next.Add(1) - 1)
				if c >= len(plan) {
					return
				}
				errs[c] = s.runChunk(ctx, b.rows, plan[c], flat, transform)
			}
		})
	}
	wg.Wait() // never return while a chunk may still be inside ORT
	for _, err := range errs {
		if err != nil {
			return nil, err // the first, in chunk order: usually all say the same
		}
	}
	return outs, nil
}

// runPlan cuts order (row indices sorted by length) into the chunks of one
// ORT run each. First into segments whose padded size, rows x the longest
// row, stays within maxTokens (<= 0: no bound; a longer row is a segment of
// its own), then each segment into even chunks of at most maxBatch rows (33
// rows at MaxBatch 32 run as 17 + 16, not 32 + 1). The chunks are
// subslices of order.
func runPlan(rows [][]int64, order []int, maxBatch, maxTokens int) [][]int {
	var plan [][]int
	for lo := 0; lo < len(order); {
		hi := lo + 1
		if maxTokens > 0 {
			for hi < len(order) && (hi-lo+1)*len(rows[order[hi]]) <= maxTokens {
				hi++
			}
		} else {
			hi = len(order)
		}
		size, chunks := chunkPlan(hi-lo, maxBatch)
		for c := range chunks {
			plan = append(plan, order[lo+c*size:min(lo+(c+1)*size, hi)])
		}
		lo = hi
	}
	return plan
}

// chunkPlan splits n rows into even chunks of at most maxBatch rows: the
// chunk size and count.
func chunkPlan(n, maxBatch int) (size, chunks int) {
	if n == 0 {
		return 0, 0
	}
	chunks = (n + maxBatch - 1) / maxBatch
	size = (n + chunks - 1) / chunks
	return size, (n + size - 1) / size
}

// Padding returns the token positions Infer would run b with: the real
// tokens and the positions of its padded chunks (length-bucketed, within
// the run limits), so that 1 - real/padded is the padding share; runs is
// the number of ORT runs.
func (s *Scorer) Padding(b *Batch) (real, padded, runs int) {
	plan := runPlan(b.rows, lengthOrder(b.rows), s.maxBatch, s.maxTokens)
	for _, idx := range plan {
		longest := 0
		for _, i := range idx {
			real += len(b.rows[i])
			longest = max(longest, len(b.rows[i]))
		}
		padded += longest * len(idx)
	}
	return real, padded, len(plan)
}

// RunLimits returns the most rows and padded tokens per ORT run (tokens <=
// 0: no bound), after defaults.
func (s *Scorer) RunLimits() (rows, tokens int) {
	return s.maxBatch, s.maxTokens
}

// lengthOrder returns the row indices sorted by row length (stable).
func lengthOrder(rows [][]int64) []int {
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	sorted := true
	for i := 1; i < len(rows) && sorted; i++ {
		sorted = len(rows[i-1]) <= len(rows[i])
	}
	if !sorted {
		slices.SortStableFunc(order, func(a, b int) int { return len(rows[a]) - len(rows[b]) })
	}
	return order
}

// runChunk runs rows[idx[0]], rows[idx[1]], ... on a free session and
// writes row idx[i]'s outputs to flat[idx[i]*k:]: transformed in manifest
// order, or raw in ONNX column order.
func (s *Scorer) runChunk(ctx context.Context, rows [][]int64, idx []int, flat []float32, transform bool) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("scorer: %w", ctx.Err())
	case sess := <-s.pool.free:
		defer func() { s.pool.free <- sess }()
		if err := ctx.Err(); err != nil { // select picks randomly when both are ready
			return fmt.Errorf("scorer: %w", err)
		}
		raw, err := sess.run(&s.spec, rows, idx, s.pad)
		if err != nil {
			return err
		}
		k := len(s.man.Outputs)
		for i, r := range idx {
			src, dst := raw[i*k:(i+1)*k], flat[r*k:(r+1)*k]
			if !transform {
				copy(dst, src)
				continue
			}
			s.transform(src, dst)
		}
		return nil
	}
}

func sigmoid(x float32) float32 {
	return float32(1 / (1 + math.Exp(-float64(x))))
}

// Close waits for calls in flight, then frees the sessions and the
// tokenizer. Later calls return ErrClosed. The process-wide ONNX Runtime
// environment stays initialized. Close is idempotent.
func (s *Scorer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.pool.destroy()
	s.tok.close()
	if err != nil {
		return fmt.Errorf("scorer: close: %w", err)
	}
	return nil
}
