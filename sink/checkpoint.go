package sink

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/qegate/qegate/internal/qe"
)

// CheckpointFile is the checkpoint's name in the output directory.
const CheckpointFile = ".qegate-checkpoint.json"

// Checkpoint is the durable state of a filter run: every output's length
// once the lines up to Pos were flushed and fsynced.
type Checkpoint struct {
	Version     int              `json:"version"`
	Fingerprint string           `json:"fingerprint"`
	Inputs      []string         `json:"inputs"`
	Pos         qe.InputPos      `json:"pos"`
	Outputs     map[string]int64 `json:"outputs"`
	Summary     Summary          `json:"summary"`
	// Complete is set once every input was read to its end, every line
	// written and the outputs compressed: a resume has nothing to do.
	Complete bool `json:"complete"`
}

func (o *Ordered) resume() (Checkpoint, error) {
	var ck Checkpoint
	b, err := os.ReadFile(filepath.Join(o.cfg.Dir, CheckpointFile))
	if errors.Is(err, os.ErrNotExist) {
		return ck, fmt.Errorf("sink: --resume: no checkpoint in %s: nothing to resume (run without --resume, or with --force to start over)", o.cfg.Dir)
	}
	if err != nil {
		return ck, fmt.Errorf("sink: --resume: %w", err)
	}
	if err := json.Unmarshal(b, &ck); err != nil {
		return ck, fmt.Errorf("sink: --resume: checkpoint %s: %w", CheckpointFile, err)
	}
	if ck.Fingerprint != o.cfg.Fingerprint {
		return ck, fmt.Errorf("sink: --resume: the model, thresholds, routes or input options differ from the interrupted run's (fingerprint %.12s, now %.12s): its outputs would not match; rerun with --force", ck.Fingerprint, o.cfg.Fingerprint)
	}
	if strings.Join(ck.Inputs, "\x00") != strings.Join(o.cfg.Inputs, "\x00") {
		return ck, fmt.Errorf("sink: --resume: inputs %q differ from the interrupted run's %q", o.cfg.Inputs, ck.Inputs)
	}
	entries, err := os.ReadDir(o.cfg.Dir)
	if err != nil {
		return ck, fmt.Errorf("sink: --resume: %w", err)
	}
	if ck.Complete {
		// Finish compressed every output before marking the checkpoint
		// complete; plain leftovers are what it did not get to remove.
		if o.cfg.Compress != "" {
			for name := range ck.Outputs {
				_ = os.Remove(filepath.Join(o.cfg.Dir, name))
			}
		}
		o.summary = ck.Summary
		return ck, nil
	}
	for _, e := range entries {
		name := e.Name()
		if _, ok := ck.Outputs[name]; ok || name == CheckpointFile || !isOutputName(name) {
			continue
		}
		// Written after the checkpoint (or a compression Finish did not
		// complete): the resumed run writes it again.
		if err := os.Remove(filepath.Join(o.cfg.Dir, name)); err != nil {
			return ck, fmt.Errorf("sink: --resume: %w", err)
		}
	}
	for name, size := range ck.Outputs {
		p := filepath.Join(o.cfg.Dir, name)
		f, err := os.OpenFile(p, os.O_WRONLY, 0o644)
		if err != nil {
			return ck, fmt.Errorf("sink: --resume: output %s: %w", name, err)
		}
		st, err := f.Stat()
		if err == nil && st.Size() < size {
			err = fmt.Errorf("%d bytes, shorter than the checkpoint's %d: it was changed since", st.Size(), size)
		}
		if err == nil {
			err = f.Truncate(size) // drops what was written after the checkpoint, a torn line included
		}
		if err == nil {
			_, err = f.Seek(size, io.SeekStart)
		}
		if err != nil {
			f.Close()
			return ck, fmt.Errorf("sink: --resume: output %s: %w", name, err)
		}
		o.files[strings.TrimSuffix(name, ".jsonl")] = &outFile{name: name, f: f, w: f, flushed: size}
	}
	o.next, o.last, o.summary, o.resumed = ck.Pos.Seq, ck.Pos, ck.Summary, true
	if o.summary.Routes == nil {
		o.summary = newSummary()
	}
	return ck, nil
}

// writeCheckpoint flushes and fsyncs every output, then replaces the
// checkpoint atomically (temp file, fsync, rename, fsync of the directory).
func (o *Ordered) writeCheckpoint(complete bool) error {
	ck := Checkpoint{Version: 1, Fingerprint: o.cfg.Fingerprint, Inputs: o.cfg.Inputs, Pos: o.last,
		Outputs: map[string]int64{}, Summary: o.summary, Complete: complete}
	names := make([]string, 0, len(o.files))
	for k := range o.files {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		f := o.files[k]
		if err := f.flush(); err != nil {
			return err
		}
		if err := f.f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", f.name, err)
		}
		ck.Outputs[f.name] = f.flushed
	}
	b, err := json.MarshalIndent(ck, "", " ")
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	if err := writeAtomic(o.cfg.Dir, CheckpointFile, b); err != nil {
		return err
	}
	o.sinceCkpt, o.lastCkpt = 0, time.Now()
	return nil
}

func writeAtomic(dir, name string, b []byte) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

// finish compresses every output (when configured), marks the checkpoint
// complete, then removes the plain outputs. Every step can be interrupted:
// a resume before the complete checkpoint redoes the compression from the
// plain files; one after it only removes leftovers.
func (o *Ordered) finish() error {
	if o.cfg.Compress != "" {
		for _, f := range o.files {
			if err := compressFile(o.cfg.Dir, f.name, o.cfg.Compress); err != nil {
				return err
			}
		}
		if err := syncDir(o.cfg.Dir); err != nil {
			return err
		}
	}
	if err := o.writeCheckpoint(true); err != nil {
		return err
	}
	if o.cfg.Compress != "" {
		for _, f := range o.files {
			if err := os.Remove(filepath.Join(o.cfg.Dir, f.name)); err != nil {
				return fmt.Errorf("remove %s: %w", f.name, err)
			}
		}
	}
	return nil
}
