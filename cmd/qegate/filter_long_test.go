package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFilterLongInputs runs the filter (real scorer, tiny model) over long
// inputs: a paragraph is scored in pieces and names them, a rule that
// rejects one piece names that piece, a message of more pieces than
// input.max_segments is dead-lettered, and a sentence is scored whole with
// neither member. Every output line decodes with unique member names.
func TestFilterLongInputs(t *testing.T) {
	dir := t.TempDir()
	para := func(id, src, mt string) string {
		b, _ := json.Marshal(map[string]string{"id": id, "src": src, "mt": mt, "src_lang": "en", "tgt_lang": "de"})
		return string(b)
	}
	var manySrc, manyMT strings.Builder
	for i := range 70 {
		fmt.Fprintf(&manySrc, "Sentence number %d is here. ", i)
		fmt.Fprintf(&manyMT, "Satz Nummer %d ist hier. ", i)
	}
	lines := []string{
		para("para", "The museum is closed today. It opens again on Tuesday. Tickets are sold at the door.",
			"Das Museum ist heute geschlossen. Es öffnet am Dienstag wieder. Karten gibt es an der Tür."),
		para("rule", "The museum is closed today. It opened in 1832.",
			"Das Museum ist heute geschlossen. Es wurde 1923 eröffnet."),
		para("many", manySrc.String(), manyMT.String()),
		para("one", "The museum is closed today.", "Das Museum ist heute geschlossen."),
	}
	in := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var stdout bytes.Buffer
	rootCmd.SetOut(&stdout)
	rootCmd.SetArgs([]string{"filter", "--model", filepath.Join("..", "..", "scorer", "testdata", "tiny"), "-o", out, in})
	defer rootCmd.SetArgs(nil)
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if n := checkJSONLines(t, filepath.Join(out, "annotated.jsonl")); n != len(lines) {
		t.Fatalf("annotated.jsonl has %d lines, want %d", n, len(lines))
	}
	ann, err := os.ReadFile(filepath.Join(out, "annotated.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	type member struct {
		Score        *json.Number `json:"score"`
		Route        string       `json:"route"`
		Rule         string       `json:"rule"`
		Reason       string       `json:"reason"`
		Segments     int          `json:"segments"`
		WorstSegment *int         `json:"worst_segment"`
		Truncated    bool         `json:"truncated"`
	}
	got := map[string]member{}
	for _, line := range strings.Split(strings.TrimSpace(string(ann)), "\n") {
		var v struct {
			ID string
			QE member `json:"qe"`
		}
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("annotated line %q: %v", line, err)
		}
		got[v.ID] = v.QE
	}
	if m := got["para"]; m.Segments != 3 || m.WorstSegment == nil || *m.WorstSegment < 0 || *m.WorstSegment > 2 || m.Score == nil || m.Truncated {
		t.Errorf("paragraph: %+v, want 3 segments, a worst one and a score", m)
	}
	if m := got["rule"]; m.Rule != "numbers" || m.Segments != 2 || m.WorstSegment == nil || *m.WorstSegment != 1 {
		t.Errorf("rule: %+v, want the numbers rule on segment 1 of 2", m)
	}
	if m := got["many"]; m.Route != "dead_letter" || !strings.Contains(m.Reason, "too many sentences: 70 pieces") {
		t.Errorf("many: %+v, want a dead letter for 70 pieces", m)
	}
	if m := got["one"]; m.Segments != 0 || m.WorstSegment != nil || m.Score == nil {
		t.Errorf("one sentence: %+v, want it scored whole", m)
	}
}
