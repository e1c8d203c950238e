package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// uniqueKeys decodes b as one JSON value and fails when an object in it
// (at any depth) names a member twice: encoding/json keeps the last of
// duplicate names silently, other parsers keep the first or refuse.
func uniqueKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := uniqueValue(dec); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// uniqueValue reads one value from dec, checking the names of every
// object in it.
func uniqueValue(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			name, err := dec.Token()
			if err != nil {
				return err
			}
			k := name.(string)
			if seen[k] {
				return fmt.Errorf("duplicate member %q", k)
			}
			seen[k] = true
			if err := uniqueValue(dec); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		_, err = dec.Token() // '}'
		return err
	case json.Delim('['):
		for dec.More() {
			if err := uniqueValue(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
		return err
	}
	return nil
}

func TestUniqueKeys(t *testing.T) {
	for _, tc := range []struct {
		in, err string
	}{
		{`{"a":1,"b":{"c":[1,{"d":2,"e":3}]}}`, ""},
		{`{"a":1,"a":2}`, `duplicate member "a"`},
		{`{"qe":{"rule":"copy","reason":"x","reason":"x"}}`, `qe: duplicate member "reason"`},
		{`[{"a":1},{"a":1,"b":[{"c":1,"c":2}]}]`, `duplicate member "c"`},
		{`{"a":1} {"b":2}`, "trailing data"},
		{`{"a":`, "EOF"},
	} {
		err := uniqueKeys([]byte(tc.in))
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("uniqueKeys(%s) = %v, want %q", tc.in, err, tc.err)
		}
	}
}

// checkJSONLines decodes every line of path with uniqueKeys and returns
// the number of lines.
func checkJSONLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for s.Scan() {
		n++
		if err := uniqueKeys(s.Bytes()); err != nil {
			t.Fatalf("%s line %d: %v: %s", filepath.Base(path), n, err, s.Text())
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFilterOutputsStrictJSON filters lines that exercise every output
// (scored, rule-rejected by the copy and length_ratio rules, dead letters
// of JSON and non-JSON input, input with a qe member of its own): every
// line of every output file is one JSON value whose member names are
// unique, and a rule rejection's annotated line names its reason once.
func TestFilterOutputsStrictJSON(t *testing.T) {
	dir := t.TempDir()
	copied := "The quick brown fox jumps over the lazy dog near the river bank."
	long := "The committee approved the new budget after a long debate on Tuesday evening."
	lines := []string{
		`{"id":"1","src":"Hello world","mt":"Hallo Welt","src_lang":"en","tgt_lang":"de"}`,
		`{"id":"2","src":"` + copied + `","mt":"` + copied + `","src_lang":"en","tgt_lang":"de"}`,
		`{"id":"3","src":"` + long + `","mt":"Ja.","src_lang":"en","tgt_lang":"de"}`,
		`{"id":"4","src":"a cat","mt":"eine Katze","src_lang":"en","tgt_lang":"de","qe":{"reason":"stale","source":"old"}}`,
		`{"id":"5","src":"","mt":"leer","src_lang":"en","tgt_lang":"de"}`,
		`{"id":"6","src":"Good morning","mt":"Guten Morgen","src_lang":"en","tgt_lang":"de","qe":{"route":"x"}}`,
		`not json`,
		`{"id":"8","src":"Thank \u00fc you","mt":"Danke","src_lang":"en","tgt_lang":"de"}`,
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
	files, err := filepath.Glob(filepath.Join(out, "*.jsonl"))
	if err != nil || len(files) < 3 {
		t.Fatalf("outputs %v (%v); stdout: %s", files, err, stdout.String())
	}
	total := 0
	for _, f := range files {
		n := checkJSONLines(t, f)
		if filepath.Base(f) == "annotated.jsonl" {
			if n != len(lines) {
				t.Fatalf("annotated.jsonl has %d lines, want %d", n, len(lines))
			}
			continue
		}
		total += n
	}
	if total != len(lines) {
		t.Fatalf("route files hold %d lines, want %d", total, len(lines))
	}
	ann, err := os.ReadFile(filepath.Join(out, "annotated.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(ann)), "\n") {
		var v struct {
			QE struct{ Rule, Reason, Source string } `json:"qe"`
		}
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("annotated line %q: %v", line, err)
		}
		if v.QE.Source == "" {
			t.Fatalf("annotated line without its source: %s", line)
		}
		if v.QE.Rule != "" {
			rules[v.QE.Rule] = true
			if v.QE.Reason == "" || strings.Count(line, `"reason"`) != 1 {
				t.Fatalf("rule rejection without exactly one reason: %s", line)
			}
		}
	}
	if !rules["copy"] || !rules["length_ratio"] {
		t.Fatalf("want copy and length_ratio rejections among the lines, got %v:\n%s", rules, ann)
	}
}
