package bench

import (
	"bytes"
	"encoding/json"
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
	if strings.HasPrefix(scenario, "e2e") {
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
	c := &Comparison{Targets: []string{"weir-uring", "weir-std", "kfake"}, Limits: &HostLimits{LoopbackTCP: 1000},
		Machine: Machine{Cores: 2}}
	add := func(r *Result) { c.Results = append(c.Results, r) }
	add(sampleResult(scProduce1K, "weir-uring", 600, 0.5))
	add(sampleResult(scProduce1K, "weir-std", 500, 1.5))
	add(sampleResult(scProduce1KIdem, "weir-uring", 570, 0.7))
	add(sampleResult(scProduce1KIdem, "weir-std", 400, 0.9))
	add(sampleResult(scConsume1K, "weir-uring", 700, 0.25))
	add(sampleResult(scConsume1K, "weir-std", 500, 0.5))
	add(sampleResult(scProduce100, "weir-uring", 190, 0.3))
	add(sampleResult(scProduce100, "weir-std", 200, 0.6))
	add(sampleResult(scProduce100, "kfake", 200, 1.2))
	fast := sampleResult(scE2E20K, "weir-uring", 20, 1)
	fast.E2E = &Latency{P50: 1.2, P99: 2.5, P999: 9}
	add(fast)
	slow := sampleResult(scE2E20K, "weir-std", 20, 1)
	slow.E2E = &Latency{P50: 1.6, P99: 2.9, P999: 12}
	add(slow)
	e := sampleResult(scE2E, "weir-uring", 50, 1) // p99 of 0.1..10 ms is 9.9 ms
	add(e)
	late := sampleResult(scE2E, "weir-std", 50, 1)
	late.E2E = &Latency{P99: 60}
	add(late)
	for _, sc := range []string{scPingPong1, scPingPong16} { // uring 1.1x std
		add(sampleResult(sc, "weir-uring", 11, 1))
		add(sampleResult(sc, "weir-std", 10, 1))
	}
	goals := evaluateGoals(c)
	find := func(name, target string) Goal { // by its name, else the first it begins
		t.Helper()
		for _, exact := range []bool{true, false} {
			for _, g := range goals {
				if (g.Name == name || !exact && strings.HasPrefix(g.Name, name)) && g.Target == target {
					return g
				}
			}
		}
		t.Fatalf("no goal %q for %s in %+v", name, target, goals)
		return Goal{}
	}
	check := func(g Goal, value float64, met bool) {
		t.Helper()
		if d := g.Ratio - value; d > 0.01 || d < -0.01 || g.Met != met || g.Missing != "" {
			t.Errorf("%s %s: value %.3f met %v (%s); want %.3f %v", g.Name, g.Target, g.Ratio, g.Met, g.Missing, value, met)
		}
	}
	const (
		acks1CPU = "produce 1 KiB, acks=1: broker cpu-s/GB"
		idemCPU  = "produce 1 KiB, acks=all idempotent: broker cpu-s/GB"
		idemRate = "produce 1 KiB: acks=all idempotent MB/s ÷ acks=1"
		klite    = "produce 1 KiB, acks=all idempotent: Weir MB/s ÷ klite"
		consume  = "consume 1 KiB: broker cpu-s/GB"
		e2e20k   = "e2e 1 KiB at 20,000 rec/s, acks=all idempotent, linger 1 ms: "
		e2eHalf  = "e2e 1 KiB at 50% of max produce rate"
		lz4      = "produce 100 B lz4: Weir broker cpu-s/GB ÷ kfake"
	)
	check(find(acks1CPU, "weir-uring"), 0.5, true)
	check(find(acks1CPU, "weir-std"), 1.5, false)
	check(find(idemCPU, "weir-uring"), 0.7, true)
	check(find(idemCPU, "weir-std"), 0.9, false)
	check(find(idemRate, "weir-uring"), 0.95, true)
	check(find(idemRate, "weir-std"), 0.8, false)
	check(find(consume, "weir-uring"), 0.25, true)
	check(find(consume, "weir-std"), 0.5, false)
	check(find(e2e20k+"p50", "weir-uring"), 1.2, true)
	check(find(e2e20k+"p99", "weir-uring"), 2.5, true)
	check(find(e2e20k+"p99.9", "weir-uring"), 9, true)
	check(find(e2e20k+"p50", "weir-std"), 1.6, false)
	check(find(e2e20k+"p99", "weir-std"), 2.9, true)
	check(find(e2e20k+"p99.9", "weir-std"), 12, false)
	check(find(e2eHalf, "weir-uring"), e.E2E.P99, true)
	check(find(e2eHalf, "weir-std"), 60, false)
	check(find(lz4, "weir-uring"), 0.25, true)
	check(find(lz4, "weir-std"), 0.5, false)
	check(find("consume 1 KiB: broker cpu-s/GB, uring ÷ std", "weir-uring"), 0.5, true)
	check(find(scPingPong1+": round trips/s, uring ÷ std", "weir-uring"), 1.1, true)
	check(find(scPingPong16+": round trips/s, uring ÷ std", "weir-uring"), 1.1, false)
	for _, g := range goals {
		if g.Target == "kfake" {
			t.Errorf("a goal for kfake: %+v", g)
		}
	}
	// No peer named klite: the goal is listed, not evaluated.
	if g := find(klite, "weir-uring"); g.Met || g.Missing != "no klite peer" || g.verdict() != "? no klite peer" {
		t.Errorf("without klite: %+v", g)
	}
	if g := find(e2e20k+"p99", "weir-uring"); g.Want != "< 3 ms" || !strings.Contains(g.Measured, "2.50 ms") {
		t.Errorf("e2e p99 goal: want %q, measured %q", g.Want, g.Measured)
	}

	// The host ratios are information, not goals.
	ratios := hostRatios(c)
	findRatio := func(name, target string) HostRatio {
		t.Helper()
		for _, r := range ratios {
			if strings.HasPrefix(r.Name, name) && r.Target == target {
				return r
			}
		}
		t.Fatalf("no ratio %q for %s in %+v", name, target, ratios)
		return HostRatio{}
	}
	for _, r := range []struct {
		name, target string
		ratio        float64
	}{{"produce 1 KiB, acks=1: MB/s ÷ loopback", "weir-uring", 0.6}, {"consume 1 KiB: MB/s ÷ loopback", "weir-std", 0.5},
		{"produce 100 B lz4: records/s ÷ kfake", "weir-uring", 0.95}, {scConsume1K + ": MB/s, uring ÷ std", "weir-uring", 1.4},
		{scProduce1K + ": MB/s, uring ÷ std", "weir-uring", 1.2}} {
		if g := findRatio(r.name, r.target); g.Ratio < r.ratio-0.01 || g.Ratio > r.ratio+0.01 {
			t.Errorf("%s %s = %v, want %v", g.Name, g.Target, g.Ratio, r.ratio)
		}
	}
	for _, g := range goals {
		if strings.Contains(g.Name, "loopback") {
			t.Errorf("a loopback ratio is a goal: %+v", g)
		}
	}

	// A peer named klite: the goal is evaluated against its median.
	c.Targets = append(c.Targets, "klite")
	add(sampleResult(scProduce1KIdem, "klite", 300, -1))
	goals = evaluateGoals(c)
	kg := goals
	check(find(klite, "weir-uring"), 1.9, true)
	check(find(klite, "weir-std"), 400.0/300, false)
	// klite in the run without a run of that scenario.
	c.Results = c.Results[:len(c.Results)-1]
	goals = evaluateGoals(c)
	if g := find(klite, "weir-uring"); g.Missing != "no klite run" {
		t.Errorf("klite without a run: %+v", g)
	}
	// Unknown broker CPU is told as such, not as a goal met.
	c.Results = append(c.Results, sampleResult(scConsume1K, "weir-uring", 700, -1), sampleResult(scConsume1K, "weir-uring", 800, -1))
	goals = evaluateGoals(c)
	if g := find(consume, "weir-uring"); g.Missing != "broker CPU unknown" || g.Met {
		t.Errorf("consume with unknown CPU: %+v", g)
	}

	// The median of three rounds is the middle one.
	c.Results = append(c.Results, sampleResult(scProduce1K, "weir-std", 100, 1), sampleResult(scProduce1K, "weir-std", 900, 1))
	if m := c.median(scProduce1K, "weir-std"); m.MBPerSec < 499 || m.MBPerSec > 501 {
		t.Errorf("median = %v MB/s", m.MBPerSec)
	}
	var b bytes.Buffer
	c.Date, c.Command, c.Goals, c.Ratios = time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), "weir bench compare", kg, ratios
	writeComparison(&b, c, "", "## Findings\n\nnotes here")
	out := b.String()
	for _, want := range []string{"# Weir benchmark results", "## Host limits", "| loopback TCP", "## Goals",
		"| goal | broker | target | measured | value | met |",
		"| produce 1 KiB, acks=1: broker cpu-s/GB | weir-uring | <= 0.6 | 0.50 cpu-s/GB at 600 MB/s | 0.50 | yes |",
		"| ping-pong 16 connections: round trips/s, uring ÷ std | weir-uring | >= 1.2x |",
		"## Host ratios (information)", "share this host's 2 cores", "## Scenarios",
		"## Measuring klite, Apache Kafka or another broker beside Weir", "--peer klite=127.0.0.1:9092", "## Findings"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// The fixed how-to comes before the appended notes.
	if strings.Index(out, "## Measuring klite") > strings.Index(out, "## Findings") {
		t.Error("the how-to section follows the notes")
	}
}

// A short compare run against real brokers (Weir's backends and kfake):
// every scenario runs on every target, and the report has every goal the
// run can measure, the host ratios and the how-to for peers.
func TestCompareRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts brokers")
	}
	bin := buildWeir(t)
	backends := "std"
	if uringWorks(t, bin) {
		backends = "uring,std"
	}
	dir := t.TempDir()
	var out, errb bytes.Buffer
	start := time.Now()
	code := Main([]string{"compare", "--weir-bin", bin, "--io", backends, "--duration", "300ms", "--warmup", "100ms",
		"--host-probe-time", "50ms", "--data-dir", t.TempDir(), "--markdown", dir + "/RESULTS.md",
		"--json", dir + "/results.json"}, nil, &out, &errb)
	t.Logf("%v:\n%s", time.Since(start), errb.String())
	if code != 0 {
		t.Fatalf("weir bench compare = %d\n%s", code, out.String())
	}
	data, err := os.ReadFile(dir + "/results.json")
	if err != nil {
		t.Fatal(err)
	}
	var c Comparison
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	scenarios := []string{scProduce1K, scConsume1K, scProduce1KIdem, scProduce100, scE2E, scE2ELow, scE2E20K,
		scPingPong1, scPingPong16}
	for _, target := range c.Targets {
		for _, sc := range scenarios {
			r := c.median(sc, target)
			if r == nil {
				t.Errorf("no %s on %s", sc, target)
				continue
			}
			// A produce run's check is that every record was acknowledged.
			checked := r.Verified != "" || strings.HasPrefix(sc, "produce")
			if r.Records <= 0 || r.Errors != 0 || !checked {
				t.Errorf("%s on %s: %d records, %d errors (%s), checked: %q", sc, target, r.Records, r.Errors, r.FirstErr,
					r.Verified)
			}
			if sc == scE2E20K && (r.TargetRate != e2eFixedRate || r.E2E == nil || !strings.Contains(r.Label, "acks=all idempotent")) {
				t.Errorf("%s on %s: rate %v, label %q", sc, target, r.TargetRate, r.Label)
			}
		}
	}
	if len(c.Results) != len(scenarios)*len(c.Targets) {
		t.Errorf("%d results of %d scenarios on %d targets", len(c.Results), len(scenarios), len(c.Targets))
	}
	names := map[string]bool{}
	for _, g := range c.Goals {
		names[g.Name] = true
		if g.Missing != "" && g.Missing != "no klite peer" {
			t.Errorf("goal %q on %s not evaluated: %s", g.Name, g.Target, g.Missing)
		}
	}
	want := []string{"produce 1 KiB, acks=1: broker cpu-s/GB", "produce 1 KiB, acks=all idempotent: broker cpu-s/GB",
		"produce 1 KiB: acks=all idempotent MB/s ÷ acks=1 MB/s (same broker)",
		"produce 1 KiB, acks=all idempotent: Weir MB/s ÷ klite MB/s", "consume 1 KiB: broker cpu-s/GB",
		"e2e 1 KiB at 20,000 rec/s, acks=all idempotent, linger 1 ms: p99.9",
		"e2e 1 KiB at 50% of max produce rate, acks=1, linger 1 ms: p99",
		"produce 100 B lz4: Weir broker cpu-s/GB ÷ kfake broker cpu-s/GB"}
	if backends != "std" {
		want = append(want, "consume 1 KiB: broker cpu-s/GB, uring ÷ std", scPingPong1+": round trips/s, uring ÷ std",
			scPingPong16+": round trips/s, uring ÷ std")
	}
	for _, n := range want {
		if !names[n] {
			t.Errorf("no goal %q", n)
		}
	}
	report, err := os.ReadFile(dir + "/RESULTS.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"## Goals", "? no klite peer", "## Host ratios (information)", "MB/s ÷ loopback TCP MB/s",
		"| " + scE2E20K + " |", "| " + scPingPong16 + " |", "![latency-e2e-20k](charts/latency-e2e-20k.svg)",
		"## Measuring klite, Apache Kafka or another broker beside Weir"} {
		if !bytes.Contains(report, []byte(s)) {
			t.Errorf("RESULTS.md lacks %q", s)
		}
	}
}

// TestGoalsTakeEachFiguresMedian: a goal's figure is the median of that
// figure over the rounds, not the figure of the round with the median
// MB/s: one round's stall is one round of three.
func TestGoalsTakeEachFiguresMedian(t *testing.T) {
	c := &Comparison{Targets: []string{"weir-uring"}}
	for i, round := range []struct {
		mbps, cpu, p99 float64
	}{{20.5, 16, 309}, {20.4, 14.8, 5.6}, {20.6, 14.7, 5.9}} {
		r := sampleResult(scE2E20K, "weir-uring", round.mbps, round.cpu)
		r.E2E = &Latency{P50: 2 + float64(i)/10, P99: round.p99, P999: round.p99 + 3}
		c.Results = append(c.Results, r)
	}
	m := c.medians(scE2E20K, "weir-uring")
	if m.MBPerSec != 20.5 || m.E2E.P99 != 5.9 || m.E2E.P999 != 8.9 || m.E2E.P50 != 2.1 {
		t.Errorf("medians: %.1f MB/s, p50 %.2f p99 %.2f p99.9 %.2f; want 20.5, 2.10, 5.90, 8.90",
			m.MBPerSec, m.E2E.P50, m.E2E.P99, m.E2E.P999)
	}
	if d := m.BrokerCPUPerGB - 14.8; d > 0.01 || d < -0.01 {
		t.Errorf("median cpu-s/GB %.2f, want 14.8", m.BrokerCPUPerGB)
	}
	for _, g := range evaluateGoals(c) {
		if strings.HasSuffix(g.Name, "p99") && g.Ratio != 5.9 {
			t.Errorf("%s: %.2f, want the median p99 5.9", g.Name, g.Ratio)
		}
	}
	if c.medians(scE2E20K, "weir-std") != nil {
		t.Error("medians of a target with no runs")
	}
}
