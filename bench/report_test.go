package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sampleResult(scenario, target string, mbps, cpuPerGB float64) *Result {
	r := &Result{Scenario: scenario, Target: target, Label: "1KiB json batch=1MiB none acks=1",
		Records: int64(mbps * 1e6 / 1024 * 5), Bytes: int64(mbps * 1e6 * 5), WireBytes: int64(mbps * 1e6 * 5 / 2),
		Elapsed: 5 * time.Second}
	r.finish(cpuPerGB*mbps*5/1000, 1)
	lat := newLatencyRecorder()
	for i := 1; i <= 100; i++ {
		lat.record(time.Duration(i) * 100 * time.Microsecond)
	}
	if scenario == scE2E {
		r.E2E = lat.summary()
		r.TargetRate = 1000
	} else {
		r.Latency = lat.summary()
	}
	return r
}

func TestResultRates(t *testing.T) {
	r := sampleResult("produce", "x", 400, 2)
	if d := r.MBPerSec - 400; d > 0.01 || d < -0.01 {
		t.Errorf("MB/s = %v", r.MBPerSec)
	}
	if d := r.WireMBPerSec - 200; d > 0.01 || d < -0.01 {
		t.Errorf("wire MB/s = %v", r.WireMBPerSec)
	}
	if d := r.BrokerCPUPerGB - 2; d > 0.001 || d < -0.001 {
		t.Errorf("cpu-s/GB = %v", r.BrokerCPUPerGB)
	}
	var unknown Result
	unknown.Bytes, unknown.Elapsed = 1e9, time.Second
	unknown.finish(-1, 0)
	if unknown.BrokerCPUPerGB != -1 {
		t.Errorf("unknown broker CPU gave %v cpu-s/GB", unknown.BrokerCPUPerGB)
	}
}

func TestResultTable(t *testing.T) {
	var b bytes.Buffer
	writeResultTable(&b, []*Result{sampleResult("produce", "weir-uring", 400, 2), sampleResult(scE2E, "kfake", 50, -1)})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want header, rule and 2 rows:\n%s", b.String())
	}
	cols := strings.Count(lines[0], "|")
	for _, l := range lines {
		if strings.Count(l, "|") != cols {
			t.Errorf("ragged row %q", l)
		}
	}
	if !strings.Contains(lines[2], "| 400.0 | 200.0 |") || !strings.Contains(lines[2], "| 2.00 |") {
		t.Errorf("produce row: %s", lines[2])
	}
	if !strings.Contains(lines[3], "(e2e)") || !strings.Contains(lines[3], "| - |") {
		t.Errorf("e2e row with unknown CPU: %s", lines[3])
	}
}

func TestMatrixTableAndChart(t *testing.T) {
	var cells []matrixCell
	for _, b := range []int{16 << 10, 1 << 20} {
		for i, c := range []string{"none", "zstd"} {
			r := sampleResult("matrix", "weir-uring", float64(100*(i+1))+float64(b>>14), 1)
			cells = append(cells, matrixCell{recordSize: 1024, payload: "json", batch: b, codec: c, result: r})
		}
	}
	var b bytes.Buffer
	writeMatrixTable(&b, cells, []string{"none", "zstd", "lz4"})
	out := b.String()
	for _, want := range []string{"| record | payload | batch | none | zstd | lz4 |", "| 1KiB | json | 16KiB |", "| 1KiB | json | 1MiB |", "(2.0x)", " - |"} {
		if !strings.Contains(out, want) {
			t.Errorf("matrix table lacks %q:\n%s", want, out)
		}
	}
	dir := t.TempDir()
	files, err := matrixCharts(dir, cells, "weir-uring")
	if err != nil || len(files) != 1 {
		t.Fatalf("matrixCharts = %v, %v", files, err)
	}
	checkSVG(t, files[0], "none", "zstd", "16KiB", "1MiB")
}

func TestLatencyChart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lat.svg")
	err := latencyChart(path, "e2e", []latencyCurve{
		{name: "weir-uring", lat: sampleResult(scE2E, "a", 1, 1).E2E},
		{name: "kfake", lat: sampleResult(scE2E, "b", 1, 1).E2E},
		{name: "empty"},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkSVG(t, path, "weir-uring", "kfake", "99.9")
	if err := latencyChart(path, "none", []latencyCurve{{name: "empty"}}); err == nil {
		t.Error("a chart with no data was drawn")
	}
}

// checkSVG parses path as XML and looks for each text in it.
func checkSVG(t *testing.T, path string, texts ...string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Fatalf("%s: root element %q", path, root)
	}
	for _, s := range texts {
		if !bytes.Contains(data, []byte(s)) {
			t.Errorf("%s lacks %q", path, s)
		}
	}
}

func TestGoals(t *testing.T) {
	c := &Comparison{Targets: []string{"weir-uring", "weir-std", "kfake"}, Limits: &HostLimits{LoopbackTCP: 1000}}
	add := func(r *Result) { c.Results = append(c.Results, r) }
	add(sampleResult(scProduce1K, "weir-uring", 600, 1))
	add(sampleResult(scProduce1K, "weir-std", 500, 1.5))
	add(sampleResult(scConsume1K, "weir-uring", 700, 0.5))
	add(sampleResult(scConsume1K, "weir-std", 500, 0.5))
	add(sampleResult(scProduce100, "weir-uring", 190, 0.3))
	add(sampleResult(scProduce100, "kfake", 200, 1.2))
	e := sampleResult(scE2E, "weir-uring", 50, 1)
	add(e)
	goals := evaluateGoals(c)
	find := func(name, target string) Goal {
		for _, g := range goals {
			if strings.HasPrefix(g.Name, name) && g.Target == target {
				return g
			}
		}
		t.Fatalf("no goal %q for %s in %+v", name, target, goals)
		return Goal{}
	}
	check := func(g Goal, ratio float64, met bool) {
		t.Helper()
		if d := g.Ratio - ratio; d > 0.01 || d < -0.01 || g.Met != met {
			t.Errorf("%s %s: ratio %.3f met %v; want %.3f %v", g.Name, g.Target, g.Ratio, g.Met, ratio, met)
		}
	}
	check(find("produce, 1 MiB", "weir-uring"), 0.6, true)
	check(find("consume vs loopback", "weir-uring"), 0.7, false)
	check(find("100 B records, lz4, records/s", "weir-uring"), 0.95, true)
	check(find("100 B records, lz4, broker CPU", "weir-uring"), 0.25, true)
	check(find("e2e p99", "weir-uring"), e.E2E.P99/5, false) // p99 of 0.1..10 ms is 9.9 ms
	check(find("uring vs std, consume", "weir-uring"), 1.4, true)
	check(find("uring vs std, produce", "weir-uring"), 1.2, true)
	// The median of three rounds is the middle one.
	c.Results = append(c.Results, sampleResult(scProduce1K, "weir-std", 100, 1), sampleResult(scProduce1K, "weir-std", 900, 1))
	if m := c.median(scProduce1K, "weir-std"); m.MBPerSec < 499 || m.MBPerSec > 501 {
		t.Errorf("median = %v MB/s", m.MBPerSec)
	}
	var b bytes.Buffer
	c.Date, c.Command, c.Goals = time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), "weir bench compare", goals
	writeComparison(&b, c, "", "## Findings\n\nnotes here")
	for _, want := range []string{"# Weir benchmark results", "## Host limits", "| loopback TCP", "## Goals", "## Scenarios", "## Findings"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
