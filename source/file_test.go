package source_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/internal/testutil"
	"github.com/qegate/qegate/pipeline"
	"github.com/qegate/qegate/pipeline/pipelinetest"
	"github.com/qegate/qegate/sink"
	"github.com/qegate/qegate/source"
)

var fileRoutes = pipeline.RoutesConfig{Publish: "accepted", PostEdit: "rejected", DeadLetter: "dead_letter"}

// runFiles gates files through the real engine and gate with the length
// scorer (MT of 5+ bytes is accepted) into a memory sink.
func runFiles(t *testing.T, cfg source.FileConfig) (*pipelinetest.MemSink, pipeline.Report, error) {
	t.Helper()
	src, err := source.NewFile(cfg, pipeline.NewDecoder(pipeline.DecoderConfig{}), nil, nil)
	if err != nil {
		return nil, pipeline.Report{}, err
	}
	snk := &pipelinetest.MemSink{}
	eng := pipeline.NewEngine(pipeline.EngineConfig{BatchSize: 4, BatchWait: time.Millisecond, Workers: 3},
		&pipelinetest.LengthScorer{}, pipeline.NewRouter(fileRoutes, qe.ModelID{Name: "len", Version: "0"}), snk, nil, nil)
	g := &pipeline.Gate{Source: src, Engine: eng, QueueSize: 8}
	rep, err := g.Run(context.Background())
	if err == nil && src.Fed() != len(snk.Records()) {
		t.Fatalf("fed %d lines, wrote %d records", src.Fed(), len(snk.Records()))
	}
	return snk, rep, err
}

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFileSource(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		file     string
		body     string
		cfg      source.FileConfig
		want     map[string]int
		wantLang string // tgt_lang of every scored output
		wantErr  string
	}{
		{
			name: "tsv languages from the name", file: "en-de.tsv",
			body: "Hello world\tHallo Welt\nGood morning\tMoin\nonly one column\n",
			want: map[string]int{"accepted": 1, "rejected": 1, "dead_letter": 1}, wantLang: "de",
		},
		{
			name: "tsv pair after a dotted prefix", file: "plain.en-de.tsv",
			body: "a\tbbbbbb\n", want: map[string]int{"accepted": 1}, wantLang: "de",
		},
		{
			name: "mlqe-pe header picks the columns", file: "ro-en.tsv",
			body: "index\toriginal\ttranslation\tmean\n0\tUn câine\tA dog barks\t80\n", want: map[string]int{"accepted": 1}, wantLang: "en",
		},
		{
			name: "explicit languages and CRLF", file: "corpus.txt", cfg: source.FileConfig{SrcLang: "en", TgtLang: "fr"},
			body: "one\tun chat\r\ntwo\tdeux\r\n", want: map[string]int{"accepted": 1, "rejected": 1}, wantLang: "fr",
		},
		{
			name: "invalid utf-8 in tsv is dead-lettered, not replaced", file: "en-et.tsv",
			body: "caf\xc3\tkohvik\n", want: map[string]int{"dead_letter": 1},
		},
		{
			name: "jsonl with bad lines", file: "mixed.jsonl",
			body: `{"src":"a cat","mt":"eine Katze","src_lang":"en","tgt_lang":"de"}` + "\nnot json\n\n" + `{"src":"x","mt":"","src_lang":"en","tgt_lang":"de"}` + "\n",
			want: map[string]int{"accepted": 1, "dead_letter": 3}, wantLang: "de", // an empty line is a dead letter too: no line is lost
		},
		{
			name: "tsv without languages fails before reading", file: "corpus.tsv", body: "a\tb\n",
			wantErr: "TSV needs languages",
		},
		{
			name: "forced format", file: "pairs.data", cfg: source.FileConfig{Format: "tsv", SrcLang: "en", TgtLang: "de"},
			body: "a\tbbbbbb\n", want: map[string]int{"accepted": 1}, wantLang: "de",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Paths = []string{write(t, dir, tc.file, tc.body)}
			snk, rep, err := runFiles(t, cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Dropped != 0 || !rep.Drained {
				t.Fatalf("report %+v", rep)
			}
			got := snk.ByTopic()
			if len(got) != len(tc.want) {
				t.Fatalf("routes %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("routes %v, want %v", got, tc.want)
				}
			}
			for _, r := range snk.Records() {
				src := string(r.Header(qe.HeaderSource))
				if !strings.HasPrefix(src, cfg.Paths[0]+":0:") {
					t.Fatalf("qe-source %q does not name the line", src)
				}
				if r.Topic != "dead_letter" && tc.wantLang != "" && !strings.Contains(string(r.Value), `"tgt_lang":"`+tc.wantLang+`"`) {
					t.Fatalf("output %s lacks tgt_lang %s", r.Value, tc.wantLang)
				}
			}
		})
	}
}

func TestFileSourceBadFormat(t *testing.T) {
	if _, err := source.NewFile(source.FileConfig{Format: "csv"}, pipeline.NewDecoder(pipeline.DecoderConfig{}), nil, nil); err == nil {
		t.Fatal("format csv accepted")
	}
}

// TestFileSourceStopDrains stops a gate over a stream that never ends: the
// lines fed before the stop are written and acked, nothing is dropped.
func TestFileSourceStopDrains(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	old := os.Stdin
	os.Stdin = pr
	defer func() { os.Stdin = old }()
	src, err := source.NewFile(source.FileConfig{Paths: []string{"-"}}, pipeline.NewDecoder(pipeline.DecoderConfig{}), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	snk := &pipelinetest.MemSink{}
	eng := pipeline.NewEngine(pipeline.EngineConfig{BatchWait: time.Millisecond}, &pipelinetest.LengthScorer{},
		pipeline.NewRouter(fileRoutes, qe.ModelID{}), snk, nil, nil)
	g := &pipeline.Gate{Source: src, Engine: eng, DrainTimeout: 5 * time.Second}
	stop, cancel := context.WithCancel(context.Background())
	done := make(chan pipeline.Report, 1)
	go func() {
		rep, err := g.Run(stop)
		if err != nil {
			t.Errorf("gate: %v", err)
		}
		done <- rep
	}()
	for i := 0; i < 3; i++ {
		if _, err := pw.WriteString(`{"src":"a","mt":"bbbbbb","src_lang":"en","tgt_lang":"de"}` + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if n := len(snk.Records()); n < 3 {
			return fmt.Errorf("wrote %d of 3 lines read from a pipe still open", n)
		}
		return nil
	})
	cancel()
	_ = pw.Close() // the reader is blocked in read; EOF lets it see the stop
	rep := <-done
	if len(snk.Records()) != 3 || rep.Dropped != 0 {
		t.Fatalf("wrote %d of 3, report %+v", len(snk.Records()), rep)
	}
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zst(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// TestFileSourceFormats: compression by magic bytes whatever the name,
// column mapping with extra columns kept, long lines dead-lettered, and
// formats that cannot be read refused with a message saying what to do.
func TestFileSourceFormats(t *testing.T) {
	dir := t.TempDir()
	tsv := []byte("Hello world\tHallo Welt\t0.9\tweb\nGood morning\tMoin\t0.1\tnews\n")
	jsonl := []byte(`{"src":"a cat","mt":"eine Katze","src_lang":"en","tgt_lang":"de","keep":[1,2]}` + "\n")
	tests := []struct {
		name    string
		file    string
		body    []byte
		cfg     source.FileConfig
		want    map[string]int
		fields  []string // present in every scored output
		wantErr string
	}{
		{name: "gzip named .gz", file: "c.en-de.tsv.gz", body: gz(t, tsv), want: map[string]int{"accepted": 1, "rejected": 1}, fields: []string{`"col3":"0`, `"col4":"`}},
		{name: "gzip named .tsv", file: "c2.en-de.tsv", body: gz(t, tsv), want: map[string]int{"accepted": 1, "rejected": 1}},
		{name: "concatenated gzip members", file: "c3.en-de.tsv.gz", body: append(gz(t, tsv[:22]), gz(t, tsv[22:])...), want: map[string]int{"accepted": 1, "rejected": 1}},
		{name: "zstd jsonl", file: "m.jsonl.zst", body: zst(t, jsonl), want: map[string]int{"accepted": 1}, fields: []string{`"keep":[1,2]`}},
		{name: "zstd without extension, format sniffed", file: "blob", body: zst(t, jsonl), want: map[string]int{"accepted": 1}},
		{name: "a .gz that is plain text", file: "p.en-de.tsv.gz", body: tsv, want: map[string]int{"accepted": 1, "rejected": 1}},
		{name: "named columns, one dropped", file: "n.en-de.tsv", body: tsv, cfg: source.FileConfig{Columns: []string{"src", "mt", "-", "domain"}},
			want: map[string]int{"accepted": 1, "rejected": 1}, fields: []string{`"domain":"`}},
		{name: "columns need src and mt", file: "x.en-de.tsv", body: tsv, cfg: source.FileConfig{Columns: []string{"src", "text"}}, wantErr: "want both src and mt"},
		{name: "line over the limit", file: "l.en-de.tsv", body: []byte("a\tbbbbbb\n" + strings.Repeat("x", 5000) + "\tyyyyyy\nc\tdddddd"),
			cfg: source.FileConfig{MaxLineBytes: 100}, want: map[string]int{"accepted": 2, "dead_letter": 1}},
		{name: "xz refused", file: "c.en-de.tsv.xz", body: []byte("\xfd7zXZ\x00rest"), wantErr: "xz input is not supported"},
		{name: "bzip2 refused", file: "c.en-de.tsv.bz2", body: []byte("BZh91AY&SY"), wantErr: "bzip2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			p := filepath.Join(dir, tc.file)
			if err := os.WriteFile(p, tc.body, 0o644); err != nil {
				t.Fatal(err)
			}
			cfg.Paths = []string{p}
			snk, _, err := runFiles(t, cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := snk.ByTopic()
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("routes %v, want %v", got, tc.want)
				}
			}
			for _, r := range snk.Records() {
				if r.Topic == "dead_letter" {
					if reason := string(r.Header(qe.HeaderError)); !strings.Contains(reason, "line too long: 5007 bytes > limit 100") {
						t.Fatalf("dead letter reason %q", reason)
					}
					continue
				}
				for _, f := range tc.fields {
					if !strings.Contains(string(r.Value), f) {
						t.Fatalf("output %s lacks %s", r.Value, f)
					}
				}
			}
		})
	}
}

// TestFileSourceShards: N shards of the same input are disjoint and
// together read every line exactly once, across file boundaries.
func TestFileSourceShards(t *testing.T) {
	dir := t.TempDir()
	var a, b strings.Builder
	for i := 0; i < 23; i++ {
		fmt.Fprintf(&a, `{"src":"a%d","mt":"xxxxxx","src_lang":"en","tgt_lang":"de"}`+"\n", i)
	}
	for i := 0; i < 18; i++ {
		fmt.Fprintf(&b, "b%d\txxxxxx\n", i)
	}
	paths := []string{write(t, dir, "a.jsonl", a.String()), write(t, dir, "b.en-de.tsv", b.String())}
	seen := map[string]int{}
	for i := 0; i < 4; i++ {
		snk, _, err := runFiles(t, source.FileConfig{Paths: paths, Shard: source.Shard{Index: i, Count: 4}})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range snk.Records() {
			seen[string(r.Header(qe.HeaderSource))]++
		}
	}
	if len(seen) != 41 {
		t.Fatalf("4 shards read %d distinct lines, want 41", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("line %s read %d times", k, n)
		}
	}
	for _, bad := range []string{"4/4", "-1/2", "1", "a/b", "0/0"} {
		if _, err := source.ParseShard(bad); err == nil {
			t.Fatalf("shard %q accepted", bad)
		}
	}
}

// TestFileSourceStart: a resumed source skips every line up to its start
// position, keeps counting lines for sharding, and numbers items on.
func TestFileSourceStart(t *testing.T) {
	dir := t.TempDir()
	p1 := write(t, dir, "one.en-de.tsv", "index\toriginal\ttranslation\n0\ta\tbbbbbb\n1\tc\tdddddd\n")
	p2 := write(t, dir, "two.en-de.tsv", "e\tffffff\ng\thhhhhh\ni\tjjjjjj\n")
	all, _, err := runFiles(t, source.FileConfig{Paths: []string{p1, p2}, Shard: source.Shard{Index: 1, Count: 2}})
	if err != nil {
		t.Fatal(err)
	}
	// Resume after the first item fed (line 2 of file 0, global line 1).
	rest, _, err := runFiles(t, source.FileConfig{Paths: []string{p1, p2}, Shard: source.Shard{Index: 1, Count: 2},
		Start: qe.InputPos{File: 0, Line: 2, Global: 2, Seq: 1}})
	if err != nil {
		t.Fatal(err)
	}
	src := func(rs []qe.Record) (out []string) {
		for _, r := range rs {
			out = append(out, fmt.Sprintf("%s@%d", r.Header(qe.HeaderSource), r.Seq))
		}
		sort.Strings(out)
		return out
	}
	a, b := src(all.Records()), src(rest.Records())
	if len(a) != 3 || len(b) != 2 || a[1] != b[0] || a[2] != b[1] {
		t.Fatalf("full run %v, resumed %v", a, b)
	}
}

// TestFileSourceOrderedSink runs the file source into the ordered sink
// through the real engine (four workers finishing out of order) with a
// reorder window of 8 lines (so Admit blocks the reader constantly): every
// line is written, the annotated output is in input order, dead letters
// included, and each line names its input position.
func TestFileSourceOrderedSink(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := 0; i < 2000; i++ {
		if i%97 == 5 {
			b.WriteString("not json\n")
			continue
		}
		fmt.Fprintf(&b, `{"id":%d,"src":"s","mt":"%s","src_lang":"en","tgt_lang":"de"}`+"\n", i, strings.Repeat("m", i%9))
	}
	in := write(t, dir, "c.jsonl", b.String())
	out := filepath.Join(dir, "out")
	snk, _, _, err := sink.OpenOrdered(sink.OrderedConfig{Dir: out, Window: 8, Inputs: []string{in}, Fingerprint: "t"})
	if err != nil {
		t.Fatal(err)
	}
	src, err := source.NewFile(source.FileConfig{Paths: []string{in}}, pipeline.NewDecoder(pipeline.DecoderConfig{}), nil, snk)
	if err != nil {
		t.Fatal(err)
	}
	eng := pipeline.NewEngine(pipeline.EngineConfig{BatchSize: 3, BatchWait: time.Millisecond, Workers: 4},
		&pipelinetest.LengthScorer{}, pipeline.NewRouter(fileRoutes, qe.ModelID{Name: "len", Version: "0"}), snk, nil, nil)
	g := &pipeline.Gate{Source: src, Engine: eng, QueueSize: 4}
	if _, err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !src.Complete() || snk.Written() != 2000 {
		t.Fatalf("complete %v, written %d of 2000", src.Complete(), snk.Written())
	}
	snk.MarkComplete()
	if err := snk.Close(); err != nil {
		t.Fatal(err)
	}
	ann, err := os.ReadFile(filepath.Join(out, "annotated.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(ann), "\n"), "\n")
	if len(lines) != 2000 {
		t.Fatalf("%d annotated lines, want 2000", len(lines))
	}
	for i, l := range lines {
		want := fmt.Sprintf(`{"id":%d,`, i)
		if i%97 == 5 {
			want = `{"qe":{"reason":`
		}
		if !strings.HasPrefix(l, want) || !strings.Contains(l, fmt.Sprintf(`c.jsonl:0:%d"`, i+1)) {
			t.Fatalf("line %d out of order: %s", i, l)
		}
	}
}
