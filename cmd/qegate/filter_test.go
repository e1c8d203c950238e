package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func countLines(t *testing.T, path string) int {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		n++
	}
	return n
}

// TestFilterFiles gates a TSV and a JSONL file with the tiny model: every
// line lands in exactly one output file, bad lines in dead_letter.jsonl.
func TestFilterFiles(t *testing.T) {
	dir := t.TempDir()
	tsv := filepath.Join(dir, "en-de.tsv")
	jsonl := filepath.Join(dir, "mixed.jsonl")
	if err := os.WriteFile(tsv, []byte("Hello world\tHallo Welt\nGood morning\tGuten Morgen\nonly one column\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jsonl, []byte(`{"src":"a cat","mt":"eine Katze","src_lang":"en","tgt_lang":"de"}`+"\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var stdout bytes.Buffer
	rootCmd.SetOut(&stdout)
	rootCmd.SetArgs([]string{"filter", "--model", filepath.Join("..", "..", "scorer", "testdata", "tiny"), "-o", out, tsv, jsonl})
	defer rootCmd.SetArgs(nil)
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	scored := countLines(t, filepath.Join(out, "accepted.jsonl")) + countLines(t, filepath.Join(out, "rejected.jsonl"))
	dead := countLines(t, filepath.Join(out, "dead_letter.jsonl"))
	if scored != 3 || dead != 2 {
		t.Fatalf("scored %d (want 3), dead %d (want 2); stdout: %s", scored, dead, stdout.String())
	}
	if !strings.Contains(stdout.String(), "5 lines (complete)") {
		t.Fatalf("summary: %s", stdout.String())
	}
}
