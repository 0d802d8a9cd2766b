package bench

import (
	"math"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// latencyRecorder collects latencies in microseconds into an HdrHistogram
// (1 us to 1 h, 3 significant digits). Recording takes a mutex: franz-go
// calls promises from one goroutine per partition, so contention is low.
type latencyRecorder struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

func newLatencyRecorder() *latencyRecorder {
	return &latencyRecorder{h: hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)}
}

func (r *latencyRecorder) record(d time.Duration) {
	us := d.Microseconds()
	if us < 1 {
		us = 1
	}
	r.mu.Lock()
	r.h.RecordValue(us) // values past an hour are dropped, as they should be
	r.mu.Unlock()
}

// Latency is a latency distribution's summary, in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
	// Curve is the latency at percentiles from 0 to 99.999, for charts.
	Curve []CurvePoint `json:"curve,omitempty"`
}

// CurvePoint is one point of a percentile curve.
type CurvePoint struct {
	Percentile float64 `json:"percentile"`
	Ms         float64 `json:"ms"`
}

// curvePercentiles are spaced evenly in "nines" so the tail is as visible
// as the median.
var curvePercentiles = func() []float64 {
	var ps []float64
	for nines := 0.0; nines <= 5.0001; nines += 0.125 {
		ps = append(ps, 100*(1-math.Pow(10, -nines)))
	}
	return ps
}()

// summary returns the distribution's percentiles; nil when nothing was
// recorded.
func (r *latencyRecorder) summary() *Latency {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.h.TotalCount() == 0 {
		return nil
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	l := &Latency{
		Count: r.h.TotalCount(),
		P50:   ms(r.h.ValueAtPercentile(50)),
		P90:   ms(r.h.ValueAtPercentile(90)),
		P99:   ms(r.h.ValueAtPercentile(99)),
		P999:  ms(r.h.ValueAtPercentile(99.9)),
		Max:   ms(r.h.Max()),
	}
	for _, p := range curvePercentiles {
		l.Curve = append(l.Curve, CurvePoint{Percentile: p, Ms: ms(r.h.ValueAtPercentile(p))})
	}
	return l
}
