//go:build container

// Package container tests the image that deploy/Dockerfile's runtime stage
// makes: image.sh builds it with podman (offline, see there) and these tests
// run it, as users would, against the real Kafka broker of
// internal/kafkatest (host network) and on a mounted corpus.
//
//	go test -tags container -count=1 -v ./deploy/container   (make test-deploy runs it)
//
// When podman cannot run containers on the machine the tests are skipped
// with the reason, and fail with it when CI is set.
package container

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/demo"
	"github.com/qegate/qegate/internal/kafkatest"
	"github.com/qegate/qegate/scorer"
)

// modelDir is the model the image ships: whatever models/default holds.
const modelDir = "../../models/default"

var build struct {
	once     sync.Once
	ref, log string
	err      error
	unusable string // image.sh's one line when podman cannot run containers
	elapsed  time.Duration
	reported bool // the failed build's output was shown
}

// image builds the image once per test binary and returns its reference.
func image(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		began := time.Now()
		cmd := exec.Command("bash", "image.sh")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		build.elapsed, build.log = time.Since(began), stderr.String()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee) && ee.ExitCode() == 3:
			build.unusable = lastLine(build.log)
		case err != nil:
			build.err = err
		default:
			build.ref = strings.TrimSpace(string(out))
		}
	})
	if build.unusable != "" {
		if ci() {
			t.Fatalf("%s (CI is set, so this fails instead of skipping)", build.unusable)
		}
		t.Skipf("%s; skipping (set CI=true to make this a failure)", build.unusable)
	}
	if build.err != nil {
		// The build's output once, in the first test that needs the image.
		log := "(its output is in the first test's failure)"
		if !build.reported {
			build.reported, log = true, tail(build.log, 6000)
		}
		t.Fatalf("image.sh: %v\n%s", build.err, log)
	}
	return build.ref
}

func ci() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "0" && v != "false"
}

// podman runs deploy/container/podman (the machine's settings and storage).
func podman(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "./podman", args...)
}

// runFlags are what every container of these tests gets: no pulls, the
// host's network (the test broker listens on 127.0.0.1), explicit limits.
var runFlags = []string{"--pull=never", "--network", "host", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"}

// oneOff are runFlags for a command that ends by itself (version, audit,
// filter): the image's HEALTHCHECK, which asks a running gate, is off.
var oneOff = append([]string{"run", "--rm", "--no-healthcheck"}, runFlags...)

func podmanOut(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := podman(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("podman %s: %v\n%s%s", strings.Join(args, " "), err, tail(string(out), 2000), tail(stderr.String(), 4000))
	}
	return string(out)
}

// TestImage: the built image runs as uid 10001, `version` names the baked
// ONNX Runtime library and the shipped model (by its manifest), and the
// image's size is reported.
func TestImage(t *testing.T) {
	ref := image(t)
	m, err := scorer.LoadManifest(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	out := podmanOut(t, append(slices.Clone(oneOff), ref, "version")...)
	t.Logf("podman run %s version:\n%s", ref, out)
	for _, want := range []string{
		"onnxruntime: /opt/qegate/lib/libonnxruntime.so\n",
		fmt.Sprintf("default model: /opt/qegate/models/default (%s %s)\n", m.Name, m.Version),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("version output lacks %q", want)
		}
	}
	if id := strings.TrimSpace(podmanOut(t, append(slices.Clone(oneOff), "--entrypoint", "id", ref, "-u")...)); id != "10001" {
		t.Errorf("the image runs as uid %s, want 10001", id)
	}
	size := strings.TrimSpace(podmanOut(t, "image", "inspect", "--format", "{{.Size}}", ref))
	t.Logf("image %s: %s bytes; image.sh took %s", ref, size, build.elapsed.Round(time.Second))
}

// TestImageGatesKafka: the image, started with its own CMD on a mounted
// config, gates a few thousand messages (150 malformed in eight ways) from
// the real test broker; /readyz answers inside the container; `qegate audit`
// (from the image) finds every input message routed exactly once, each
// malformed one as a dead letter; `podman stop` (SIGTERM) drains and the
// container exits 0.
func TestImageGatesKafka(t *testing.T) {
	ref := image(t)
	m, err := scorer.LoadManifest(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	lines, tgts := messages(t, 2850, 150)
	for _, o := range m.Outputs {
		for lp := range o.Thresholds {
			tgts[lp[strings.LastIndexByte(lp, '-')+1:]] = true
		}
	}
	outputs := []string{"qegate.deadletter"}
	for tl := range tgts {
		outputs = append(outputs, "publish."+tl, "postedit."+tl)
	}
	slices.Sort(outputs)

	b := kafkatest.Start(t, kafkatest.Options{DisableAutoCreateTopics: true})
	b.CreateTopics(t, 4, "mt.incoming")
	b.CreateTopics(t, 2, outputs...)
	b.KcatProduce(t, "mt.incoming", lines, "-K", "\t")

	// The config is mounted as a directory, read-only, the way the Helm
	// chart mounts its ConfigMap; the image's CMD reads it from there.
	cfgDir := t.TempDir()
	cfg := fmt.Sprintf(`kafka:
  brokers: [%s]
  group_id: container-e2e
  topics: [mt.incoming]
  commit_interval: 200ms
routes:
  publish: "publish.{tgt_lang}"
  post_edit: "postedit.{tgt_lang}"
  dead_letter: qegate.deadletter
pipeline:
  drain_timeout: 20s
log:
  format: json
`, b.Addr())
	if err := os.WriteFile(filepath.Join(cfgDir, "qegate.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cfgDir, 0o755); err != nil { // readable by uid 10001
		t.Fatal(err)
	}
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	name := "qegate-e2e-" + randomHex(t)
	args := append(append([]string{"run", "-d", "--name", name}, runFlags...),
		"-v", cfgDir+":/etc/qegate:ro", "-e", "QEGATE_METRICS_LISTEN="+metrics, ref)
	podmanOut(t, args...)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := podman(context.Background(), "logs", name).CombinedOutput()
			t.Logf("container log (tail):\n%s", tail(string(out), 4000))
		}
		_ = podman(context.Background(), "rm", "-f", "-t", "0", name).Run()
	})

	// Done when the group's committed offsets reach the end of the input:
	// everything was written before it was committed.
	client := &kafka.Client{Addr: kafka.TCP(b.Addr())}
	deadline := time.Now().Add(10 * time.Minute)
	for lag(client, "container-e2e", "mt.incoming", 4) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the input was not all committed within 10 minutes")
		}
		if state := strings.TrimSpace(podmanOut(t, "inspect", "--format", "{{.State.Status}}", name)); state != "running" {
			t.Fatalf("container %s while consuming", state)
		}
		time.Sleep(time.Second)
	}
	ready := podmanOut(t, "exec", name, "qegate", "healthcheck", "--config", "/etc/qegate/qegate.yaml", "--path", "/readyz")
	t.Logf("inside the container: %s", strings.TrimSpace(ready))
	// The image's HEALTHCHECK, run once by podman (exit status 0: healthy).
	podmanOut(t, "healthcheck", "run", name)

	began := time.Now()
	podmanOut(t, "stop", "-t", "40", name)
	code := strings.TrimSpace(podmanOut(t, "inspect", "--format", "{{.State.ExitCode}}", name))
	if code != "0" {
		t.Fatalf("exit status %s after podman stop (SIGTERM), want 0", code)
	}
	// The gate logs to stderr, which podman logs replays on its stderr.
	logsOut, err := podman(context.Background(), "logs", name).CombinedOutput()
	if err != nil {
		t.Fatalf("podman logs: %v", err)
	}
	logs := string(logsOut)
	if !strings.Contains(logs, "drained cleanly") {
		t.Fatalf("no clean drain in the log after SIGTERM:\n%s", tail(logs, 3000))
	}
	t.Logf("stopped with status 0 in %.1fs", time.Since(began).Seconds())

	out := podmanOut(t, append(slices.Clone(oneOff), ref,
		"audit", "--brokers", b.Addr(), "--input", "mt.incoming", "--outputs", strings.Join(outputs, ","), "--json")...)
	var rep struct {
		InputMessages int            `json:"input_messages"`
		InputIDs      int            `json:"input_ids"`
		ByTopic       map[string]int `json:"by_topic"`
		Missing       int            `json:"missing"`
		Duplicated    int            `json:"duplicated"`
		Unexpected    int            `json:"unexpected"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("audit output: %v\n%s", err, out)
	}
	t.Logf("audit: %s", strings.Join(strings.Fields(out), " "))
	if rep.InputMessages != len(lines) || rep.InputIDs != len(lines) {
		t.Fatalf("audit read %d input messages (%d ids), produced %d", rep.InputMessages, rep.InputIDs, len(lines))
	}
	if rep.Missing != 0 || rep.Duplicated != 0 || rep.Unexpected != 0 {
		t.Fatalf("audit: missing %d, duplicated %d, unexpected %d", rep.Missing, rep.Duplicated, rep.Unexpected)
	}
	if n := rep.ByTopic["qegate.deadletter"]; n != 150 {
		t.Fatalf("%d dead letters, want the 150 malformed messages", n)
	}
}

// messages returns good valid pairs (MLQE-PE dev when present, else the
// built-in sample, cycled) and bad malformed ones interleaved, as
// "key\tvalue" lines with unique ids as keys, and the target languages.
func messages(t *testing.T, good, bad int) ([]string, map[string]bool) {
	msgs, _, err := demo.LoadMessages("", 0)
	if err != nil {
		t.Fatal(err)
	}
	var pool []map[string]any
	for _, m := range msgs {
		var v map[string]any
		if m.LangPair != "" && json.Unmarshal(m.Value, &v) == nil {
			pool = append(pool, v)
		}
	}
	if len(pool) == 0 {
		t.Fatal("no valid demo messages")
	}
	malformed := []string{
		`not json`,
		`{"src":"Hello","src_lang":"en","tgt_lang":"de"}`,
		`{"src":"Hello","mt":"","src_lang":"en","tgt_lang":"de"}`,
		"{\"src\":\"\xc3\x28\",\"mt\":\"x\",\"src_lang\":\"en\",\"tgt_lang\":\"de\"}",
		`{"src":1,"mt":"Hallo","src_lang":"en","tgt_lang":"de"}`,
		`{"src":"Hello","mt":"Hallo","src_lang":"klingon!","tgt_lang":"de"}`,
		`[1,2,3]`,
		`{"src":"Hello","mt":"Hallo","src_lang":"en","tgt_lang":"de"`,
	}
	tgts := map[string]bool{}
	var lines []string
	every := good / bad
	for i, j := 0, 0; i < good; i++ {
		v := pool[i%len(pool)]
		v["id"] = fmt.Sprintf("ok-%05d", i)
		tgts[v["tgt_lang"].(string)] = true
		b, _ := json.Marshal(v)
		lines = append(lines, fmt.Sprintf("ok-%05d\t%s", i, b))
		if i%every == every-1 && j < bad {
			lines = append(lines, fmt.Sprintf("bad-%04d\t%s", j, malformed[j%len(malformed)]))
			j++
		}
	}
	return lines, tgts
}

// TestImageFilterShard runs the Indexed Job's command from docs/filter.md, word
// for word, in the image for one shard of a mounted corpus: the shard's
// lines, and only those, come out in order (malformed ones dead-lettered);
// run again (a retried pod), it takes the --resume branch and succeeds
// without changing the outputs.
func TestImageFilterShard(t *testing.T) {
	ref := image(t)
	script := readmeJobCommand(t)
	const shard, shards, n = 3, 8, 400
	if !strings.Contains(script, fmt.Sprintf("--shard $JOB_COMPLETION_INDEX/%d", shards)) {
		t.Fatalf("docs/filter.md's Job command no longer runs %d shards: %s", shards, script)
	}
	data, out := t.TempDir(), t.TempDir()
	// The image's user (10001) reads the corpus and writes the outputs;
	// Kubernetes gives that with fsGroup, here the modes do.
	_ = os.Chmod(data, 0o755)
	_ = os.Chmod(out, 0o777)
	var corpus bytes.Buffer
	zw := gzip.NewWriter(&corpus)
	for g := range n {
		switch {
		case g%10 == 7:
			fmt.Fprintf(zw, "line %d has no translation column\n", g)
		case g%3 == 1:
			fmt.Fprintf(zw, "The museum %d is closed on Mondays.\tDer Hund %d frisst gern Kartoffeln im Winter.\n", g, g)
		default:
			fmt.Fprintf(zw, "The museum %d is closed on Mondays.\tDas Museum %d ist montags geschlossen.\n", g, g)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "corpus.en-de.tsv.gz"), corpus.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func() string {
		return podmanOut(t, append(slices.Clone(oneOff),
			"-e", fmt.Sprintf("JOB_COMPLETION_INDEX=%d", shard),
			"-v", data+":/data:ro", "-v", out+":/out",
			"--entrypoint", "sh", ref, "-c", script)...)
	}
	first := run()
	t.Logf("first run:\n%s", first)
	dir := filepath.Join(out, fmt.Sprintf("shard-%d", shard))
	annotated := readZstdLines(t, filepath.Join(dir, "annotated.jsonl.zst"))
	var wantLines []int
	for g := shard; g < n; g += shards {
		wantLines = append(wantLines, g+1)
	}
	var gotLines []int
	routes := map[string]int{}
	for _, l := range annotated {
		var r struct {
			Line int `json:"line"`
			QE   struct {
				Route string `json:"route"`
			} `json:"qe"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("annotated line %q: %v", l, err)
		}
		if ((r.Line-1)%10 == 7) != (r.QE.Route == "dead_letter") {
			t.Fatalf("line %d routed %s", r.Line, r.QE.Route)
		}
		gotLines = append(gotLines, r.Line)
		routes[r.QE.Route]++
	}
	if !slices.Equal(gotLines, wantLines) {
		t.Fatalf("shard %d/%d wrote lines %v, want %v", shard, shards, gotLines, wantLines)
	}
	for route, file := range map[string]string{"accepted": "accepted", "rejected": "rejected", "dead_letter": "dead_letter"} {
		if got := len(readZstdLines(t, filepath.Join(dir, file+".jsonl.zst"))); got != routes[route] {
			t.Fatalf("%s.jsonl.zst holds %d lines, annotated routes %d there", file, got, routes[route])
		}
	}
	before := snapshot(t, dir)
	second := run()
	if !strings.Contains(second, "resumed") {
		t.Fatalf("the second run did not take the --resume branch:\n%s", second)
	}
	if after := snapshot(t, dir); !maps.Equal(before, after) {
		t.Fatal("the resumed run of a finished shard changed its outputs")
	}
	t.Logf("shard %d/%d: %d lines, routes %v", shard, shards, len(annotated), routes)
}

// readmeJobCommand returns the shell command of docs/filter.md's Indexed Job
// (the folded `args` scalar after `command: ["sh", "-c"]`), joined as YAML
// folds it.
func readmeJobCommand(t *testing.T) string {
	b, err := os.ReadFile("../../docs/filter.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?s)command: \["sh", "-c"\]\n\s*args:\n\s*- >-\n(.*?)\n\s*volumeMounts:`)
	m := re.FindSubmatch(b)
	if m == nil {
		t.Fatal(`docs/filter.md: no Job with command: ["sh", "-c"] and a folded args scalar`)
	}
	return strings.Join(strings.Fields(string(m[1])), " ")
}

// readZstdLines reads the lines of a zstd file; filter writes no file for
// a route no line took.
func readZstdLines(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && !strings.HasPrefix(filepath.Base(path), "annotated.") {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// snapshot maps the output files of dir (not the checkpoint) to contents.
func snapshot(t *testing.T, dir string) map[string]string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := map[string]string{}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".zst") {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			s[e.Name()] = string(b)
		}
	}
	return s
}

// lag is the group's uncommitted input, or -1 while it cannot be told.
func lag(client *kafka.Client, group, topic string, parts int) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var reqs []kafka.OffsetRequest
	var ids []int
	for p := range parts {
		reqs = append(reqs, kafka.LastOffsetOf(p))
		ids = append(ids, p)
	}
	ends, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return -1
	}
	com, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
	if err != nil || com.Error != nil || len(com.Topics[topic]) < parts {
		return -1
	}
	end := map[int]int64{}
	for _, p := range ends.Topics[topic] {
		end[p.Partition] = p.LastOffset
	}
	var total int64
	for _, p := range com.Topics[topic] {
		if p.Error != nil {
			return -1
		}
		total += end[p.Partition] - max(p.CommittedOffset, 0)
	}
	return total
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(t *testing.T) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
