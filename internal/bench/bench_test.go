package bench

import (
	"strings"
	"testing"
)

func TestPercentileMean(t *testing.T) {
	xs := []float64{4, 1, 3, 2, 5}
	if got := Percentile(xs, 50); got != 3 {
		t.Errorf("p50 = %v, want 3", got)
	}
	if got := Percentile(xs, 100); got != 5 {
		t.Errorf("p100 = %v, want 5", got)
	}
	if got := Percentile(xs, 25); got != 2 {
		t.Errorf("p25 = %v, want 2", got)
	}
	if xs[0] != 4 {
		t.Error("Percentile sorted its input")
	}
	if Percentile(nil, 50) != 0 || Mean(nil) != 0 || Mean(xs) != 3 {
		t.Error("empty or mean wrong")
	}
}

func TestSetRatios(t *testing.T) {
	p := &Peer{PairsPerS: 100, LatencyP50: 4}
	p.SetRatios(300, 2)
	if p.Ratio == nil || *p.Ratio != 3 || p.LatencyRate == nil || *p.LatencyRate != 2 {
		t.Errorf("ratios %v %v", p.Ratio, p.LatencyRate)
	}
	q := &Peer{Error: "x"}
	q.SetRatios(300, 2)
	if q.Ratio != nil || q.LatencyRate != nil {
		t.Error("ratios set for an unmeasured peer")
	}
}

func TestPeakRSS(t *testing.T) {
	if PeakRSSMB() <= 0 {
		t.Skip("no /proc/self/status")
	}
	ResetPeakRSS()
	if PeakRSSMB() <= 0 {
		t.Error("VmHWM gone after reset")
	}
}

func TestIssue19Targets(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	tests := []struct {
		name  string
		peers map[string]*Peer
		want  []string
		not   []string
	}{
		{"none", map[string]*Peer{}, nil, []string{"1.0.0", "tier"}},
		{"v1 and l4",
			map[string]*Peer{
				"v1": {Ratio: f(1.5), LatencyRate: f(1.3), LatencyP50: 3.9, QegateLatencyP50: 3.0},
				"l4": {Ratio: f(0.75), PeakRSSMB: 150},
			},
			[]string{"| default / model 1.0.0 (pairs/s) | >= 1.2x | 1.50x", "3.00 vs 3.90 ms | met",
				"| 4-layer tier / model 1.0.0 (pairs/s; v1 / l4 ratios) | >= 1.8x | 2.00x | met |",
				"| peak RSS, 4-layer tier | <= 200 MB | 150 MB | met |"}, nil},
		{"slower than 1.0.0", map[string]*Peer{"v1": {Ratio: f(0.9), LatencyRate: f(0.8)}, "l4": {Ratio: f(0.6)}},
			[]string{"| >= 1.2x | 0.90x", "**missed**", "| 1.50x | **missed** |"}, nil},
		{"v1 failed", map[string]*Peer{"v1": {Error: "not found"}, "l4": {Ratio: f(0.6)}}, nil, []string{"1.0.0"}},
		{"per CPU-s", map[string]*Peer{"hugot": {CPURatio: f(2.1)}, "python_ort": {CPURatio: f(1.4)}},
			[]string{"| qegate / hugot per CPU-second (issue 19) | >= 2.0x | 2.10x | met |",
				"| qegate / python_ort per CPU-second (issue 19) | >= 1.5x | 1.40x | **missed** |"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sb strings.Builder
			writeIssue19Targets(&sb, &Result{Peers: tt.peers})
			for _, w := range tt.want {
				if !strings.Contains(sb.String(), w) {
					t.Errorf("missing %q in\n%s", w, sb.String())
				}
			}
			for _, n := range tt.not {
				if strings.Contains(sb.String(), n) {
					t.Errorf("unexpected %q in\n%s", n, sb.String())
				}
			}
		})
	}
}
