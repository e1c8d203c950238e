package source

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/pipeline"
)

// FileConfig configures a File source. The zero value reads nothing.
type FileConfig struct {
	// Paths are the files to read, in order; "-" is standard input. Gzip
	// and zstd files are decompressed transparently, recognised by their
	// magic bytes whatever their name.
	Paths []string
	// Format is "jsonl" (one message-contract object per line) or "tsv".
	// Empty: by extension (after .gz/.zst), .tsv and .txt are TSV, .jsonl
	// and .json JSONL; anything else, and standard input, by the first
	// line: JSONL when it starts with "{", else TSV.
	Format string
	// Columns names the TSV columns in order: "src" and "mt" are the pair,
	// any other name becomes a field of that name, "-" drops a column.
	// Empty: an MLQE-PE style header line naming "original" and
	// "translation" picks them (every other header names its column);
	// without a header src<TAB>mt, and extra columns become col3, col4, ...
	Columns []string
	// SrcLang and TgtLang are the languages of TSV lines. Empty: from a
	// language pair in the file name (en-de.tsv, corpus.en-de.tsv.gz).
	SrcLang, TgtLang string
	// MaxLineBytes dead-letters longer lines without holding them in
	// memory (the dead letter keeps their first 1 KiB). Zero means 1 MiB,
	// the default input.max_message_bytes.
	MaxLineBytes int
	// Shard splits the input between machines without coordination: line
	// g (0-based, counted across all Paths in order) is read here when
	// g % Shard.Count == Shard.Index. The zero value reads every line.
	Shard Shard
	// Start resumes a run: lines up to and including Start are skipped
	// (re-read and counted, not fed). The zero value starts at the top.
	Start qe.InputPos
}

// Shard is one of Count slices of an input; see FileConfig.Shard.
type Shard struct {
	Index, Count int
}

// ParseShard parses "i/N" (0 <= i < N).
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("source: file: shard %q: want i/N with 0 <= i < N, e.g. 0/4", s)
	}
	return Shard{Index: i, Count: n}, nil
}

func (s Shard) keep(global int64) bool {
	return s.Count <= 1 || global%int64(s.Count) == int64(s.Index)
}

// Window admits each line before it is fed: the ordered file sink uses it
// to bound how far reading runs ahead of in-order writing (its reorder
// window) and to learn each sequence number's input position for its
// checkpoint. Admit blocks until seq may be fed, or fails when ctx ends
// or the sink has failed for good.
type Window interface {
	Admit(ctx context.Context, seq int64, pos qe.InputPos) error
}

// File reads JSONL or TSV files line by line into the pipeline: the batch
// counterpart of Kafka, for corpus cleaning and backfills. A line's origin is
// path:0:line, so dead letters and outputs name the line they came from; its
// Seq counts fed lines in input order, so an ordered sink can restore it.
//
// It implements pipeline.Source: Run returns once every line is acked (or
// at the drain deadline after stop), and Fed, BytesRead and Complete may be called
// concurrently with it.
type File struct {
	cfg    FileConfig
	dec    *pipeline.Decoder
	log    *slog.Logger
	window Window

	fed      atomic.Int64
	read     atomic.Int64 // compressed bytes read from all inputs, for progress
	eof      atomic.Bool
	mu       sync.Mutex
	trackers []*Tracker
}

// NewFile returns a File source; log and window may be nil (nil window: no
// reorder window). Language pairs that a TSV file's name must give are
// checked now, so a misnamed file fails before any line is read.
func NewFile(cfg FileConfig, dec *pipeline.Decoder, log *slog.Logger, window Window) (*File, error) {
	if log == nil {
		log = slog.Default()
	}
	switch cfg.Format {
	case "", "jsonl", "tsv":
	default:
		return nil, fmt.Errorf("source: file: format %q: want jsonl or tsv", cfg.Format)
	}
	if cfg.MaxLineBytes <= 0 {
		cfg.MaxLineBytes = pipeline.DefaultDecoderConfig().MaxBytes
	}
	if len(cfg.Columns) > 0 {
		if indexOf(cfg.Columns, "src") < 0 || indexOf(cfg.Columns, "mt") < 0 {
			return nil, fmt.Errorf("source: file: columns %q: want both src and mt", strings.Join(cfg.Columns, ","))
		}
	}
	stdin := 0
	for _, p := range cfg.Paths {
		if p == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return nil, errors.New("source: file: standard input (-) given more than once")
	}
	f := &File{cfg: cfg, dec: dec, log: log, window: window}
	for _, p := range cfg.Paths {
		if p != "-" {
			if _, err := os.Stat(p); err != nil {
				return nil, fmt.Errorf("source: file: %w", err)
			}
		}
		if f.extFormat(p) == "jsonl" {
			continue
		}
		if _, _, err := f.langs(p); err != nil && f.extFormat(p) == "tsv" {
			return nil, err
		}
	}
	return f, nil
}

// Fed returns how many lines were handed to the pipeline so far.
func (f *File) Fed() int { return int(f.fed.Load()) }

// BytesRead returns how many bytes (as stored, compressed or not) were read
// from the input files so far, for progress against their sizes.
func (f *File) BytesRead() int64 { return f.read.Load() }

// Complete reports whether every input was read to its end.
func (f *File) Complete() bool { return f.eof.Load() }

// extFormat is the format the configuration or the file name gives; ""
// means decide from the first line.
func (f *File) extFormat(path string) string {
	if f.cfg.Format != "" {
		return f.cfg.Format
	}
	switch strings.ToLower(filepath.Ext(trimCompressionExt(path))) {
	case ".tsv", ".txt":
		return "tsv"
	case ".jsonl", ".json", ".ndjson":
		return "jsonl"
	}
	return ""
}

func trimCompressionExt(path string) string {
	for _, ext := range []string{".gz", ".zst", ".zstd"} {
		if strings.HasSuffix(strings.ToLower(path), ext) {
			return path[:len(path)-len(ext)]
		}
	}
	return path
}

// langPairName finds a language pair among the dot-separated parts of a
// file name: en-de.tsv, corpus.en-de.tsv, wmt20.pt_br-en.txt.
var langPairName = regexp.MustCompile(`^([A-Za-z]{2,3}(?:_[A-Za-z0-9]{2,8})?)-([A-Za-z]{2,3}(?:_[A-Za-z0-9]{2,8})?)$`)

func (f *File) langs(path string) (string, string, error) {
	if f.cfg.SrcLang != "" && f.cfg.TgtLang != "" {
		return f.cfg.SrcLang, f.cfg.TgtLang, nil
	}
	if path != "-" {
		parts := strings.Split(filepath.Base(trimCompressionExt(path)), ".")
		for i := len(parts) - 1; i >= 0; i-- {
			if m := langPairName.FindStringSubmatch(parts[i]); m != nil {
				return m[1], m[2], nil
			}
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
	seq := f.cfg.Start.Seq
	global := f.cfg.Start.Global
	complete := true
	for i, p := range f.cfg.Paths {
		if i < f.cfg.Start.File {
			continue
		}
		if stop.Err() != nil {
			complete = false
			break
		}
		var skip int64
		if i == f.cfg.Start.File {
			skip = f.cfg.Start.Line
		}
		ok, err := f.feed(stop, i, p, skip, &seq, &global, out)
		if err != nil {
			readErr = err
		}
		if err != nil || !ok {
			complete = false
			break
		}
	}
	f.eof.Store(complete && readErr == nil)
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

// countingReader counts bytes as stored on disk, for progress.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// tsvLayout maps TSV columns to fields.
type tsvLayout struct {
	names []string // per column: "src", "mt", a field name, or "-"
}

func (l tsvLayout) name(i int) string {
	if i < len(l.names) {
		return l.names[i]
	}
	return "col" + strconv.Itoa(i+1)
}

func defaultLayout() tsvLayout { return tsvLayout{names: []string{"src", "mt"}} }

// headerLayout recognises an MLQE-PE style header (columns "original" and
// "translation"); every other column keeps its header name.
func headerLayout(cols []string) (tsvLayout, bool) {
	if indexOf(cols, "original") < 0 || indexOf(cols, "translation") < 0 {
		return tsvLayout{}, false
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		switch c {
		case "original":
			names[i] = "src"
		case "translation":
			names[i] = "mt"
		case "src", "mt", "src_lang", "tgt_lang", "line", "":
			names[i] = "col" + strconv.Itoa(i+1) // never shadow the pair's own fields
		default:
			names[i] = c
		}
	}
	return tsvLayout{names: names}, true
}

// feed reads one input. ok is false when it stopped early (stop, or the
// window refused); err is a read error.
func (f *File) feed(stop context.Context, idx int, path string, skip int64, seq, global *int64, out chan<- *pipeline.Item) (bool, error) {
	var raw io.Reader = os.Stdin
	if path != "-" {
		fh, err := os.Open(path)
		if err != nil {
			return false, fmt.Errorf("source: file: %w", err)
		}
		defer fh.Close()
		raw = fh
	}
	r, closeDec, err := Decompress(countingReader{r: raw, n: &f.read})
	if err != nil {
		return false, fmt.Errorf("source: file %s: %w", path, err)
	}
	defer closeDec()
	br := bufio.NewReaderSize(r, 1<<20)
	format := f.extFormat(path)
	if format == "" {
		peek, _ := br.Peek(64)
		if len(bytes.TrimLeft(peek, " \t\r\n\ufeff")) > 0 && bytes.TrimLeft(peek, " \t\r\n\ufeff")[0] == '{' {
			format = "jsonl"
		} else {
			format = "tsv"
		}
	}
	tsv := format == "tsv"
	var srcLang, tgtLang string
	if tsv {
		if srcLang, tgtLang, err = f.langs(path); err != nil {
			return false, err
		}
	}
	tr := NewTracker()
	f.mu.Lock()
	f.trackers = append(f.trackers, tr)
	f.mu.Unlock()
	layout := defaultLayout()
	if len(f.cfg.Columns) > 0 {
		layout = tsvLayout{names: f.cfg.Columns}
	}
	for line := int64(1); ; line++ {
		b, long, err := readLine(br, f.cfg.MaxLineBytes)
		if err != nil && !errors.Is(err, io.EOF) {
			return false, fmt.Errorf("source: file: read %s line %d: %w", path, line, err)
		}
		if b == nil && long == 0 && errors.Is(err, io.EOF) {
			return true, nil
		}
		if line <= skip {
			if errors.Is(err, io.EOF) {
				return true, nil
			}
			if line == 1 && tsv && len(f.cfg.Columns) == 0 {
				if l, ok := headerLayout(strings.Split(string(b), "\t")); ok {
					layout = l
				}
			}
			continue // the resumed run's global and seq counters already cover it
		}
		g := *global
		*global++
		if tsv && line == 1 && len(f.cfg.Columns) == 0 && long == 0 && utf8.Valid(b) {
			if l, ok := headerLayout(strings.Split(string(b), "\t")); ok {
				layout = l
				if errors.Is(err, io.EOF) {
					return true, nil
				}
				continue // a header is not a pair; it still counts for sharding
			}
		}
		if !f.cfg.Shard.keep(g) {
			if errors.Is(err, io.EOF) {
				return true, nil
			}
			continue // another shard's line: not even parsed
		}
		var value []byte
		var lineErr error
		switch {
		case long > 0:
			lineErr = &pipeline.InputError{Reason: fmt.Sprintf("line too long: %d bytes > limit %d", long, f.cfg.MaxLineBytes)}
			value = b
		case tsv && utf8.Valid(b):
			// Invalid UTF-8 stays raw, so the decoder dead-letters it
			// instead of json.Marshal silently replacing the bytes.
			value = tsvValue(strings.Split(string(b), "\t"), layout, line, srcLang, tgtLang)
		default:
			value = b
		}
		pos := qe.InputPos{File: idx, Line: line, Global: g + 1, Seq: *seq + 1}
		if f.window != nil {
			if err := f.window.Admit(stop, *seq, pos); err != nil {
				return false, nil // stop, or the sink failed and says why itself
			}
		}
		it := pipeline.NewItem(pipeline.Origin{Topic: path, Offset: line}, nil, value, nil, tr.Add(line), nil)
		it.Seq = *seq
		if lineErr != nil {
			it.Err = lineErr
		} else {
			f.dec.Decode(it)
		}
		select {
		case out <- it:
			*seq++
			f.fed.Add(1)
		case <-stop.Done():
			tr.Cancel(line)
			return false, nil
		}
		if errors.Is(err, io.EOF) {
			return true, nil
		}
	}
}

// tsvValue turns TSV columns into a message-contract object; extra columns
// keep their values under their names so that nothing of the line is lost.
// A line with too few columns lacks src or mt and is dead-lettered.
func tsvValue(cols []string, layout tsvLayout, line int64, srcLang, tgtLang string) []byte {
	// Field order is fixed (encoding/json sorts map keys), so outputs are
	// deterministic.
	obj := map[string]any{"line": line, "src_lang": srcLang, "tgt_lang": tgtLang}
	for i, c := range cols {
		name := layout.name(i)
		if name == "-" {
			continue
		}
		obj[name] = c
	}
	value, _ := json.Marshal(obj) // valid strings and an int: cannot fail
	return value
}

// readLine returns the next line without its end of line. A line longer
// than max is consumed without being held: b is its first 1 KiB and long
// its length. At the end of input err is io.EOF, with the last unterminated
// line (if any) in b; b is nil when nothing was left.
func readLine(br *bufio.Reader, max int) (b []byte, long int, err error) {
	var buf, last []byte
	total := 0 // bytes of the line, its end of line included
	over := false
	for {
		chunk, rerr := br.ReadSlice('\n')
		total += len(chunk)
		last = chunk
		if !over {
			buf = append(buf, chunk...)
			if len(buf) > max+2 { // +2: a CRLF does not count
				over = true
				buf = buf[:min(len(buf), 1024)]
			}
		}
		if errors.Is(rerr, bufio.ErrBufferFull) {
			continue
		}
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return nil, 0, rerr
		}
		if total == 0 {
			return nil, 0, io.EOF
		}
		if n := total - eolLen(last); over || n > max {
			keep := trimEOL(buf)
			return keep[:min(len(keep), 1024)], n, rerr
		}
		return trimEOL(buf), 0, rerr
	}
}

func eolLen(chunk []byte) int { return len(chunk) - len(trimEOL(chunk)) }

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
