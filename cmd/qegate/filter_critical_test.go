package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/qegate/qegate/internal/qe"
	"github.com/qegate/qegate/scorer"
)

// criticalInput writes the critical test model's reference pairs as a
// JSONL corpus and returns it with the number of pairs the scorer flags.
func criticalInput(t *testing.T) (path string, n, flagged int) {
	t.Helper()
	evalNeedScorer(t)
	f, err := os.Open(filepath.Join(evalCriticalModel, "reference.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var pairs []qe.Pair
	var b bytes.Buffer
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct{ LP, Src, MT string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		s, tg, _ := strings.Cut(r.LP, "-")
		pairs = append(pairs, qe.Pair{Src: r.Src, MT: r.MT, SrcLang: s, TgtLang: tg})
		line, _ := json.Marshal(map[string]string{"src": r.Src, "mt": r.MT, "src_lang": s, "tgt_lang": tg})
		b.Write(append(line, '\n'))
	}
	path = filepath.Join(t.TempDir(), "corpus.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := scorer.New(scorer.Config{ModelDir: evalCriticalModel})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Score(context.Background(), pairs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Critical.Flagged {
			flagged++
		}
	}
	if flagged == 0 || flagged == len(pairs) {
		t.Fatalf("%d of %d reference pairs flagged: the test needs both", flagged, len(pairs))
	}
	return path, len(pairs), flagged
}

// filterQE reads the qe members of an output file (none when it is absent).
func filterQE(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var v struct{ QE map[string]any }
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v.QE)
	}
	return out
}

func isFlagged(t *testing.T, q map[string]any) bool {
	t.Helper()
	p, err1 := strconv.ParseFloat(string(q["critical"].(json.Number)), 64)
	th, err2 := strconv.ParseFloat(string(q["critical_threshold"].(json.Number)), 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("qe.critical %v, critical_threshold %v", q["critical"], q["critical_threshold"])
	}
	// Both numbers have 6 decimals, so equal numbers can lie on either side
	// of the threshold: the reason says which.
	reason, _ := q["reason"].(string)
	flagged := strings.HasPrefix(reason, "critical error:")
	if p > th && !flagged || p < th && flagged {
		t.Fatalf("qe.critical %v, critical_threshold %v, reason %q disagree", q["critical"], q["critical_threshold"], reason)
	}
	return flagged
}

// TestFilterCritical: the filter makes the gate's critical decision. By
// default flagged pairs land in rejected.jsonl with the reason; with
// --critical in critical.jsonl; never in accepted.jsonl. Every scored line
// carries qe.critical.
func TestFilterCritical(t *testing.T) {
	in, n, flagged := criticalInput(t)
	resetCriticalFlag(t)
	model := evalCriticalModel
	run := func(args ...string) (string, string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "out")
		var stdout bytes.Buffer
		rootCmd.SetOut(&stdout)
		rootCmd.SetArgs(append([]string{"filter", "--model", model, "-o", out, "--progress", "none"}, append(args, in)...))
		defer rootCmd.SetArgs(nil)
		if err := rootCmd.Execute(); err != nil {
			t.Fatal(err)
		}
		return out, stdout.String()
	}
	readQE := func(out, name string) []map[string]any {
		t.Helper()
		qs := filterQE(t, filepath.Join(out, name))
		for _, q := range qs { // numbers as written
			for k, v := range q {
				if f, ok := v.(float64); ok {
					q[k] = json.Number(strconv.FormatFloat(f, 'f', 6, 64))
				}
			}
		}
		return qs
	}
	for _, tc := range []struct {
		name     string
		args     []string
		flagFile string // where flagged pairs go
		route    string
		summary  string // the critical count in the summary line
	}{
		{"default: rejected with the reason", []string{"--critical=false"}, "rejected.jsonl", "rejected", "critical 0,"},
		{"--critical: critical.jsonl", []string{"--critical"}, "critical.jsonl", "critical", fmt.Sprintf("critical %d,", flagged)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, summary := run(tc.args...)
			if !strings.Contains(summary, tc.summary) {
				t.Errorf("summary lacks %q:\n%s", tc.summary, summary)
			}
			accepted, rejected, critical := readQE(out, "accepted.jsonl"), readQE(out, "rejected.jsonl"), readQE(out, "critical.jsonl")
			if len(accepted)+len(rejected)+len(critical) != n {
				t.Fatalf("%d + %d + %d lines, want %d", len(accepted), len(rejected), len(critical), n)
			}
			got := 0
			for file, qs := range map[string][]map[string]any{"accepted.jsonl": accepted, "rejected.jsonl": rejected, "critical.jsonl": critical} {
				for _, q := range qs {
					if !isFlagged(t, q) {
						if file == "critical.jsonl" || q["reason"] != nil {
							t.Errorf("%s: unflagged pair with %v", file, q)
						}
						continue
					}
					got++
					reason, _ := q["reason"].(string)
					if file != tc.flagFile || q["route"] != tc.route || q["label"] != "rejected" || !strings.HasPrefix(reason, "critical error: probability ") {
						t.Errorf("%s: flagged pair %v; want it in %s, route %s, label rejected, with the reason", file, q, tc.flagFile, tc.route)
					}
				}
			}
			if got != flagged {
				t.Fatalf("%d flagged lines, the scorer flags %d", got, flagged)
			}
		})
	}
}

// TestFilterCriticalNeedsCriticalOutput: --critical with a model that
// cannot flag anything is refused, not silently empty.
func TestFilterCriticalNeedsCriticalOutput(t *testing.T) {
	in, _, _ := criticalInput(t)
	resetCriticalFlag(t)
	rootCmd.SetArgs([]string{"filter", "--model", evalTinyModel, "-o", filepath.Join(t.TempDir(), "out"), "--progress", "none", "--critical", in})
	defer rootCmd.SetArgs(nil)
	err := rootCmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "has no critical-error output") {
		t.Fatalf("filter --critical with the 3-output model: %v", err)
	}
}

// resetCriticalFlag puts --critical back to its default after a test, as
// cobra keeps a flag's value across executions of rootCmd.
func resetCriticalFlag(t *testing.T) {
	t.Cleanup(func() {
		cmd, _, err := rootCmd.Find([]string{"filter"})
		if err == nil {
			err = cmd.Flags().Set("critical", "false")
		}
		if err != nil {
			t.Error(err)
		}
	})
}
