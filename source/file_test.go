package source_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/pipeline"
	"github.com/qegate/qegate/pipeline/pipelinetest"
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
		&pipelinetest.LengthScorer{}, pipeline.NewRouter(fileRoutes, pipeline.ModelInfo{Name: "len", Version: "0"}), snk, nil, nil)
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
		pipeline.NewRouter(fileRoutes, pipeline.ModelInfo{}), snk, nil, nil)
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
	deadline := time.Now().Add(10 * time.Second)
	for len(snk.Records()) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	_ = pw.Close() // the reader is blocked in read; EOF lets it see the stop
	rep := <-done
	if len(snk.Records()) != 3 || rep.Dropped != 0 {
		t.Fatalf("wrote %d of 3, report %+v", len(snk.Records()), rep)
	}
}
