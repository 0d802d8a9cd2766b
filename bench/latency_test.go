package bench

import (
	"math"
	"testing"
	"time"
)

func TestLatencySummary(t *testing.T) {
	r := newLatencyRecorder()
	if r.summary() != nil {
		t.Fatal("summary of nothing should be nil")
	}
	// 1..1000 ms, one each: p50 = 500 ms, p99 = 990 ms, max = 1000 ms.
	for i := 1; i <= 1000; i++ {
		r.record(time.Duration(i) * time.Millisecond)
	}
	s := r.summary()
	near := func(name string, got, want float64) {
		if math.Abs(got-want)/want > 0.002 { // 3 significant digits
			t.Errorf("%s = %v ms, want %v", name, got, want)
		}
	}
	near("p50", s.P50, 500)
	near("p90", s.P90, 900)
	near("p99", s.P99, 990)
	near("p99.9", s.P999, 999)
	near("max", s.Max, 1000)
	if s.Count != 1000 {
		t.Errorf("count = %d", s.Count)
	}
	for i := 1; i < len(s.Curve); i++ {
		if s.Curve[i].Percentile <= s.Curve[i-1].Percentile || s.Curve[i].Ms < s.Curve[i-1].Ms {
			t.Fatalf("curve not increasing at %d: %v", i, s.Curve[i-1:i+1])
		}
	}
	if last := s.Curve[len(s.Curve)-1].Percentile; last < 99.99 {
		t.Errorf("curve stops at p%v", last)
	}
}
