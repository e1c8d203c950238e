package progress

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
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

// lockedBuffer is a bytes.Buffer the reporter's goroutine writes while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Split(strings.TrimSuffix(l.b.String(), "\n"), "\n")
}

// TestReporterPlainEveryInterval: a plain reporter writes one line each
// Interval, on the bubble's clock, with the count, the rate since the
// start, the share and an ETA from the progress so far; Stop writes the
// last one.
func TestReporterPlainEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out lockedBuffer
		var pos atomic.Int64
		r := Start(Options{Out: &out, Mode: "plain", Interval: 10 * time.Second, Label: "filter"}, func() Sample {
			n := pos.Load()
			return Sample{Items: n, Pos: n, Total: 1000}
		})
		defer r.Stop()
		pos.Store(100)
		time.Sleep(10 * time.Second) // scenario, on the bubble's clock: one interval
		synctest.Wait()
		want := []string{"filter: 100 done, 10/s, elapsed 10s, 10.0%, ETA 1m30s"}
		if got := out.lines(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after one interval: %q, want %q", got, want)
		}
		pos.Store(300)
		time.Sleep(19 * time.Second) // scenario, on the bubble's clock: one more line, not two
		synctest.Wait()
		want = append(want, "filter: 300 done, 15/s, elapsed 20s, 30.0%, ETA 47s")
		if got := out.lines(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after 29s: %q, want %q", got, want)
		}
		pos.Store(1000)
		r.Stop()
		want = append(want, "filter: 1000 done, 34/s, elapsed 29s, 100.0%")
		if got := out.lines(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after Stop: %q, want %q", got, want)
		}
	})
}
