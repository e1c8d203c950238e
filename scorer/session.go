package scorer

import (
	"errors"
	"fmt"

	ort "github.com/yalue/onnxruntime_go"
)

// sessionPool hands out run slots, one caller at a time each; the number of
// slots is the concurrency limit. Slots share one ORT session (ORT's Run is
// safe for concurrent use; with one intra-op thread a run executes on its
// caller's thread) unless sessionSpec.separate asks for one session per
// slot, each with its own weights and intra-op thread pool.
type sessionPool struct {
	free     chan *session
	all      []*session
	sessions []*ort.DynamicAdvancedSession // distinct ORT sessions behind all
}

// session is a run slot: an ORT session (maybe shared with other slots) and
// the scratch buffers of its runs. A slot serves one caller at a time, so
// the padded inputs and the output are reused from run to run instead of
// allocated per call.
type session struct {
	ort       *ort.DynamicAdvancedSession
	ids, mask []int64
	out       []float32
	// single caches, per sequence length, the tensors of one-row runs (the
	// default MaxBatch): such a run then allocates nothing of its own.
	single map[int]*singleRun
	out1   *ort.Tensor[float32]
	outs1  []ort.Value // {out1}
}

// singleRun is a one-row run's input tensors over their own buffers.
type singleRun struct {
	ids     []int64
	tensors []ort.Value // in spec.inputs order
}

// destroy frees the cached tensors (not the ORT session).
func (s *session) destroy() {
	for _, c := range s.single {
		for _, t := range c.tensors {
			t.Destroy()
		}
	}
	s.single = nil
	if s.out1 != nil {
		s.out1.Destroy()
		s.out1, s.outs1 = nil, nil
	}
}

// sessionSpec is what the pool needs to create and feed sessions.
type sessionSpec struct {
	modelPath      string   // model.onnx, read by ONNX Runtime itself
	inputs         []string // manifest order
	output         string
	numOutputs     int
	sessions       int
	intraOpThreads int
	spinning       bool // intra-op threads spin while waiting for work
	separate       bool // one ORT session per slot instead of one shared
}

func newSessionPool(spec sessionSpec) (p *sessionPool, err error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("scorer: session options: %w", err)
	}
	defer opts.Destroy()
	for _, step := range []struct {
		what string
		err  func() error
	}{
		{"graph optimization", func() error { return opts.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll) }},
		{"intra-op threads", func() error { return opts.SetIntraOpNumThreads(spec.intraOpThreads) }},
		{"inter-op threads", func() error { return opts.SetInterOpNumThreads(1) }},
		{"execution mode", func() error { return opts.SetExecutionMode(ort.ExecutionModeSequential) }},
		{"intra-op spinning", func() error {
			return opts.AddSessionConfigEntry("session.intra_op.allow_spinning", map[bool]string{true: "1", false: "0"}[spec.spinning])
		}},
	} {
		if err := step.err(); err != nil {
			return nil, fmt.Errorf("scorer: session options: %s: %w", step.what, err)
		}
	}
	p = &sessionPool{free: make(chan *session, spec.sessions)}
	defer func() {
		if err != nil {
			p.destroy()
		}
	}()
	// ORT's Run is safe for concurrent use: by default every slot shares
	// one session (one copy of the weights) and runs on its caller's
	// thread plus the session's intra-op pool.
	var shared *ort.DynamicAdvancedSession
	for i := 0; i < spec.sessions; i++ {
		s := shared
		if s == nil || spec.separate {
			s, err = ort.NewDynamicAdvancedSession(spec.modelPath, spec.inputs, []string{spec.output}, opts)
			if err != nil {
				return nil, fmt.Errorf("scorer: create onnx session: %w", err)
			}
			p.sessions = append(p.sessions, s)
			shared = s
		}
		ss := &session{ort: s}
		p.all = append(p.all, ss)
		p.free <- ss
	}
	return p, nil
}

// destroy frees every session; callers must have returned them all.
func (p *sessionPool) destroy() error {
	var errs []error
	for _, s := range p.all {
		s.destroy()
	}
	for _, s := range p.sessions {
		errs = append(errs, s.Destroy())
	}
	p.all, p.sessions = nil, nil
	return errors.Join(errs...)
}

// checkModelIO compares the graph's declared inputs and output with the
// manifest, so a mismatched model fails at New instead of at the first Run.
// It reads them from model.onnx's bytes (graphIO), not through an ONNX
// Runtime session, which would copy the weights once more.
func checkModelIO(onnx []byte, m *Manifest) error {
	ins, outs, err := graphIO(onnx)
	if err != nil {
		return fmt.Errorf("scorer: inspect %s: %w", ModelFile, err)
	}
	var errs []error
	want := map[string]bool{}
	for _, n := range m.ONNX.Inputs {
		want[n] = true
	}
	found := map[string]bool{}
	for _, in := range ins {
		if !want[in.name] {
			errs = append(errs, fmt.Errorf("graph input %q is not in onnx.inputs", in.name))
			continue
		}
		found[in.name] = true
		if in.elemType != onnxInt64 || len(in.dims) != 2 {
			errs = append(errs, fmt.Errorf("graph input %q is %s, want int64 [batch, seq]", in.name, in))
		}
	}
	for _, n := range m.ONNX.Inputs {
		if !found[n] {
			errs = append(errs, fmt.Errorf("onnx.inputs names %q, which the graph lacks", n))
		}
	}
	var out *valueInfo
	for i := range outs {
		if outs[i].name == m.ONNX.Output {
			out = &outs[i]
		}
	}
	switch {
	case out == nil:
		errs = append(errs, fmt.Errorf("onnx.output %q is not a graph output", m.ONNX.Output))
	case out.elemType != onnxFloat || len(out.dims) != 2:
		errs = append(errs, fmt.Errorf("graph output %q is %s, want float32 [batch, K]", out.name, out))
	case out.dims[1] >= 0 && out.dims[1] != int64(len(m.Outputs)):
		errs = append(errs, fmt.Errorf("graph output %q has %d columns, model.json lists %d outputs", out.name, out.dims[1], len(m.Outputs)))
	}
	if len(errs) > 0 {
		return fmt.Errorf("scorer: %s does not match %s: %w", ModelFile, ManifestFile, errors.Join(errs...))
	}
	return nil
}

// run feeds rows[idx[0]], rows[idx[1]], ... as one padded chunk through s
// and returns the raw output, row-major [len(idx), numOutputs], in s's
// scratch buffer (valid until s's next run). It returns only after ORT has
// finished with the buffers.
func (s *session) run(spec *sessionSpec, rows [][]int64, idx []int, pad int64) ([]float32, error) {
	if len(idx) == 1 {
		return s.runSingle(spec, rows[idx[0]])
	}
	n, seq := len(idx), 0
	for _, r := range idx {
		seq = max(seq, len(rows[r]))
	}
	s.ids, s.mask = grow(s.ids, n*seq), grow(s.mask, n*seq)
	ids, mask := s.ids[:n*seq], s.mask[:n*seq]
	for i, r := range idx {
		row := rows[r]
		line, m := ids[i*seq:(i+1)*seq], mask[i*seq:(i+1)*seq]
		copy(line, row)
		for j := len(row); j < seq; j++ {
			line[j] = pad
		}
		for j := range m {
			m[j] = 0
			if j < len(row) {
				m[j] = 1
			}
		}
	}
	shape := ort.NewShape(int64(n), int64(seq))
	var inputs [4]ort.Value // the manifest names at most a handful
	ins := inputs[:0]
	if len(spec.inputs) > len(inputs) {
		ins = make([]ort.Value, 0, len(spec.inputs))
	}
	defer func() {
		for _, v := range ins {
			v.Destroy()
		}
	}()
	for _, name := range spec.inputs {
		data := ids
		if name == AttentionMask {
			data = mask
		}
		t, err := ort.NewTensor(shape, data)
		if err != nil {
			return nil, fmt.Errorf("scorer: input tensor %s: %w", name, err)
		}
		ins = append(ins, t)
	}
	// The output buffer is Go memory: it outlives the OrtValue wrapping it.
	s.out = grow(s.out, n*spec.numOutputs)
	res := s.out[:n*spec.numOutputs]
	out, err := ort.NewTensor(ort.NewShape(int64(n), int64(spec.numOutputs)), res)
	if err != nil {
		return nil, fmt.Errorf("scorer: output tensor: %w", err)
	}
	defer out.Destroy()
	if err := s.ort.Run(ins, []ort.Value{out}); err != nil {
		return nil, fmt.Errorf("scorer: run onnx session: %w", err)
	}
	return res, nil
}

// runSingle runs one row on tensors cached for its length: a row needs no
// padding, so its attention mask is all ones and only the ids change.
func (s *session) runSingle(spec *sessionSpec, row []int64) ([]float32, error) {
	seq := len(row)
	c := s.single[seq]
	if c == nil {
		c = &singleRun{ids: make([]int64, seq)}
		mask := make([]int64, seq)
		for j := range mask {
			mask[j] = 1
		}
		shape := ort.NewShape(1, int64(seq))
		for _, name := range spec.inputs {
			data := c.ids
			if name == AttentionMask {
				data = mask
			}
			t, err := ort.NewTensor(shape, data)
			if err != nil {
				for _, t := range c.tensors {
					t.Destroy()
				}
				return nil, fmt.Errorf("scorer: input tensor %s: %w", name, err)
			}
			c.tensors = append(c.tensors, t)
		}
		if s.single == nil {
			s.single = map[int]*singleRun{}
		}
		s.single[seq] = c
	}
	if s.out1 == nil {
		t, err := ort.NewTensor(ort.NewShape(1, int64(spec.numOutputs)), make([]float32, spec.numOutputs))
		if err != nil {
			return nil, fmt.Errorf("scorer: output tensor: %w", err)
		}
		s.out1, s.outs1 = t, []ort.Value{t}
	}
	copy(c.ids, row)
	if err := s.ort.Run(c.tensors, s.outs1); err != nil {
		return nil, fmt.Errorf("scorer: run onnx session: %w", err)
	}
	return s.out1.GetData(), nil
}

// grow returns buf with room for n elements, reusing it when it has.
func grow[T any](buf []T, n int) []T {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]T, n, max(n, 2*cap(buf)))
}
