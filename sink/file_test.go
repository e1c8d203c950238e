package sink

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/qegate/qegate/internal/qe"
)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func TestFileSink(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "nested")
	s, err := NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	recs := []Record{
		{Topic: "accepted", Value: []byte(`{"id":"a","qe":{"score":0.9}}`)},
		{Topic: "dead_letter", Value: []byte("not json\xff"), Headers: []qe.Header{{Key: qe.HeaderError, Value: []byte("invalid UTF-8 in message")}}},
		{Topic: "dead_letter", Value: []byte(`[1,2]`)}, // valid JSON but not an object: enveloped too
		{Topic: "../../escape", Value: []byte(`{"id":"x"}`)},
		{Topic: "accepted", Value: []byte(`{"id":"b"}`)},
	}
	if err := s.Write(context.Background(), recs[:2]); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), recs[2:]); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readLines(t, s.Path("accepted")); len(got) != 2 || got[0] != string(recs[0].Value) || got[1] != string(recs[4].Value) {
		t.Fatalf("accepted.jsonl = %q", got)
	}
	dl := readLines(t, s.Path("dead_letter"))
	if len(dl) != 2 {
		t.Fatalf("dead_letter.jsonl has %d lines", len(dl))
	}
	var env struct {
		ValueB64 string            `json:"value_b64"`
		Headers  map[string]string `json:"headers"`
	}
	if err := json.Unmarshal([]byte(dl[0]), &env); err != nil {
		t.Fatal(err)
	}
	if v, _ := base64.StdEncoding.DecodeString(env.ValueB64); string(v) != "not json\xff" || env.Headers[qe.HeaderError] != "invalid UTF-8 in message" {
		t.Fatalf("envelope lost the value or the reason: %+v", env)
	}
	if p := s.Path("../../escape"); filepath.Dir(p) != dir {
		t.Fatalf("destination name escaped the directory: %s", p)
	}
	if len(readLines(t, s.Path("../../escape"))) != 1 {
		t.Fatal("sanitised destination not written")
	}
}

func TestFileSinkCancelled(t *testing.T) {
	s, err := NewFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Write(ctx, []Record{{Topic: "a", Value: []byte(`{}`)}}); err == nil {
		t.Fatal("write with a cancelled context succeeded")
	}
}
