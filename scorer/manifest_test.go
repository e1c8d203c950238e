package scorer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tinyManifestJSON(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tinyDir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func outputsOf(m map[string]any) []any { return m["outputs"].([]any) }
func output(m map[string]any, i int) map[string]any {
	return outputsOf(m)[i].(map[string]any)
}

func TestParseManifestTiny(t *testing.T) {
	m, err := LoadManifest(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	if m.MaxLen != 128 || m.SpecialTokens != (SpecialTokens{BOS: 0, PAD: 1, EOS: 2, UNK: 3}) ||
		len(m.Outputs) != 3 || m.DefaultOutput != "da51" || m.Dir != tinyDir {
		t.Fatalf("unexpected manifest %+v", m)
	}
	da51 := m.Output("da51")
	if da51 == nil || da51.Index != 1 || da51.Threshold("en-de") != 0.6 || da51.Threshold("fr-en") != 0.5 {
		t.Fatalf("da51 = %+v", da51)
	}
	if m.Output("nope") != nil {
		t.Fatal("Output(nope) != nil")
	}
}

func TestManifestValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(m map[string]any)
		want   []string // substrings of the error
	}{
		{"max_len too small", func(m map[string]any) { m["max_len"] = 3 }, []string{"max_len is 3"}},
		{"max_len missing", func(m map[string]any) { delete(m, "max_len") }, []string{"max_len is 0"}},
		{"pair format", func(m map[string]any) { m["pair_format"] = "bert" }, []string{`pair_format "bert" is not supported`}},
		{"special tokens missing", func(m map[string]any) { delete(m, "special_tokens") }, []string{"special_tokens is missing"}},
		{"eos missing", func(m map[string]any) { delete(m["special_tokens"].(map[string]any), "eos") }, []string{"special_tokens.eos is missing"}},
		{"negative pad", func(m map[string]any) { m["special_tokens"].(map[string]any)["pad"] = -1 }, []string{"special_tokens.pad is negative"}},
		{"wrong inputs", func(m map[string]any) { m["onnx"].(map[string]any)["inputs"] = []string{"input_ids"} }, []string{"onnx.inputs"}},
		{"no output name", func(m map[string]any) { m["onnx"].(map[string]any)["output"] = "" }, []string{"onnx.output is empty"}},
		{"no outputs", func(m map[string]any) { m["outputs"] = []any{} }, []string{"outputs is empty", "default_output"}},
		{"index out of range", func(m map[string]any) { output(m, 1)["index"] = 3 }, []string{`outputs[1] ("da70"): index 3 out of range [0, 3)`}},
		{"negative index", func(m map[string]any) { output(m, 0)["index"] = -1 }, []string{"index -1 out of range"}},
		{"duplicate index", func(m map[string]any) { output(m, 2)["index"] = 1 }, []string{`index 1 already used by "da51"`}},
		{"duplicate name", func(m map[string]any) { output(m, 1)["name"] = "da51" }, []string{"name repeats outputs[0]"}},
		{"empty name", func(m map[string]any) { output(m, 1)["name"] = "" }, []string{"outputs[1]: name is empty"}},
		{"unknown transform", func(m map[string]any) { output(m, 0)["transform"] = "softmax" }, []string{`unknown transform "softmax"`}},
		{"unknown kind", func(m map[string]any) { output(m, 0)["kind"] = "ranking" }, []string{`unknown kind "ranking"`}},
		{"default threshold missing", func(m map[string]any) { delete(output(m, 2), "default_threshold") }, []string{`outputs[2] ("z"): default_threshold is missing`}},
		{"default output unknown", func(m map[string]any) { m["default_output"] = "da99" }, []string{`default_output "da99" names no output`}},
		{"head mismatch", func(m map[string]any) { m["head"] = "regression" }, []string{`head "regression" differs`}},
		{"several problems at once", func(m map[string]any) {
			m["max_len"] = 0
			output(m, 0)["transform"] = "tanh"
		}, []string{"max_len is 0", `unknown transform "tanh"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tinyManifestJSON(t)
			tc.mutate(m)
			b, _ := json.Marshal(m)
			_, err := ParseManifest(b)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "scorer: invalid model.json: ") {
				t.Errorf("error %q lacks the scorer prefix", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseManifestSyntax(t *testing.T) {
	for _, in := range []string{"", "{", `{"max_len": "x"}`, "[]"} {
		if _, err := ParseManifest([]byte(in)); err == nil || !strings.Contains(err.Error(), "scorer: ") {
			t.Errorf("ParseManifest(%q) = %v", in, err)
		}
	}
}

func TestSingleOutputManifest(t *testing.T) {
	m := tinyManifestJSON(t)
	m["outputs"] = []any{output(m, 0)}
	output(m, 0)["index"] = 0
	b, _ := json.Marshal(m)
	if _, err := ParseManifest(b); err != nil {
		t.Fatal(err)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	m, err := LoadManifest(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Output("da51").Threshold("si-en") != 0.4 || m2.Outputs[2].DefaultThreshold != 0 {
		t.Fatalf("round trip lost thresholds: %+v", m2.Outputs)
	}
}

func TestLoadManifestFiles(t *testing.T) {
	copyTiny := func(t *testing.T, skip string) string {
		dir := t.TempDir()
		for _, f := range []string{ManifestFile, ModelFile, TokenizerFile} {
			if f == skip {
				continue
			}
			b, err := os.ReadFile(filepath.Join(tinyDir, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	for _, tc := range []struct {
		skip string
		want string
	}{
		{ManifestFile, "model.json: no such file"},
		{ModelFile, "model.onnx: no such file"},
		{TokenizerFile, "tokenizer.json: no such file"},
	} {
		t.Run(tc.skip, func(t *testing.T) {
			_, err := LoadManifest(copyTiny(t, tc.skip))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "scorer: ") {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := LoadManifest(""); err == nil {
		t.Fatal("LoadManifest(\"\") succeeded")
	}
}
