package bench

import "testing"

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
