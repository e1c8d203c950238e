//go:build integration

package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qegate/qegate/internal/testutil"
)

func tinyModel(t *testing.T) string {
	d, err := filepath.Abs(filepath.Join("..", "..", "scorer", "testdata", "tiny"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// filterCorpus writes a gzipped JSONL file (valid pairs with malformed
// lines between them) and a TSV file with an extra column; n lines in all.
func filterCorpus(t *testing.T, dir string, n int) []string {
	t.Helper()
	good, _ := e2ePairs(t, n)
	bad, _ := malformed(n / 20)
	var js bytes.Buffer
	half := n / 2
	for i := 0; i < half; i++ {
		v := good[i][strings.IndexByte(good[i], '\t')+1:]
		if i%20 == 7 {
			v = bad[i/20][strings.IndexByte(bad[i/20], '\t')+1:]
		}
		js.WriteString(v + "\n")
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(js.Bytes())
	zw.Close()
	p1 := filepath.Join(dir, "mined.jsonl.gz")
	if err := os.WriteFile(p1, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var tsv strings.Builder
	for i := half; i < n; i++ {
		var v map[string]any
		if err := json.Unmarshal([]byte(good[i][strings.IndexByte(good[i], '\t')+1:]), &v); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&tsv, "%s\t%s\tdoc%d\n", v["src"], v["mt"], i)
	}
	p2 := filepath.Join(dir, "web.en-de.tsv")
	if err := os.WriteFile(p2, []byte(tsv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{p1, p2}
}

// filterArgs are the options every run of the kill test shares: the tiny
// model with thresholds that use every route, small checkpoints.
func filterArgs(t *testing.T, out string, inputs []string, extra ...string) []string {
	args := []string{"filter", "--model", tinyModel(t), "--threshold", "default=0.07", "--review-margin", "0.005",
		"--compress", "gzip", "--checkpoint-lines", "97", "--progress", "plain", "--progress-interval", "1s", "-o", out}
	return append(append(args, extra...), inputs...)
}

func dirBytes(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// annotatedLines reads how many lines the running filter has written so
// far (0 before the file exists).
func annotatedLines(dir string) int {
	b, _ := os.ReadFile(filepath.Join(dir, "annotated.jsonl"))
	return bytes.Count(b, []byte("\n"))
}

// TestFilterKillResume: SIGKILL at random points, then --resume, several
// times, ends with outputs byte-identical to an uninterrupted run's:
// every route file, annotated.jsonl (gzipped at the end) and the
// checkpoint. QEGATE_FILTER_SEED replays the kill points.
func TestFilterKillResume(t *testing.T) {
	const n = 6000
	dir := t.TempDir()
	inputs := filterCorpus(t, dir, n)
	want := filepath.Join(dir, "want")
	if out, err := exec.Command(qegateBin, filterArgs(t, want, inputs)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	exp := dirBytes(t, want)
	for _, name := range []string{"accepted.jsonl.gz", "rejected.jsonl.gz", "review.jsonl.gz", "dead_letter.jsonl.gz", "annotated.jsonl.gz"} {
		if len(exp[name]) == 0 {
			t.Fatalf("uninterrupted run left no %s: %v", name, keysOf(exp))
		}
	}

	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("QEGATE_FILTER_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	got := filepath.Join(dir, "got")
	kills := 0
	for attempt := 0; attempt < 5; attempt++ {
		args := filterArgs(t, got, inputs)
		if attempt > 0 {
			args = filterArgs(t, got, inputs, "--resume")
		}
		cmd := exec.Command(qegateBin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if attempt == 4 {
			if err := <-done; err != nil {
				t.Fatalf("last resume: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "complete, resumed") {
				t.Fatalf("last resume summary: %s", out.String())
			}
			break
		}
		target := annotatedLines(got) + 1 + rng.IntN(n/5)
		finished := false // the run ended before reaching target
		testutil.WaitFor(t, 2*time.Minute, func() error {
			select {
			case <-done:
				finished = true
				return nil
			default:
			}
			if at := annotatedLines(got); at < target {
				return fmt.Errorf("no progress to line %d (at %d)", target, at)
			}
			return nil
		})
		if !finished {
			// One graceful stop among the kills: it drains, checkpoints
			// and exits non-zero saying how to continue.
			sig := syscall.SIGKILL
			if attempt == 1 {
				sig = syscall.SIGTERM
			}
			if err := cmd.Process.Signal(sig); err == nil {
				kills++
			}
			err := <-done
			if sig == syscall.SIGTERM && (err == nil || !strings.Contains(out.String(), "interrupted") || !strings.Contains(out.String(), "--resume")) {
				t.Fatalf("SIGTERM: exit %v, output:\n%s", err, out.String())
			}
		}
		t.Logf("attempt %d: killed near line %d (seed %d)", attempt, target, seed)
	}
	if kills < 2 {
		t.Fatalf("only %d of 4 runs were killed before finishing (seed %d): the test did not test resume", kills, seed)
	}
	gotB := dirBytes(t, got)
	if len(gotB) != len(exp) {
		t.Fatalf("files %v, want %v (seed %d)", keysOf(gotB), keysOf(exp), seed)
	}
	for name, b := range exp {
		if !bytes.Equal(gotB[name], b) {
			t.Fatalf("%s differs after %d kills and resumes: %d vs %d bytes (seed %d)", name, kills, len(gotB[name]), len(b), seed)
		}
	}
	// Every input line is in annotated.jsonl once, in order.
	zr, err := gzip.NewReader(bytes.NewReader(exp["annotated.jsonl.gz"]))
	if err != nil {
		t.Fatal(err)
	}
	var ann bytes.Buffer
	if _, err := ann.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	if c := bytes.Count(ann.Bytes(), []byte("\n")); c != n {
		t.Fatalf("annotated has %d lines, want %d", c, n)
	}
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestFilterCLI: the new-user paths of the issue, through the binary.
func TestFilterCLI(t *testing.T) {
	dir := t.TempDir()
	tsv := filepath.Join(dir, "plain.en-de.tsv")
	if err := os.WriteFile(tsv, []byte("Hello world\tHallo Welt\tx1\nGood morning\tGuten Morgen\tx2\nonly one column\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	model := tinyModel(t)
	run := func(stdin []byte, args ...string) (string, string, error) {
		cmd := exec.Command(qegateBin, append([]string{"filter", "--model", model, "--progress", "none"}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		return o.String(), e.String(), err
	}
	out := filepath.Join(dir, "out")
	if _, e, err := run(nil, "-o", out, "--json", "--progress", "plain", tsv); err != nil || !strings.Contains(e, "filter: 3 done") {
		t.Fatalf("first run: %v\n%s", err, e)
	}
	// A rerun into the same directory is refused instead of appending.
	if _, e, err := run(nil, "-o", out, tsv); err == nil || !strings.Contains(e, "not empty") {
		t.Fatalf("rerun into a used directory: err %v, stderr %s", err, e)
	}
	if o, e, err := run(nil, "-o", out, "--force", "--json", tsv); err != nil || !strings.Contains(o, `"lines":3`) {
		t.Fatalf("--force: %v\n%s%s", err, o, e)
	}
	if n := countLines(t, filepath.Join(out, "annotated.jsonl")); n != 3 {
		t.Fatalf("annotated has %d lines after --force, want 3", n)
	}
	// Standard input to standard output, format sniffed, languages given.
	o, e, err := run([]byte("a\tb\nc\td\n"), "--src-lang", "en", "--tgt-lang", "de", "-o", "-", "-")
	if err != nil || strings.Count(o, "\n") != 2 || !strings.Contains(o, `"qe":{"score"`) || !strings.Contains(e, "2 lines (complete)") {
		t.Fatalf("stdin to stdout: %v\nstdout %s\nstderr %s", err, o, e)
	}
	// A full disk on standard output: non-zero exit and a clear message.
	cmd := exec.Command(qegateBin, "filter", "--model", model, "--progress", "none", "-o", "-", tsv)
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = full, &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), "no space left on device") {
		t.Fatalf("stdout on /dev/full: err %v, stderr %s", err, stderr.String())
	}
}
