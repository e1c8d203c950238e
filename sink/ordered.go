package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/qegate/qegate/internal/qe"
)

// OrderedConfig configures an Ordered sink.
type OrderedConfig struct {
	// Dir is the output directory: one JSON-lines file per route plus
	// annotated.jsonl and the checkpoint. "-" writes only the annotated
	// stream, to Stdout, with no checkpoint. Required.
	Dir string
	// Resume continues the run whose checkpoint is in Dir; Force deletes
	// earlier outputs in Dir instead. Without either a Dir holding
	// anything is refused, so a rerun never appends to old results.
	Resume, Force bool
	// Fingerprint identifies the model, thresholds, routes and input
	// options; a resume with a different one is refused, because its
	// outputs would not match an uninterrupted run's.
	Fingerprint string
	// Inputs are the input paths, recorded and checked on resume.
	Inputs []string
	// Compress, "gzip" or "zstd", compresses each output once the run is
	// complete (outputs are plain during the run so that a resume can
	// truncate them to the checkpoint). Empty writes plain JSON lines.
	Compress string
	// Window bounds how far reading may run ahead of in-order writing,
	// and so the reorder buffer's memory. Zero means 4096 lines.
	Window int
	// CheckpointLines and CheckpointInterval: a checkpoint (every output
	// flushed and fsynced, then the checkpoint file replaced atomically)
	// is written after this many lines or this much time, whichever comes
	// first. Zero means 10000 lines and 5s.
	CheckpointLines    int
	CheckpointInterval time.Duration
	// Stdout receives the annotated stream when Dir is "-"; nil means
	// os.Stdout.
	Stdout io.Writer
	// OnFatal is called once, from a worker, when a write fails for good
	// (disk full, I/O error), so the caller can stop reading; nil ignores.
	OnFatal func(error)
}

// AnnotatedFile is the stem of the output that has every input line once,
// in input order.
const AnnotatedFile = "annotated"

// Ordered writes a filter's records in input order (by Record.Seq) into
// one JSON-lines file per route plus annotated.jsonl (every input line once,
// with its verdict or, for a dead letter, its reason), and checkpoints so
// that a run killed at any point, SIGKILL included, resumes to outputs
// byte-identical to an uninterrupted run's.
//
// The engine's workers finish out of order; records wait in a reorder
// buffer until their predecessors arrive. The source calls Admit before
// each line, which blocks while the line is Window ahead of the next one
// to write, so the buffer (and memory) stays bounded whatever the input's
// size.
//
// A write error (disk full, I/O error) is fatal: the sink truncates the
// file it failed on back to its last complete line, calls OnFatal, and
// from then on accepts and discards writes, so the pipeline drains at
// once instead of retrying forever; Err reports the failure, and the
// checkpoint (which never covers a discarded line) is where --resume
// continues.
type Ordered struct {
	cfg OrderedConfig

	mu        sync.Mutex
	cond      *sync.Cond
	next      int64 // Seq of the next record to write
	pending   map[int64]qe.Record
	positions []qe.InputPos // positions[i] is where Seq next+i ends
	last      qe.InputPos   // position after the last written record
	files     map[string]*outFile
	stdout    *outFile
	fatal     error
	sinceCkpt int
	lastCkpt  time.Time
	summary   Summary
	complete  bool
	resumed   bool
	closed    bool
}

// OpenOrdered prepares the output directory: it refuses one that holds
// anything unless Resume or Force, and on Resume verifies the checkpoint
// and truncates every output to its recorded length. It returns the sink
// and the input position to start reading from (the zero position for a
// fresh run); done reports a resumed run that had already completed.
func OpenOrdered(cfg OrderedConfig) (o *Ordered, start qe.InputPos, done bool, err error) {
	if cfg.Window <= 0 {
		cfg.Window = 4096
	}
	if cfg.CheckpointLines <= 0 {
		cfg.CheckpointLines = 10000
	}
	if cfg.CheckpointInterval <= 0 {
		cfg.CheckpointInterval = 5 * time.Second
	}
	switch cfg.Compress {
	case "", "gzip", "zstd":
	default:
		return nil, start, false, fmt.Errorf("sink: output compression %q: want gzip or zstd", cfg.Compress)
	}
	o = &Ordered{cfg: cfg, pending: map[int64]qe.Record{}, files: map[string]*outFile{}, summary: newSummary(), lastCkpt: time.Now()}
	o.cond = sync.NewCond(&o.mu)
	if cfg.Dir == "" {
		return nil, start, false, errors.New("sink: output directory: required")
	}
	if cfg.Dir == "-" {
		if cfg.Resume {
			return nil, start, false, errors.New("sink: --resume needs an output directory, not standard output")
		}
		w := cfg.Stdout
		if w == nil {
			w = os.Stdout
		}
		if cfg.Compress != "" {
			cw, err := compressWriter(w, cfg.Compress)
			if err != nil {
				return nil, start, false, err
			}
			o.stdout = &outFile{name: "standard output", w: cw}
		} else {
			o.stdout = &outFile{name: "standard output", w: w}
		}
		return o, start, false, nil
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, start, false, fmt.Errorf("sink: output directory: %w", err)
	}
	entries, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, start, false, fmt.Errorf("sink: output directory: %w", err)
	}
	switch {
	case cfg.Resume:
		ck, err := o.resume()
		if err != nil {
			return nil, start, false, err
		}
		if ck.Complete {
			o.closed, o.complete = true, true
			return o, ck.Pos, true, nil
		}
		return o, ck.Pos, false, nil
	case len(entries) > 0 && !cfg.Force:
		return nil, start, false, fmt.Errorf("sink: output directory %s is not empty: pass --resume to continue an interrupted run, or --force to replace its outputs", cfg.Dir)
	case cfg.Force:
		for _, e := range entries {
			if isOutputName(e.Name()) {
				if err := os.Remove(filepath.Join(cfg.Dir, e.Name())); err != nil {
					return nil, start, false, fmt.Errorf("sink: --force: %w", err)
				}
			}
		}
	}
	// A checkpoint before the first line: a run killed at once resumes too.
	if err := o.writeCheckpoint(false); err != nil {
		return nil, start, false, err
	}
	return o, start, false, nil
}

// Resumed reports whether the sink continues an interrupted run.
func (o *Ordered) Resumed() bool { return o.resumed }

// Admit blocks until seq is within the reorder window of the next record
// to write, then records pos as where seq ends. It implements
// source.Window; seqs must be admitted in order.
func (o *Ordered) Admit(ctx context.Context, seq int64, pos qe.InputPos) error {
	stop := context.AfterFunc(ctx, func() {
		o.mu.Lock()
		o.cond.Broadcast()
		o.mu.Unlock()
	})
	defer stop()
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.fatal == nil && ctx.Err() == nil && seq >= o.next+int64(o.cfg.Window) {
		o.cond.Wait()
	}
	switch {
	case o.fatal != nil:
		return o.fatal
	case ctx.Err() != nil:
		return ctx.Err()
	}
	if want := o.next + int64(len(o.positions)); seq != want {
		return fmt.Errorf("sink: admit: seq %d out of order (want %d)", seq, want)
	}
	o.positions = append(o.positions, pos)
	return nil
}

// Write buffers recs and writes every record whose predecessors are all
// written. It returns nil even after a fatal write error (see Ordered).
func (o *Ordered) Write(ctx context.Context, recs []qe.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fatal != nil || o.closed {
		return nil
	}
	for _, r := range recs {
		if r.Seq >= o.next {
			o.pending[r.Seq] = r
		}
	}
	wrote := false
	for {
		r, ok := o.pending[o.next]
		if !ok {
			break
		}
		delete(o.pending, o.next)
		if err := o.writeOne(r); err != nil {
			o.failLocked(err)
			return nil
		}
		o.next++
		if len(o.positions) > 0 {
			o.last = o.positions[0]
			o.positions = o.positions[1:]
		} else {
			o.last.Seq = o.next // a caller without Admit: positions unknown
		}
		o.sinceCkpt++
		wrote = true
	}
	if !wrote {
		return nil
	}
	o.cond.Broadcast()
	if o.stdout == nil && (o.sinceCkpt >= o.cfg.CheckpointLines || time.Since(o.lastCkpt) >= o.cfg.CheckpointInterval) {
		if err := o.writeCheckpoint(false); err != nil {
			o.failLocked(err)
		}
	}
	return nil
}

func (o *Ordered) failLocked(err error) {
	if o.fatal != nil {
		return
	}
	o.fatal = fmt.Errorf("sink: %w", err)
	o.pending = map[int64]qe.Record{}
	o.cond.Broadcast()
	if o.cfg.OnFatal != nil {
		o.cfg.OnFatal(o.fatal)
	}
}

// Progress returns how many records were written in order, over the whole
// run (a resumed run counts the lines before its checkpoint), and the fatal
// write error that stopped the output, if any.
func (o *Ordered) Progress() (written int64, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.next, o.fatal
}

// Err returns the fatal write error, if any.
func (o *Ordered) Err() error {
	_, err := o.Progress()
	return err
}

// Written returns how many records were written in order (Progress).
func (o *Ordered) Written() int64 {
	n, _ := o.Progress()
	return n
}

// Summary returns a copy of the counters of the written lines.
func (o *Ordered) Summary() Summary {
	o.mu.Lock()
	defer o.mu.Unlock()
	b, _ := json.Marshal(o.summary)
	var s Summary
	_ = json.Unmarshal(b, &s)
	return s
}

// writeOne writes a record to its route file and the annotated stream.
func (o *Ordered) writeOne(r qe.Record) error {
	annotated := annotate(r)
	o.summary.add(r)
	if o.stdout != nil {
		return o.stdout.line(annotated)
	}
	routeLine := annotated // a dead letter's route line says why, as its annotation
	if r.Route != qe.RouteDeadLetter {
		routeLine = routeValue(r)
	}
	rf, err := o.file(r.Topic)
	if err != nil {
		return err
	}
	if err := rf.line(routeLine); err != nil {
		return err
	}
	af, err := o.file(AnnotatedFile)
	if err != nil {
		return err
	}
	return af.line(annotated)
}

// MarkComplete tells Close that the whole input was read and written, so
// it compresses the outputs and marks the checkpoint complete.
func (o *Ordered) MarkComplete() {
	o.mu.Lock()
	o.complete = true
	o.mu.Unlock()
}

// Close writes what is buffered and a last checkpoint (a complete one,
// after compressing the outputs, when MarkComplete was called and nothing
// failed), then closes every file. After a fatal error it only closes.
func (o *Ordered) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	if o.stdout != nil {
		err := o.fatal
		if err == nil {
			err = o.stdout.flush()
		}
		if c, ok := o.stdout.w.(io.Closer); ok && err == nil {
			err = c.Close() // the compressor's trailer
		}
		if err != nil && o.fatal == nil {
			o.fatal = fmt.Errorf("sink: %w", err)
		}
		return o.fatal
	}
	var err error
	if o.fatal == nil {
		err = o.writeCheckpoint(false)
		if err == nil && o.complete {
			err = o.finish()
		}
		if err != nil {
			o.fatal = fmt.Errorf("sink: %w", err)
		}
	}
	for _, f := range o.files {
		if cerr := f.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("sink: close %s: %w", f.name, cerr)
		}
	}
	if o.fatal != nil {
		return o.fatal
	}
	return err
}
