package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/qegate/qegate/internal/qe"
)

// rec builds the record the router would produce for line seq: every 7th
// a dead letter, the rest scored with a score from the line number.
func rec(seq int64) qe.Record {
	src := fmt.Sprintf("in.tsv:0:%d", seq+1)
	if seq%7 == 3 {
		v := []byte(fmt.Sprintf(`{"src":"s%d","src_lang":"en","tgt_lang":"de"}`, seq))
		lp := "en-de"
		if seq%2 == 0 {
			v, lp = []byte(fmt.Sprintf("not json %d\xff", seq)), "" // neither JSON nor UTF-8
		}
		reason := `missing field "mt"`
		return qe.Record{Topic: "dead_letter", Seq: seq, Value: v, Input: v, Route: qe.RouteDeadLetter, LangPair: lp,
			Verdict: qe.Verdict{Route: "dead_letter", Reason: reason, Source: src},
			Headers: []qe.Header{{Key: qe.HeaderError, Value: []byte(reason)}, {Key: qe.HeaderSource, Value: []byte(src)}}}
	}
	score := float64(seq%10) / 10
	route, r := "accepted", qe.RouteAccepted
	if score < 0.5 {
		route, r = "rejected", qe.RouteRejected
	}
	in := fmt.Sprintf(`{"src":"s%d","mt":"m","src_lang":"en","tgt_lang":"de"}`, seq)
	verdict := qe.Verdict{Score: json.Number(fmt.Sprintf("%.6f", score)), Route: route}
	v, err := verdict.AddTo([]byte(in))
	if err != nil {
		panic(err)
	}
	verdict.Source = src
	return qe.Record{Topic: route, Seq: seq, Value: v, Input: []byte(in), Route: r, LangPair: "en-de",
		Scored: true, Score: score, Verdict: verdict,
		Headers: []qe.Header{{Key: qe.HeaderScore, Value: []byte(fmt.Sprintf("%.6f", score))}, {Key: qe.HeaderSource, Value: []byte(src)}}}
}

// feed admits seqs [from, to) and writes them from several goroutines in
// shuffled batches, as the engine's workers would.
func feed(t *testing.T, o *Ordered, from, to int64, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	var seqs []int64
	for s := from; s < to; s++ {
		seqs = append(seqs, s)
	}
	var wg sync.WaitGroup
	work := make(chan []qe.Record)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				if err := o.Write(context.Background(), b); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	// Batches of up to 5 consecutive seqs, handed out of order within a
	// window smaller than the sink's.
	for i := 0; i < len(seqs); {
		n := min(1+r.IntN(5), len(seqs)-i)
		var batch []qe.Record
		for _, s := range seqs[i : i+n] {
			if err := o.Admit(context.Background(), s, qe.InputPos{File: 0, Line: s + 1, Global: s + 1, Seq: s + 1}); err != nil {
				t.Fatal(err)
			}
			batch = append(batch, rec(s))
		}
		i += n
		work <- batch
	}
	close(work)
	wg.Wait()
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == CheckpointFile {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func open(t *testing.T, cfg OrderedConfig) (*Ordered, qe.InputPos) {
	t.Helper()
	if cfg.Fingerprint == "" {
		cfg.Fingerprint = "fp"
	}
	cfg.Inputs = []string{"in.tsv"}
	o, start, done, err := OpenOrdered(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if done {
		t.Fatal("fresh run reported complete")
	}
	return o, start
}

// TestOrderedInputOrder writes 500 records out of order from four
// goroutines: annotated.jsonl has every line once, in input order, the
// route files their lines in order, and dead letters keep their reason.
func TestOrderedInputOrder(t *testing.T) {
	dir := t.TempDir()
	o, _ := open(t, OrderedConfig{Dir: dir, Window: 16})
	feed(t, o, 0, 500, 1)
	o.MarkComplete()
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	files := readDir(t, dir)
	ann := strings.Split(strings.TrimSuffix(string(files["annotated.jsonl"]), "\n"), "\n")
	if len(ann) != 500 {
		t.Fatalf("annotated has %d lines, want 500", len(ann))
	}
	routes := map[string]int{}
	for i, line := range ann {
		var obj struct {
			Src string `json:"src"`
			QE  struct {
				Route, Reason, Source string
			} `json:"qe"`
			Value, ValueB64 string
		}
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, line)
		}
		r := rec(int64(i))
		routes[r.Topic]++
		if r.Topic == "dead_letter" {
			if obj.QE.Reason != `missing field "mt"` || obj.QE.Source != fmt.Sprintf("in.tsv:0:%d", i+1) {
				t.Fatalf("line %d: dead letter without its reason or source: %s", i, line)
			}
			continue
		}
		if obj.Src != fmt.Sprintf("s%d", i) || obj.QE.Source != fmt.Sprintf("in.tsv:0:%d", i+1) || obj.QE.Route != r.Topic {
			t.Fatalf("line %d out of order or without its source and route: %s", i, line)
		}
	}
	for route, n := range routes {
		got := bytes.Count(files[route+".jsonl"], []byte("\n"))
		if got != n {
			t.Fatalf("%s.jsonl has %d lines, want %d", route, got, n)
		}
	}
	s := o.Summary()
	if s.Lines != 500 || s.Routes["dead_letter"] != int64(routes["dead_letter"]) || s.ByLangPair["en-de"] == nil {
		t.Fatalf("summary %+v", s)
	}
	var hist int64
	for _, n := range s.Histogram {
		hist += n
	}
	if hist != 500-int64(routes["dead_letter"]) {
		t.Fatalf("histogram counts %d scores, want %d", hist, 500-routes["dead_letter"])
	}
}

// TestOrderedResume interrupts runs at several points, tears the last line
// of an output after the checkpoint, resumes, and compares every output
// byte for byte with an uninterrupted run's, compressed outputs included.
func TestOrderedResume(t *testing.T) {
	for _, compress := range []string{"", "gzip", "zstd"} {
		t.Run("compress="+compress, func(t *testing.T) {
			want := t.TempDir()
			o, _ := open(t, OrderedConfig{Dir: want, Compress: compress})
			feed(t, o, 0, 300, 2)
			o.MarkComplete()
			if err := o.Close(); err != nil {
				t.Fatal(err)
			}

			dir := t.TempDir()
			o, _ = open(t, OrderedConfig{Dir: dir, Compress: compress, CheckpointLines: 25})
			var from int64
			for i, stopAt := range []int64{40, 41, 170, 300} {
				feed(t, o, from, stopAt, uint64(10+i))
				if stopAt == 300 {
					o.MarkComplete()
					if err := o.Close(); err != nil {
						t.Fatal(err)
					}
					break
				}
				// A crash: no Close. Then a torn line after the checkpoint.
				for _, f := range o.files {
					if err := f.flush(); err != nil {
						t.Fatal(err)
					}
					f.f.Close()
				}
				af, err := os.OpenFile(filepath.Join(dir, "annotated.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				af.WriteString(`{"torn`)
				af.Close()
				var start qe.InputPos
				var done bool
				o, start, done, err = OpenOrdered(OrderedConfig{Dir: dir, Compress: compress, CheckpointLines: 25, Resume: true, Fingerprint: "fp", Inputs: []string{"in.tsv"}})
				if err != nil || done {
					t.Fatalf("resume: %v (done %v)", err, done)
				}
				if start.Seq > stopAt || start.Seq < stopAt-60 {
					t.Fatalf("resumed at %d after stopping at %d with a checkpoint every 25 lines", start.Seq, stopAt)
				}
				// The outputs end exactly at the checkpoint: the torn line
				// and everything after the checkpoint are gone.
				ann := readDir(t, dir)["annotated.jsonl"]
				if n := bytes.Count(ann, []byte("\n")); int64(n) != start.Seq || (len(ann) > 0 && ann[len(ann)-1] != '\n') {
					t.Fatalf("after resume annotated.jsonl has %d lines (want %d) and ends %q", n, start.Seq, ann[max(0, len(ann)-8):])
				}
				from = start.Seq
			}
			got, exp := readDir(t, dir), readDir(t, want)
			if len(got) != len(exp) || len(exp) < 4 {
				t.Fatalf("files %v, want %v", keys(got), keys(exp))
			}
			for name, b := range exp {
				if !bytes.Equal(got[name], b) {
					t.Fatalf("%s differs after resume (%d vs %d bytes)", name, len(got[name]), len(b))
				}
				if compress != "" {
					plain := decompress(t, compress, b)
					if bytes.Count(plain, []byte("\n")) == 0 {
						t.Fatalf("%s decompresses to nothing", name)
					}
				}
			}
			// A resume of a complete run has nothing to do.
			if _, _, done, err := OpenOrdered(OrderedConfig{Dir: dir, Compress: compress, Resume: true, Fingerprint: "fp", Inputs: []string{"in.tsv"}}); err != nil || !done {
				t.Fatalf("resume of a complete run: done %v, err %v", done, err)
			}
		})
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func decompress(t *testing.T, kind string, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	switch kind {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := out.ReadFrom(zr); err != nil {
			t.Fatal(err)
		}
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		if _, err := out.ReadFrom(zr); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// TestOrderedOpenRefusals: the directory and resume checks that keep a
// rerun from mixing old and new results.
func TestOrderedOpenRefusals(t *testing.T) {
	used := t.TempDir()
	o, _ := open(t, OrderedConfig{Dir: used})
	feed(t, o, 0, 10, 3)
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     OrderedConfig
		wantErr string
	}{
		{"non-empty without flags", OrderedConfig{Dir: used}, "is not empty"},
		{"foreign files too", OrderedConfig{Dir: other}, "is not empty"},
		{"resume without checkpoint", OrderedConfig{Dir: empty, Resume: true}, "no checkpoint"},
		{"resume with another model", OrderedConfig{Dir: used, Resume: true, Fingerprint: "other"}, "differ"},
		{"resume with other inputs", OrderedConfig{Dir: used, Resume: true, Inputs: []string{"b.tsv"}}, "inputs"},
		{"resume to stdout", OrderedConfig{Dir: "-", Resume: true}, "needs an output directory"},
		{"bad compression", OrderedConfig{Dir: empty, Compress: "lz4"}, "want gzip or zstd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.Fingerprint == "" {
				tc.cfg.Fingerprint = "fp"
			}
			if tc.cfg.Inputs == nil {
				tc.cfg.Inputs = []string{"in.tsv"}
			}
			_, _, _, err := OpenOrdered(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
	// --force replaces our outputs and leaves foreign files alone.
	o, _ = open(t, OrderedConfig{Dir: other, Force: true})
	_ = o.Close()
	if _, err := os.Stat(filepath.Join(other, "notes.txt")); err != nil {
		t.Fatalf("--force removed a file it does not own: %v", err)
	}
	o, _ = open(t, OrderedConfig{Dir: used, Force: true})
	_ = o.Close()
	if _, err := os.Stat(filepath.Join(used, "accepted.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("--force kept an old output: %v", err)
	}
}

// failAfter accepts n bytes, then fails every write with ENOSPC, like a
// full disk; it records what it was given.
type failAfter struct {
	n   int
	got bytes.Buffer
}

func (w *failAfter) Write(p []byte) (int, error) {
	if w.got.Len()+len(p) > w.n {
		return 0, syscall.ENOSPC
	}
	return w.got.Write(p)
}

// TestOrderedWriteFailure: a failing output is fatal at once: OnFatal is
// called, Admit refuses further lines, Write stops writing, and what the
// writer received ends with a whole line.
func TestOrderedWriteFailure(t *testing.T) {
	w := &failAfter{n: 600 << 10}
	var fatal error
	o, _, _, err := OpenOrdered(OrderedConfig{Dir: "-", Stdout: w, OnFatal: func(err error) { fatal = err }})
	if err != nil {
		t.Fatal(err)
	}
	var seq int64
	for ; seq < 100000 && o.Err() == nil; seq++ {
		if err := o.Admit(context.Background(), seq, qe.InputPos{Seq: seq + 1}); err != nil {
			break
		}
		if err := o.Write(context.Background(), []qe.Record{rec(seq)}); err != nil {
			t.Fatal(err)
		}
	}
	if o.Err() == nil || !errors.Is(o.Err(), syscall.ENOSPC) || fatal == nil {
		t.Fatalf("err %v, OnFatal %v: want ENOSPC", o.Err(), fatal)
	}
	if err := o.Admit(context.Background(), seq+1, qe.InputPos{}); err == nil {
		t.Fatal("Admit accepted a line after the fatal error")
	}
	if err := o.Close(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Close: %v, want the write error", err)
	}
	if b := w.got.Bytes(); len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatalf("output ends with a torn line (%d bytes)", len(b))
	}
}

// TestOrderedAdmitStops: Admit beyond the window returns when its context
// ends, and proceeds once the window has moved.
func TestOrderedAdmitStops(t *testing.T) {
	o, _ := open(t, OrderedConfig{Dir: t.TempDir(), Window: 2})
	defer o.Close()
	for s := int64(0); s < 2; s++ {
		if err := o.Admit(context.Background(), s, qe.InputPos{Seq: s + 1}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Admit(ctx, 2, qe.InputPos{Seq: 3}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Admit over the window with a cancelled context: %v", err)
	}
	if err := o.Write(context.Background(), []qe.Record{rec(0)}); err != nil {
		t.Fatal(err)
	}
	if err := o.Admit(context.Background(), 2, qe.InputPos{Seq: 3}); err != nil {
		t.Fatalf("Admit after the window moved: %v", err)
	}
}
