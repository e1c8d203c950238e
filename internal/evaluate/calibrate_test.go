package evaluate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseGoal(t *testing.T) {
	tests := []struct {
		in      string
		want    Goal
		wantErr bool
	}{
		{"max-f1", Goal{MaxF1: true}, false},
		{" MAX-F1 ", Goal{MaxF1: true}, false},
		{"precision=0.95", Goal{Precision: 0.95}, false},
		{"precision=1", Goal{Precision: 1}, false},
		{"precision=0", Goal{}, true},
		{"precision=1.5", Goal{}, true},
		{"precision=-0.1", Goal{}, true},
		{"precision=abc", Goal{}, true},
		{"precision=NaN", Goal{}, true},
		{"precision=", Goal{}, true},
		{"recall=0.9", Goal{}, true},
		{"", Goal{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			g, err := ParseGoal(tt.in)
			if (err != nil) != tt.wantErr || g != tt.want {
				t.Fatalf("ParseGoal(%q) = %+v, %v", tt.in, g, err)
			}
			if err == nil {
				if back, _ := ParseGoal(g.String()); back != g {
					t.Errorf("String round trip: %q -> %+v", g.String(), back)
				}
			}
		})
	}
}

func TestCurveAndChoose(t *testing.T) {
	// Scores high to low with gold: 0.9 T, 0.8 T, 0.8 F (tie), 0.6 T, 0.4 F, 0.3 T, 0.1 F
	scores := []float32{0.3, 0.9, 0.8, 0.1, 0.6, 0.8, 0.4}
	gold := []bool{true, true, true, false, true, false, false}
	c := Curve(scores, gold)
	if len(c) != 6 {
		t.Fatalf("%d points, want 6 (one per distinct score)", len(c))
	}
	for _, p := range c {
		// The threshold reproduces the point's decisions.
		cm := Count(gold, Threshold(f32to64(scores), float64(p.Threshold)))
		if cm != p.Confusion {
			t.Errorf("threshold %v: counts %+v, curve says %+v", p.Threshold, cm, p.Confusion)
		}
	}
	// Thresholds are short decimals between distinct scores.
	if c[0].Threshold != 0.9 && c[0].Threshold != 0.85 {
		t.Errorf("first threshold %v", c[0].Threshold)
	}
	if c[1].Threshold != 0.7 {
		t.Errorf("second threshold %v, want 0.7 (between 0.6 and 0.8)", c[1].Threshold)
	}

	tests := []struct {
		goal   string
		ok     bool
		thr    float32
		reason string
	}{
		// F1 per point: 0.9:2/5=.4  0.8:6/8=.667(tp2 fp1 fn2)  0.6: tp3 fp1 fn1 -> .75
		// 0.4: tp3 fp2 fn1 -> 6/9=.667  0.3: tp4 fp2 -> 8/10=.8  0.1: tp4 fp3 -> 8/11
		{"max-f1", true, 0.2, ""}, // at score 0.3; 0.2 lies between 0.1 and 0.3
		{"precision=1", true, 0.9, ""},
		{"precision=0.75", true, 0.5, ""}, // lowest threshold with precision >= .75 is at 0.6 (3/4)
		{"precision=0.6", true, 0.2, ""},  // 0.3: 4/6 = .667
	}
	for _, tt := range tests {
		t.Run(tt.goal, func(t *testing.T) {
			g, _ := ParseGoal(tt.goal)
			ch := Choose(g, c)
			if ch.OK != tt.ok || ch.Threshold != tt.thr {
				t.Errorf("Choose = %+v, want ok %v threshold %v", ch, tt.ok, tt.thr)
			}
			if g.Precision > 0 && ch.Precision < g.Precision {
				t.Errorf("precision %v below target", ch.Precision)
			}
		})
	}

	noPos := Curve([]float32{0.1, 0.2}, []bool{false, false})
	if ch := Choose(Goal{MaxF1: true}, noPos); ch.OK || !strings.Contains(ch.Reason, "no gold-acceptable") {
		t.Errorf("no positives: %+v", ch)
	}
	if ch := Choose(Goal{MaxF1: true}, nil); ch.OK {
		t.Errorf("empty: %+v", ch)
	}
	unreachable := Curve([]float32{0.9, 0.2}, []bool{false, true})
	if ch := Choose(Goal{Precision: 0.9}, unreachable); ch.OK || !strings.Contains(ch.Reason, "not reached") {
		t.Errorf("unreachable precision: %+v", ch)
	}

	tr := Tradeoff(c, Choose(Goal{MaxF1: true}, c), 4)
	if len(tr) == 0 || len(tr) > 5 {
		t.Fatalf("tradeoff %+v", tr)
	}
	for i := 1; i < len(tr); i++ {
		if tr[i].Threshold >= tr[i-1].Threshold {
			t.Errorf("tradeoff not sorted by threshold descending: %+v", tr)
		}
	}
	var sb strings.Builder
	WriteTradeoff(&sb, "en-de", tr, Choose(Goal{MaxF1: true}, c))
	if !strings.Contains(sb.String(), "<- chosen") {
		t.Errorf("table lacks chosen mark:\n%s", sb.String())
	}
}

func TestBetween(t *testing.T) {
	for _, c := range [][2]float32{{0.6, 0.8}, {0.61234, 0.61235}, {0.1, 0.1000001}, {-2, 3}, {0.5, 0.5}} {
		got := between(c[0], c[1])
		if c[0] < c[1] && !(got > c[0] && got <= c[1]) {
			t.Errorf("between(%v, %v) = %v", c[0], c[1], got)
		}
	}
}

const modelJSON = `{
  "name": "m",
  "version": "1.0.0",
  "special_tokens": {"bos": 0, "pad": 1},
  "outputs": [
    {"name": "da51", "index": 1, "kind": "classification", "label": "DA <b>&</b> 51", "da_threshold": 51,
     "default_threshold": 0.5, "thresholds": {"en-de": 0.62, "si-en": 0.48}},
    {"name": "z", "index": 0, "kind": "regression", "default_threshold": 0.0, "thresholds": {}}
  ],
  "default_output": "da51",
  "zz_unknown": [1, 2, {"x": null}],
  "metrics": {}
}
`

func TestWriteThresholds(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.json")
	if err := os.WriteFile(path, []byte(modelJSON), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteThresholds(dir, "da51", map[string]float32{"en-de": 0.7, "ro-en": 0.55}); err != nil {
		t.Fatal(err)
	}
	bak, err := os.ReadFile(path + ".bak")
	if err != nil || string(bak) != modelJSON {
		t.Fatalf("backup = %q, %v", bak, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	var got, want map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("rewritten model.json does not parse: %v\n%s", err, s)
	}
	_ = json.Unmarshal([]byte(modelJSON), &want)
	th := got["outputs"].([]any)[0].(map[string]any)["thresholds"].(map[string]any)
	if th["en-de"] != 0.7 || th["ro-en"] != 0.55 || th["si-en"] != 0.48 || len(th) != 3 {
		t.Errorf("thresholds = %v", th)
	}
	// Everything else is unchanged, in the same key order, without HTML escaping.
	want["outputs"].([]any)[0].(map[string]any)["thresholds"] = th
	wb, _ := json.Marshal(want)
	gb, _ := json.Marshal(got)
	if string(wb) != string(gb) {
		t.Errorf("other content changed:\n%s\nwant\n%s", gb, wb)
	}
	order := []string{`"name"`, `"version"`, `"special_tokens"`, `"outputs"`, `"default_output"`, `"zz_unknown"`, `"metrics"`}
	last := -1
	for _, k := range order {
		i := strings.Index(s, k)
		if i < last {
			t.Errorf("key order changed:\n%s", s)
			break
		}
		last = i
	}
	if !strings.Contains(s, `DA <b>&</b> 51`) {
		t.Errorf("strings were escaped:\n%s", s)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("leftover files: %v", entries)
	}

	if err := WriteThresholds(dir, "nope", map[string]float32{"en-de": 1}); err == nil || !strings.Contains(err.Error(), `no output named "nope"`) {
		t.Errorf("unknown output: %v", err)
	}
	if err := WriteThresholds(t.TempDir(), "da51", nil); err == nil {
		t.Error("missing model.json: no error")
	}
	bad := t.TempDir()
	_ = os.WriteFile(filepath.Join(bad, "model.json"), []byte("{not json"), 0o644)
	if err := WriteThresholds(bad, "da51", nil); err == nil {
		t.Error("corrupt model.json: no error")
	}
}

func TestPlot(t *testing.T) {
	rows := append(mkRows("en-de", 40, true, true, false), mkRows("ne-en", 30, false, false, true)...)
	dir := filepath.Join(t.TempDir(), "plots")
	files, err := Plot(dir, threeOutputModel(), rows, scoreAll(t, rows))
	if err != nil {
		t.Fatal(err)
	}
	// en-de: scatter + pr; ne-en: only booleans, so no scatter, pr for DA >= 51.
	want := []string{"en-de-scatter.png", "en-de-pr.png", "ne-en-pr.png"}
	if len(files) != len(want) {
		t.Fatalf("files = %v, want %v", files, want)
	}
	for i, f := range files {
		st, err := os.Stat(f)
		if filepath.Base(f) != want[i] || err != nil || st.Size() < 1000 {
			t.Errorf("file %s: %v", f, err)
		}
		b, _ := os.ReadFile(f)
		if !strings.HasPrefix(string(b), "\x89PNG") {
			t.Errorf("%s is not a PNG", f)
		}
	}
}
