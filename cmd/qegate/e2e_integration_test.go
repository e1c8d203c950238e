//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/segmentio/kafka-go"

	"github.com/qegate/qegate/internal/demo"
	"github.com/qegate/qegate/internal/kafkaread"
	"github.com/qegate/qegate/internal/kafkatest"
	"github.com/qegate/qegate/internal/kafkatest/pki"
	"github.com/qegate/qegate/internal/native"
	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/internal/testutil"
)

var qegateBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "qegate-e2e")
	if err != nil {
		panic(err)
	}
	qegateBin = filepath.Join(dir, "qegate")
	build := exec.Command("go", "build", "-o", qegateBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build qegate:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testModel is the shipped default model when present, else the tiny
// random model: the routing contract is the same.
func testModel(t *testing.T) string {
	if d := native.DefaultModelDir(); d != "" {
		return d
	}
	d, err := filepath.Abs(filepath.Join("..", "..", "scorer", "testdata", "tiny"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// e2ePairs returns n valid input lines (key \t value) from MLQE-PE dev when
// available, cycled, else from the built-in sample.
func e2ePairs(t *testing.T, n int) (lines []string, ids []string) {
	type pair struct{ src, mt, sl, tl string }
	var pool []pair
	msgs, _, err := demo.LoadMessages("", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		var v map[string]string
		if m.LangPair == "" || json.Unmarshal(m.Value, &v) != nil {
			continue // the demo's interleaved malformed messages
		}
		pool = append(pool, pair{v["src"], v["mt"], v["src_lang"], v["tgt_lang"]})
	}
	for i := 0; i < n; i++ {
		p := pool[i%len(pool)]
		id := fmt.Sprintf("ok-%05d", i)
		v, _ := json.Marshal(map[string]any{"id": id, "src": p.src, "mt": p.mt, "src_lang": p.sl, "tgt_lang": p.tl, "origin": "e2e", "seq": i})
		lines = append(lines, id+"\t"+string(v))
		ids = append(ids, id)
	}
	return lines, ids
}

// malformed returns n bad input lines, cycling through kinds of breakage.
func malformed(n int) (lines []string, ids []string) {
	kinds := []string{
		`this is not json`,
		`{"src":"Hello","src_lang":"en","tgt_lang":"de"}`,
		`{"src":"Hello","mt":"","src_lang":"en","tgt_lang":"de"}`,
		"{\"src\":\"\xc3\x28 broken\",\"mt\":\"x\",\"src_lang\":\"en\",\"tgt_lang\":\"de\"}",
		`{"src":123,"mt":"Hallo","src_lang":"en","tgt_lang":"de"}`,
		`{"src":"Hello","mt":"Hallo","src_lang":"klingon!","tgt_lang":"de"}`,
		`[1,2,3]`,
		`{"src":"Hello","mt":"Hallo","src_lang":"en","tgt_lang":"de"`,
		`null`,
		`{"src":"Hello","mt":["Hallo"],"src_lang":"en","tgt_lang":"de"}`,
		`{"src":"a\ud800","mt":"b","src_lang":"en","tgt_lang":"de"}`,
	}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("bad-%04d", i)
		lines = append(lines, id+"\t"+kinds[i%len(kinds)])
		ids = append(ids, id)
	}
	return lines, ids
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeConfig(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "qegate.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEndToEndRealKafka: kcat produces 10,000 messages (150 malformed in
// eleven ways) into a real Apache Kafka broker; `qegate run` gates them;
// every input id must be found in exactly one output topic, with the qe
// fields and headers, and each dead letter with its reason; /metrics
// counts what the topics hold; SIGTERM then stops it cleanly with exit
// status 0. It runs once over plaintext, and with fewer messages over
// SASL_SSL with SCRAM-SHA-512 and over mTLS, where the password must not
// appear anywhere in qegate's output.
func TestEndToEndRealKafka(t *testing.T) {
	for _, tc := range []struct {
		listener string
		good     int
	}{
		{kafkatest.ListenerPlaintext, 9850},
		{kafkatest.ListenerSASLSSL, 1850},
		{kafkatest.ListenerMTLS, 1850},
	} {
		t.Run(tc.listener, func(t *testing.T) { runEndToEnd(t, tc.listener, tc.good) })
	}
}

func runEndToEnd(t *testing.T, listener string, nGood int) {
	b := kafkatest.Start(t, kafkatest.Options{DisableAutoCreateTopics: true, Secure: listener != kafkatest.ListenerPlaintext})
	outputs := []string{"publish.de", "publish.zh", "publish.en", "postedit.de", "postedit.zh", "postedit.en",
		"review.de", "review.zh", "review.en", "qegate.deadletter"}
	b.CreateTopics(t, 4, "mt.incoming")
	b.CreateTopics(t, 2, outputs...)

	good, goodIDs := e2ePairs(t, nGood)
	bad, badIDs := malformed(150)
	var lines []string
	j := 0
	for i, g := range good {
		lines = append(lines, g)
		if i%(nGood/150+1) == nGood/150 && j < len(bad) {
			lines = append(lines, bad[j])
			j++
		}
	}
	lines = append(lines, bad[j:]...)
	b.KcatProduce(t, "mt.incoming", lines, "-K", "\t")

	l := b.Listener(listener)
	conn := l.YAML(t)
	if listener == kafkatest.ListenerPlaintext {
		conn = "  brokers: [" + b.Addr() + "]\n"
	}
	_, password := b.User()
	metricsPort := freePort(t)
	cfg := writeConfig(t, fmt.Sprintf(`
kafka:
%s  group_id: e2e
  topics: [mt.incoming]
  commit_interval: 200ms
routes:
  publish: "publish.{tgt_lang}"
  post_edit: "postedit.{tgt_lang}"
  review: "review.{tgt_lang}"
  review_margin: 0.02
  dead_letter: qegate.deadletter
model:
  dir: %s
pipeline:
  drain_timeout: 20s
metrics:
  listen: 127.0.0.1:%d
log:
  format: json
`, conn, testModel(t), metricsPort))

	var stderr bytes.Buffer
	cmd := exec.Command(qegateBin, "run", "--config", cfg)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}()
	defer func() {
		// stderr is complete (and safe to read) once Wait has returned.
		if t.Failed() && cmd.Process.Kill() == nil {
			select {
			case <-exited:
				t.Logf("qegate stderr:\n%s", tail(stderr.String(), 3000))
			case <-time.After(10 * time.Second):
			}
		}
	}()

	// Done when the group's committed offsets reach the end of every
	// input partition: everything was written before it was committed.
	client := &kafka.Client{Addr: kafka.TCP(b.Addr())}
	testutil.WaitFor(t, 10*time.Minute, func() error {
		select {
		case err := <-exited:
			t.Fatalf("qegate exited early: %v\n%s", err, tail(stderr.String(), 3000))
		default:
		}
		if n := lag(client, "e2e", "mt.incoming", 4); n != 0 {
			return fmt.Errorf("not all input committed: lag %d (-1: offsets not readable yet)", n)
		}
		return nil
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", metricsPort)
	if code, body := httpGet(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d %q with every partition assigned and consumed", code, body)
	}
	// Everything is committed, so everything was written: the counters
	// must equal what is read back from the topics below.
	families := scrape(t, base+"/metrics")
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("qegate exit after SIGTERM: %v\n%s", err, tail(stderr.String(), 3000))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("qegate did not exit within 30s of SIGTERM")
	}
	t.Logf("exited %.1fs after SIGTERM", time.Since(start).Seconds())
	if password != "" && strings.Contains(stderr.String(), password) {
		t.Fatalf("qegate's output holds the SASL password")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	seen := map[string][]string{}
	reasons := map[string]int{}
	rulesHit := map[string]int{}
	criticalHit := 0
	for _, topic := range outputs {
		msgs, err := kafkaread.Topic(ctx, []string{b.Addr()}, topic)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			id := string(m.Key)
			seen[id] = append(seen[id], topic)
			if topic == "qegate.deadletter" {
				r := string(header(m, qe.HeaderError))
				if r == "" {
					t.Fatalf("dead letter %s has no qe-error header", id)
				}
				reasons[r]++
				continue // the sender's bytes, as sent
			}
			if err := uniqueKeys(m.Value); err != nil {
				t.Fatalf("output %s on %s is not JSON with unique member names: %v: %s", id, topic, err, m.Value)
			}
			var v struct {
				ID     string `json:"id"`
				Origin string `json:"origin"`
				QE     *struct {
					Rule         string   `json:"rule"`
					Reason       string   `json:"reason"`
					Score        *float64 `json:"score"`
					Label        string   `json:"label"`
					Threshold    *float64 `json:"threshold"`
					Model        string   `json:"model"`
					ModelVersion string   `json:"model_version"`
					// Critical and CriticalThreshold come with models that
					// have a critical-error output; at or above the
					// threshold the pair is rejected with a "critical
					// error:" reason.
					Critical          *float64 `json:"critical"`
					CriticalThreshold *float64 `json:"critical_threshold"`
				} `json:"qe"`
			}
			if err := json.Unmarshal(m.Value, &v); err != nil || v.QE == nil {
				t.Fatalf("output %s on %s lacks the qe object: %s", id, topic, m.Value)
			}
			// Both numbers are written with 6 decimals, so equal numbers can
			// lie on either side of the threshold (the model's critical
			// thresholds are dev pairs' probabilities, and the e2e pairs come
			// from dev): the reason says which; strictly above or below, the
			// numbers must agree with it.
			flagged := strings.HasPrefix(v.QE.Reason, "critical error:")
			if c, th := v.QE.Critical, v.QE.CriticalThreshold; flagged && (c == nil || th == nil || *c < *th) ||
				c != nil && th != nil && *c > *th && !flagged {
				t.Fatalf("output %s on %s: critical flag and numbers disagree: %s", id, topic, m.Value)
			}
			if (v.QE.Rule == "") != (v.QE.Score != nil && v.QE.Threshold != nil) || (v.QE.Rule != "" || flagged) != (v.QE.Reason != "") ||
				flagged && v.QE.Label != "rejected" || (v.QE.Critical != nil) != (len(header(m, qe.HeaderCritical)) > 0) ||
				v.QE.Model == "" || v.QE.ModelVersion == "" || (v.QE.Label != "acceptable" && v.QE.Label != "rejected") {
				t.Fatalf("output %s on %s has a malformed qe object: %s", id, topic, m.Value)
			}
			if flagged {
				criticalHit++
			}
			if v.ID != id || v.Origin != "e2e" {
				t.Fatalf("input fields not preserved on %s: %s", topic, m.Value)
			}
			if v.QE.Rule != "" {
				rulesHit[v.QE.Rule]++
				if string(header(m, qe.HeaderRule)) != v.QE.Rule || len(header(m, qe.HeaderReason)) == 0 {
					t.Fatalf("rule rejection %s lacks qe-rule/qe-reason headers", id)
				}
			} else if len(header(m, qe.HeaderScore)) == 0 {
				t.Fatalf("scored output %s lacks the qe-score header", id)
			}
			if len(header(m, qe.HeaderLabel)) == 0 || len(header(m, qe.HeaderModel)) == 0 {
				t.Fatalf("output %s lacks qe-* headers", id)
			}
			if strings.HasPrefix(topic, "publish.") && v.QE.Label != "acceptable" || strings.HasPrefix(topic, "postedit.") && v.QE.Label != "rejected" {
				t.Fatalf("output %s labelled %s on %s", id, v.QE.Label, topic)
			}
		}
	}
	missing, dup := 0, 0
	for _, id := range append(append([]string{}, goodIDs...), badIDs...) {
		switch n := len(seen[id]); {
		case n == 0:
			missing++
		case n > 1:
			dup++
		}
	}
	for _, id := range badIDs {
		if len(seen[id]) > 0 && seen[id][0] != "qegate.deadletter" {
			t.Fatalf("malformed %s routed to %v", id, seen[id])
		}
	}
	for _, id := range goodIDs {
		if len(seen[id]) > 0 && seen[id][0] == "qegate.deadletter" {
			t.Fatalf("valid %s dead-lettered", id)
		}
	}
	t.Logf("routed %d ids; dead-letter reasons: %v", len(seen), reasons)
	if missing != 0 || dup != 0 || len(seen) != len(lines) {
		t.Fatalf("missing %d, duplicated %d, distinct %d of %d", missing, dup, len(seen), len(lines))
	}
	if len(reasons) < 8 {
		t.Fatalf("want at least 8 distinct dead-letter reasons, got %v", reasons)
	}
	t.Logf("rule prefilter rejections: %v; critical errors: %d", rulesHit, criticalHit)
	checkMetrics(t, families, seen, len(lines), rulesHit, criticalHit)
	// kcat, a third-party client, reads the dead letters' headers back too.
	out := b.Kcat(t, "-C", "-t", "qegate.deadletter", "-e", "-q", "-f", "%k %h\n")
	if n := strings.Count(out, "qe-error="); n != len(badIDs) {
		t.Fatalf("kcat sees %d dead letters with qe-error, want %d", n, len(badIDs))
	}
}

// TestStartupFailures: each start-up problem prints one clear error and
// exits non-zero.
func TestStartupFailures(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{DisableAutoCreateTopics: true})
	b.CreateTopics(t, 1, "in", "publish.de", "postedit.de", "qegate.deadletter")
	base := func(brokers, model, extra string) string {
		return writeConfig(t, fmt.Sprintf("kafka:\n  brokers: [%s]\n  topics: [in]\n  session_timeout: 6s\nmodel:\n  dir: %s\n%s", brokers, model, extra))
	}
	tests := []struct {
		name, cfg, want string
	}{
		{"bad config key", base(b.Addr(), testModel(t), "pipeline:\n  batchsize: 3\n"), "unknown key(s): pipeline.batchsize"},
		{"no model", base(b.Addr(), "/nonexistent/model", ""), "model"},
		{"broker unreachable", base(fmt.Sprintf("127.0.0.1:%d", freePort(t)), testModel(t), ""), "nothing listens"},
		{"missing topic", base(b.Addr(), testModel(t), "routes:\n  publish: \"publish.{tgt_lang}\"\n  post_edit: \"nowhere.{tgt_lang}\"\n"), "topic(s) do not exist"},
	}
	runStartupFailures(t, tests, "")
}

func lag(client *kafka.Client, group, topic string, parts int) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var reqs []kafka.OffsetRequest
	var ids []int
	for p := 0; p < parts; p++ {
		reqs = append(reqs, kafka.LastOffsetOf(p))
		ids = append(ids, p)
	}
	ends, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return -1
	}
	com, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
	if err != nil || com.Error != nil || len(com.Topics[topic]) < parts {
		return -1 // e.g. the coordinator is still loading offsets: not done
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
		c := p.CommittedOffset
		if c < 0 {
			c = 0
		}
		total += end[p.Partition] - c
	}
	return total
}

func header(m kafka.Message, key string) []byte {
	for _, h := range m.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// scrape reads a Prometheus text exposition.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := httpGet(t, url)
	if code != 200 {
		t.Fatalf("GET %s = %d", url, code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return fams
}

// checkMetrics holds the scraped counters to what the topics hold: routes
// per qegate_messages_total, one score per scored message, one latency
// per message, no lag, the model named.
func checkMetrics(t *testing.T, fams map[string]*dto.MetricFamily, seen map[string][]string, total int, rulesHit map[string]int, critical int) {
	t.Helper()
	want := map[string]float64{}
	for _, topics := range seen {
		route := "dead_letter"
		switch tp := topics[0]; {
		case strings.HasPrefix(tp, "publish."):
			route = "accepted"
		case strings.HasPrefix(tp, "postedit."):
			route = "rejected"
		case strings.HasPrefix(tp, "review."):
			route = "review"
		}
		want[route]++
	}
	got := map[string]float64{}
	for _, m := range fams["qegate_messages_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" {
				got[l.GetValue()] += m.GetCounter().GetValue()
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("qegate_messages_total by route %v, topics hold %v", got, want)
	}
	var scores uint64
	for _, m := range fams["qegate_score"].GetMetric() {
		scores += m.GetHistogram().GetSampleCount()
	}
	ruled := 0
	for rule, n := range rulesHit {
		ruled += n
		var got float64
		for _, m := range fams["qegate_rule_rejections_total"].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "rule" && l.GetValue() == rule {
					got = m.GetCounter().GetValue()
				}
			}
		}
		if int(got) != n {
			t.Fatalf("qegate_rule_rejections_total{rule=%q} = %v, topics hold %d", rule, got, n)
		}
	}
	if int(scores) != total-int(want["dead_letter"])-ruled {
		t.Fatalf("qegate_score holds %d scores, want %d", scores, total-int(want["dead_letter"])-ruled)
	}
	if n := fams["qegate_end_to_end_seconds"].GetMetric()[0].GetHistogram().GetSampleCount(); int(n) != total {
		t.Fatalf("qegate_end_to_end_seconds observed %d messages, want %d", n, total)
	}
	for _, m := range fams["qegate_consumer_lag"].GetMetric() {
		if m.GetGauge().GetValue() != 0 {
			t.Fatalf("consumer lag %v after everything was committed: %v", m.GetGauge().GetValue(), m.GetLabel())
		}
	}
	var flagged float64
	for _, m := range fams["qegate_critical_total"].GetMetric() {
		flagged += m.GetCounter().GetValue()
	}
	if int(flagged) != critical {
		t.Fatalf("qegate_critical_total = %v, topics hold %d outputs flagged critical", flagged, critical)
	}
	if len(fams["qegate_model_info"].GetMetric()) != 1 {
		t.Fatalf("qegate_model_info: %v", fams["qegate_model_info"])
	}
}

// runStartupFailures runs qegate on each config: it must exit non-zero with
// one last line "qegate: ...want...", and never print secret.
func runStartupFailures(t *testing.T, tests []struct{ name, cfg, want string }, secret string) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, qegateBin, "run", "--config", tc.cfg)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if err == nil {
				t.Fatal("exit status 0, want failure")
			}
			msg := strings.TrimSpace(stderr.String())
			if secret != "" && strings.Contains(msg, secret) {
				t.Fatalf("the password is in qegate's output:\n%s", msg)
			}
			last := msg[strings.LastIndexByte(msg, '\n')+1:]
			if !strings.HasPrefix(last, "qegate: ") || !strings.Contains(last, tc.want) || strings.Count(msg, tc.want) > 1 {
				t.Fatalf("last stderr line %q, want qegate: ...%s...", last, tc.want)
			}
		})
	}
}

// TestStartupSecurityFailures: each bad connection setting against a real
// TLS/SASL broker ends start-up with one line that says what to fix, and
// never prints the password.
func TestStartupSecurityFailures(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{DisableAutoCreateTopics: true, Secure: true})
	b.CreateTopics(t, 1, "in", "publish.de", "postedit.de", "qegate.deadletter")
	sasl, mtls := b.Listener(kafkatest.ListenerSASLSSL), b.Listener(kafkatest.ListenerMTLS)
	expired, wrongHost := b.Listener(kafkatest.ListenerExpired), b.Listener(kafkatest.ListenerWrongHost)
	certs := b.Certs()
	user, password := b.User()
	wrongPW := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(wrongPW, []byte("not-"+password), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := func(addr, conn string) string {
		return writeConfig(t, fmt.Sprintf("kafka:\n  brokers: [%s]\n  topics: [in]\n  session_timeout: 6s\n%smodel:\n  dir: %s\n", addr, conn, testModel(t)))
	}
	tlsCA := func(ca string) string { return fmt.Sprintf("  tls: {enable: true, ca_file: %q}\n", ca) }
	saslWith := func(pwFile string) string {
		return fmt.Sprintf("  sasl: {mechanism: SCRAM-SHA-512, username: %q, password_file: %q}\n", user, pwFile)
	}
	tests := []struct{ name, cfg, want string }{
		{"wrong password", cfg(sasl.Addr, tlsCA(certs.CAFile)+saslWith(wrongPW)), "authentication failed for user " + user},
		{"plaintext client on a TLS listener", cfg(mtls.Addr, ""), "plaintext client on a TLS listener"},
		{"unknown CA", cfg(mtls.Addr, fmt.Sprintf("  tls: {enable: true, ca_file: %q, cert_file: %q, key_file: %q}\n", certs.OtherCAFile, certs.Client.CertFile, certs.Client.KeyFile)), "certificate signed by unknown authority"},
		{"expired broker certificate", cfg(expired.Addr, tlsCA(certs.CAFile)), "has expired"},
		{"certificate for another host", cfg(wrongHost.Addr, tlsCA(certs.CAFile)), "certificate is valid for " + pki.WrongHost},
		{"expired client certificate", cfg(mtls.Addr, fmt.Sprintf("  tls: {enable: true, ca_file: %q, cert_file: %q, key_file: %q}\n", certs.CAFile, certs.ExpiredClient.CertFile, certs.ExpiredClient.KeyFile)), "expired on"},
	}
	runStartupFailures(t, tests, password)
}
