package progress

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestReporterModes: plain mode writes a final line with count, share and
// ETA (when the total is known); none writes nothing; a bar (forced, as a
// terminal would get) renders the label.
func TestReporterModes(t *testing.T) {
	tests := []struct {
		mode  string
		total int64
		want  []string
		empty bool
	}{
		{mode: "plain", total: 100, want: []string{"filter: 50 done", "50.0%", "ETA", "p0 5/10"}},
		{mode: "plain", total: -1, want: []string{"filter: 50 done"}},
		{mode: "none", total: 100, empty: true},
		{mode: "bar", total: 100, want: []string{"filter 50"}},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			var out bytes.Buffer
			var calls atomic.Int64
			r := Start(Options{Out: &out, Mode: tc.mode, Interval: time.Hour, Label: "filter"}, func() Sample {
				if calls.Add(1) == 1 {
					return Sample{Total: tc.total} // the start
				}
				return Sample{Items: 50, Pos: 50, Total: tc.total, Detail: "p0 5/10"}
			})
			r.Stop()
			r.Stop() // idempotent
			got := out.String()
			if tc.empty != (got == "") {
				t.Fatalf("output %q", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Fatalf("output %q lacks %q", got, w)
				}
			}
			if tc.total < 0 && strings.Contains(got, "ETA") {
				t.Fatalf("ETA without a total: %q", got)
			}
		})
	}
	if err := ParseMode("fancy"); err == nil {
		t.Fatal("mode fancy accepted")
	}
}
