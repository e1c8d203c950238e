package source

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/qegate/qegate/pipeline"
)

// FileConfig configures a File source. The zero value reads nothing.
type FileConfig struct {
	// Paths are the files to read, in order; "-" is standard input.
	Paths []string
	// Format is "jsonl" (one message-contract object per line) or "tsv"
	// (src<TAB>mt, or an MLQE-PE style header naming the columns
	// "original" and "translation"). Empty: by extension, .tsv and .txt
	// are TSV, anything else JSONL.
	Format string
	// SrcLang and TgtLang are the languages of TSV lines. Empty: from a
	// language pair in the file name (en-de.tsv, corpus.en-de.tsv).
	SrcLang, TgtLang string
}

// File reads JSONL or TSV files line by line into the pipeline: the batch
// counterpart of Kafka, for corpus cleaning and backfills. A line's origin is
// path:0:line, so dead letters and outputs name the line they came from.
//
// It implements pipeline.Source: Run returns once every line is acked (or
// at the drain deadline after stop), and Fed and Done may be called
// concurrently with it.
type File struct {
	cfg FileConfig
	dec *pipeline.Decoder
	log *slog.Logger

	mu       sync.Mutex
	fed      int
	trackers []*Tracker
}

// NewFile returns a File source; log may be nil. Language pairs that a TSV
// file's name must give are checked now, so a misnamed file fails before
// any line is read.
func NewFile(cfg FileConfig, dec *pipeline.Decoder, log *slog.Logger) (*File, error) {
	if log == nil {
		log = slog.Default()
	}
	switch cfg.Format {
	case "", "jsonl", "tsv":
	default:
		return nil, fmt.Errorf("source: file: format %q: want jsonl or tsv", cfg.Format)
	}
	f := &File{cfg: cfg, dec: dec, log: log}
	for _, p := range cfg.Paths {
		if f.format(p) != "tsv" {
			continue
		}
		if _, _, err := f.langs(p); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Fed returns how many lines were handed to the pipeline so far.
func (f *File) Fed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fed
}

func (f *File) format(path string) string {
	if f.cfg.Format != "" {
		return f.cfg.Format
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".tsv", ".txt":
		return "tsv"
	}
	return "jsonl"
}

// langPairName finds a language pair among the dot-separated parts of a
// file name: en-de.tsv, corpus.en-de.tsv, wmt20.pt_br-en.txt.
var langPairName = regexp.MustCompile(`^([A-Za-z]{2,3}(?:_[A-Za-z0-9]{2,8})?)-([A-Za-z]{2,3}(?:_[A-Za-z0-9]{2,8})?)$`)

func (f *File) langs(path string) (string, string, error) {
	if f.cfg.SrcLang != "" && f.cfg.TgtLang != "" {
		return f.cfg.SrcLang, f.cfg.TgtLang, nil
	}
	parts := strings.Split(filepath.Base(path), ".")
	for i := len(parts) - 1; i >= 0; i-- {
		if m := langPairName.FindStringSubmatch(parts[i]); m != nil {
			return m[1], m[2], nil
		}
	}
	return "", "", fmt.Errorf("source: file %s: TSV needs languages: pass them (--src-lang, --tgt-lang) or name the file like en-de.tsv", path)
}

// Run feeds every line of every file, then waits for all of them to be
// acked; on stop it stops reading and waits at most drain. It returns the
// lines left unacked and the first read error, which ends the run (lines
// fed before it are still drained).
func (f *File) Run(stop context.Context, drain time.Duration, out chan<- *pipeline.Item) (int, error) {
	var readErr error
	for _, p := range f.cfg.Paths {
		if stop.Err() != nil {
			break
		}
		if err := f.feed(stop, p, out); err != nil {
			readErr = err
			break
		}
	}
	return f.wait(stop, drain), readErr
}

// wait blocks until every tracker is idle, or drain after stop.
func (f *File) wait(stop context.Context, drain time.Duration) int {
	f.mu.Lock()
	trs := append([]*Tracker(nil), f.trackers...)
	f.mu.Unlock()
	deadline, cancel := stopAfter(stop, drain)
	defer cancel()
	dropped := 0
	for _, tr := range trs {
		select {
		case <-tr.Idle():
		case <-deadline.Done():
		}
		dropped += tr.Close()
	}
	if dropped > 0 {
		f.log.Warn("source: file: stopped with lines in flight", "in_flight", dropped)
	}
	return dropped
}

func (f *File) feed(stop context.Context, path string, out chan<- *pipeline.Item) error {
	var r io.Reader = os.Stdin
	if path != "-" {
		fh, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("source: file: %w", err)
		}
		defer fh.Close()
		r = fh
	}
	tsv := f.format(path) == "tsv"
	var srcLang, tgtLang string
	if tsv {
		var err error
		if srcLang, tgtLang, err = f.langs(path); err != nil {
			return err
		}
	}
	tr := NewTracker()
	f.mu.Lock()
	f.trackers = append(f.trackers, tr)
	f.mu.Unlock()
	br := bufio.NewReaderSize(r, 1<<20)
	srcCol, mtCol := 0, 1
	for line := int64(1); ; line++ {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			b = trimEOL(b)
			value := b
			if tsv && utf8.Valid(b) {
				// Invalid UTF-8 stays raw, so the decoder dead-letters it
				// instead of json.Marshal silently replacing the bytes.
				cols := strings.Split(string(b), "\t")
				if line == 1 {
					if i, j := indexOf(cols, "original"), indexOf(cols, "translation"); i >= 0 && j >= 0 {
						srcCol, mtCol = i, j // an MLQE-PE style header
						continue
					}
				}
				obj := map[string]any{"line": line, "src_lang": srcLang, "tgt_lang": tgtLang}
				if len(cols) > srcCol && len(cols) > mtCol {
					obj["src"], obj["mt"] = cols[srcCol], cols[mtCol]
				}
				value, _ = json.Marshal(obj) // valid strings and an int: cannot fail
			}
			it := pipeline.NewItem(pipeline.Origin{Topic: path, Offset: line}, nil, value, nil, tr.Add(line), nil)
			f.dec.Decode(it)
			select {
			case out <- it:
				f.mu.Lock()
				f.fed++
				f.mu.Unlock()
			case <-stop.Done():
				tr.Cancel(line)
				return nil
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("source: file: read %s: %w", path, err)
		}
	}
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func indexOf(cols []string, name string) int {
	for i, c := range cols {
		if c == name {
			return i
		}
	}
	return -1
}
