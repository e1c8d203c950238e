package scorer

import (
	"errors"
	"fmt"

	ort "github.com/yalue/onnxruntime_go"
)

// sessionPool hands out ORT sessions, one caller at a time each: a session's
// Run may be called concurrently in ORT, but a session per caller keeps
// each run on its own intra-op thread pool and makes the pool size the
// concurrency limit.
type sessionPool struct {
	free chan *ort.DynamicAdvancedSession
	all  []*ort.DynamicAdvancedSession
}

// sessionSpec is what the pool needs to create and feed sessions.
type sessionSpec struct {
	onnx           []byte
	inputs         []string // manifest order
	output         string
	numOutputs     int
	sessions       int
	intraOpThreads int
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
	} {
		if err := step.err(); err != nil {
			return nil, fmt.Errorf("scorer: session options: %s: %w", step.what, err)
		}
	}
	p = &sessionPool{free: make(chan *ort.DynamicAdvancedSession, spec.sessions)}
	defer func() {
		if err != nil {
			p.destroy()
		}
	}()
	for i := 0; i < spec.sessions; i++ {
		s, err := ort.NewDynamicAdvancedSessionWithONNXData(spec.onnx, spec.inputs, []string{spec.output}, opts)
		if err != nil {
			return nil, fmt.Errorf("scorer: create onnx session: %w", err)
		}
		p.all = append(p.all, s)
		p.free <- s
	}
	return p, nil
}

// destroy frees every session; callers must have returned them all.
func (p *sessionPool) destroy() error {
	var errs []error
	for _, s := range p.all {
		errs = append(errs, s.Destroy())
	}
	p.all = nil
	return errors.Join(errs...)
}

// checkModelIO compares the graph's declared inputs and output with the
// manifest, so a mismatched model fails at New instead of at the first Run.
func checkModelIO(onnx []byte, m *Manifest) error {
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(onnx)
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
		if !want[in.Name] {
			errs = append(errs, fmt.Errorf("graph input %q is not in onnx.inputs", in.Name))
			continue
		}
		found[in.Name] = true
		if in.DataType != ort.TensorElementDataTypeInt64 || len(in.Dimensions) != 2 {
			errs = append(errs, fmt.Errorf("graph input %q is %s, want int64 [batch, seq]", in.Name, in.String()))
		}
	}
	for _, n := range m.ONNX.Inputs {
		if !found[n] {
			errs = append(errs, fmt.Errorf("onnx.inputs names %q, which the graph lacks", n))
		}
	}
	var out *ort.InputOutputInfo
	for i := range outs {
		if outs[i].Name == m.ONNX.Output {
			out = &outs[i]
		}
	}
	switch {
	case out == nil:
		errs = append(errs, fmt.Errorf("onnx.output %q is not a graph output", m.ONNX.Output))
	case out.DataType != ort.TensorElementDataTypeFloat || len(out.Dimensions) != 2:
		errs = append(errs, fmt.Errorf("graph output %q is %s, want float32 [batch, K]", out.Name, out.String()))
	case out.Dimensions[1] >= 0 && out.Dimensions[1] != int64(len(m.Outputs)):
		errs = append(errs, fmt.Errorf("graph output %q has %d columns, model.json lists %d outputs", out.Name, out.Dimensions[1], len(m.Outputs)))
	}
	if len(errs) > 0 {
		return fmt.Errorf("scorer: %s does not match %s: %w", ModelFile, ManifestFile, errors.Join(errs...))
	}
	return nil
}

// run feeds one padded chunk through s and returns the raw output, row-major
// [rows, numOutputs]. It returns only after ORT has finished with the
// buffers.
func run(s *ort.DynamicAdvancedSession, spec *sessionSpec, rows [][]int64, pad int64) ([]float32, error) {
	n, seq := len(rows), 0
	for _, r := range rows {
		seq = max(seq, len(r))
	}
	ids := make([]int64, n*seq)
	mask := make([]int64, n*seq)
	for i, r := range rows {
		line := ids[i*seq : (i+1)*seq]
		copy(line, r)
		for j := len(r); j < seq; j++ {
			line[j] = pad
		}
		m := mask[i*seq : i*seq+len(r)]
		for j := range m {
			m[j] = 1
		}
	}
	shape := ort.NewShape(int64(n), int64(seq))
	inputs := make([]ort.Value, len(spec.inputs))
	defer func() {
		for _, v := range inputs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, name := range spec.inputs {
		data := ids
		if name == AttentionMask {
			data = mask
		}
		t, err := ort.NewTensor(shape, data)
		if err != nil {
			return nil, fmt.Errorf("scorer: input tensor %s: %w", name, err)
		}
		inputs[i] = t
	}
	// The output buffer is Go memory: it outlives the OrtValue wrapping it.
	res := make([]float32, n*spec.numOutputs)
	out, err := ort.NewTensor(ort.NewShape(int64(n), int64(spec.numOutputs)), res)
	if err != nil {
		return nil, fmt.Errorf("scorer: output tensor: %w", err)
	}
	defer out.Destroy()
	if err := s.Run(inputs, []ort.Value{out}); err != nil {
		return nil, fmt.Errorf("scorer: run onnx session: %w", err)
	}
	return res, nil
}
