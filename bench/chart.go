package bench

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Charts are SVG files drawn with gonum/plot, written next to the report.

// throughputChart draws MB/s by batch size, one line per codec, for the
// matrix cells of one record size and payload.
func throughputChart(path, title string, cells []matrixCell) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "batch.max.bytes"
	p.Y.Label.Text = "MB/s (before compression)"
	p.X.Scale = plot.LogScale{}
	p.Legend.Top = true
	p.Legend.Left = true
	byCodec := map[string]plotter.XYs{}
	var codecs []string
	batches := map[int]bool{}
	for _, c := range cells {
		if c.result == nil {
			continue
		}
		if _, ok := byCodec[c.codec]; !ok {
			codecs = append(codecs, c.codec)
		}
		byCodec[c.codec] = append(byCodec[c.codec], plotter.XY{X: float64(c.batch), Y: c.result.MBPerSec})
		batches[c.batch] = true
	}
	if len(codecs) == 0 {
		return fmt.Errorf("%s: nothing to draw", title)
	}
	var ticks []plot.Tick
	for b := range batches {
		ticks = append(ticks, plot.Tick{Value: float64(b), Label: size(b)})
	}
	sort.Slice(ticks, func(i, j int) bool { return ticks[i].Value < ticks[j].Value })
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	if len(ticks) == 1 { // a log axis needs a range
		p.X.Min, p.X.Max = ticks[0].Value/2, ticks[0].Value*2
	}
	p.Y.Min = 0
	for i, name := range codecs {
		xys := byCodec[name]
		sort.Slice(xys, func(a, b int) bool { return xys[a].X < xys[b].X })
		l, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		l.Color, pts.Color = plotutil.Color(i), plotutil.Color(i)
		pts.Shape = plotutil.Shape(i)
		p.Add(l, pts)
		p.Legend.Add(name, l, pts)
	}
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}

// latencyCurve is one named percentile curve.
type latencyCurve struct {
	name string
	lat  *Latency
}

// latencyChart draws latency by percentile. The x axis is in "nines"
// (1/(1-p) on a log scale), so p99 and p99.9 get as much room as p50.
func latencyChart(path, title string, curves []latencyCurve) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms)"
	p.X.Scale = plot.LogScale{}
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	// Curves rise to the right: the bottom right corner stays free.
	var ticks []plot.Tick
	for _, pc := range []float64{0, 50, 90, 99, 99.9, 99.99, 99.999} {
		ticks = append(ticks, plot.Tick{Value: nines(pc), Label: fmt.Sprintf("%g", pc)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = 1, nines(99.999)
	drawn := 0
	for i, c := range curves {
		if c.lat == nil || len(c.lat.Curve) == 0 {
			continue
		}
		var xys plotter.XYs
		for _, pt := range c.lat.Curve {
			xys = append(xys, plotter.XY{X: nines(pt.Percentile), Y: math.Max(pt.Ms, 0.001)})
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i)
		p.Add(l)
		p.Legend.Add(c.name, l)
		drawn++
	}
	if drawn == 0 {
		return fmt.Errorf("%s: nothing to draw", title)
	}
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}

// nines maps a percentile to 1/(1-p): 0 -> 1, 90 -> 10, 99 -> 100.
func nines(percentile float64) float64 {
	return 1 / (1 - math.Min(percentile, 99.9999)/100)
}

// chartName is a file name for a chart in dir.
func chartName(dir, name string) string { return filepath.Join(dir, name+".svg") }
