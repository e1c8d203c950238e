package sink

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// outFile is one output. Lines are buffered whole and written whole, so
// after a failed write the file can be cut back to a line boundary.
type outFile struct {
	name    string
	f       *os.File  // nil for stdout
	w       io.Writer // f, or stdout
	buf     []byte
	flushed int64 // bytes in the file
}

func (o *outFile) line(b []byte) error {
	o.buf = append(o.buf, b...)
	o.buf = append(o.buf, '\n')
	if len(o.buf) >= 256<<10 {
		return o.flush()
	}
	return nil
}

func (o *outFile) flush() error {
	if len(o.buf) == 0 {
		return nil
	}
	n, err := o.w.Write(o.buf)
	if err != nil {
		if o.f != nil {
			// Drop the torn tail: the file ends with its last whole line.
			_ = o.f.Truncate(o.flushed)
			_, _ = o.f.Seek(o.flushed, io.SeekStart)
		}
		return fmt.Errorf("write %s: %w", o.name, err)
	}
	o.flushed += int64(n)
	o.buf = o.buf[:0]
	return nil
}

func (o *Ordered) file(route string) (*outFile, error) {
	if f, ok := o.files[route]; ok {
		return f, nil
	}
	name := safeName.ReplaceAllString(route, "_") + ".jsonl"
	f, err := os.OpenFile(filepath.Join(o.cfg.Dir, name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	out := &outFile{name: name, f: f, w: f}
	o.files[route] = out
	return out, nil
}

// isOutputName reports whether a file in the output directory is one an
// Ordered sink writes (so --force and --resume may remove it).
func isOutputName(name string) bool {
	if name == CheckpointFile || name == CheckpointFile+".tmp" {
		return true
	}
	for _, ext := range []string{".jsonl", ".jsonl.gz", ".jsonl.zst", ".jsonl.gz.tmp", ".jsonl.zst.tmp"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// safeName keeps route names from escaping the output directory.
var safeName = regexp.MustCompile(`[^A-Za-z0-9._-]`)
