package sink

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
)

// File writes records as JSON lines, one file per destination name, under a
// directory: the corpus-cleaning and backfill counterpart of the Kafka sink.
// Each line is the record value when it is a JSON object, else an envelope
// {"value_b64": ..., "headers": {...}} so nothing is lost (dead letters
// often are not JSON).
type File struct {
	dir string

	mu    sync.Mutex
	files map[string]*fileOut
}

type fileOut struct {
	f *os.File
	w *bufio.Writer
}

// safeName keeps destination names from escaping the output directory.
var safeName = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// NewFile returns a file sink writing into dir, which is created if needed.
func NewFile(dir string) (*File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sink: file: %w", err)
	}
	return &File{dir: dir, files: map[string]*fileOut{}}, nil
}

// Path returns the file a destination name is written to.
func (s *File) Path(topic string) string {
	return filepath.Join(s.dir, safeName.ReplaceAllString(topic, "_")+".jsonl")
}

// Write appends recs and flushes, so a returned nil means the lines reached
// the OS.
func (s *File) Write(ctx context.Context, recs []Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	touched := map[*fileOut]bool{}
	for _, r := range recs {
		out, err := s.open(r.Topic)
		if err != nil {
			return err
		}
		line := r.Value
		if !json.Valid(line) || len(line) == 0 || line[0] != '{' {
			env := map[string]any{"value_b64": base64.StdEncoding.EncodeToString(r.Value)}
			hs := map[string]string{}
			for _, h := range r.Headers {
				hs[h.Key] = string(h.Value)
			}
			env["headers"] = hs
			if line, err = json.Marshal(env); err != nil {
				return fmt.Errorf("sink: file: encode envelope: %w", err)
			}
		}
		if _, err := out.w.Write(line); err != nil {
			return fmt.Errorf("sink: file: write %s: %w", r.Topic, err)
		}
		if err := out.w.WriteByte('\n'); err != nil {
			return fmt.Errorf("sink: file: write %s: %w", r.Topic, err)
		}
		touched[out] = true
	}
	for out := range touched {
		if err := out.w.Flush(); err != nil {
			return fmt.Errorf("sink: file: flush: %w", err)
		}
	}
	return nil
}

func (s *File) open(topic string) (*fileOut, error) {
	if out, ok := s.files[topic]; ok {
		return out, nil
	}
	f, err := os.OpenFile(s.Path(topic), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sink: file: %w", err)
	}
	out := &fileOut{f: f, w: bufio.NewWriterSize(f, 64<<10)}
	s.files[topic] = out
	return out, nil
}

// Close flushes, syncs and closes every file.
func (s *File) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for _, out := range s.files {
		if err := out.w.Flush(); err != nil && first == nil {
			first = err
		}
		if err := out.f.Sync(); err != nil && first == nil {
			first = err
		}
		if err := out.f.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.files = map[string]*fileOut{}
	if first != nil {
		return fmt.Errorf("sink: file close: %w", first)
	}
	return nil
}
