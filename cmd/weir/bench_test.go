package main

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchResult is the part of weir bench's JSON output the tests read.
type benchResult struct {
	Scenario   string `json:"scenario"`
	Records    int64  `json:"records"`
	Bytes      int64  `json:"bytes"`
	WireBytes  int64  `json:"wire_bytes"`
	Errors     int64  `json:"errors"`
	Verified   string `json:"verified"`
	Partitions []struct {
		Partition int32  `json:"partition"`
		Records   int64  `json:"records"`
		Bytes     int64  `json:"bytes"`
		Checksum  uint64 `json:"checksum"`
	} `json:"partitions"`
	E2E *struct {
		Count int64   `json:"count"`
		P99   float64 `json:"p99_ms"`
	} `json:"e2e_latency"`
	BrokerCPUPerGB float64 `json:"broker_cpu_s_per_gb"`
}

// runBench runs `weir bench` to completion (bounded) and decodes its JSON.
func runBench(t *testing.T, args ...string) benchResult {
	t.Helper()
	code, stdout, stderr := runBounded(t, 60*time.Second, "", append([]string{"bench"}, append(args, "--output", "json")...)...)
	if code != 0 {
		t.Fatalf("weir bench %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
	}
	var rs []benchResult
	if err := json.Unmarshal([]byte(stdout), &rs); err != nil || len(rs) != 1 {
		t.Fatalf("weir bench %v output (%v):\n%s", args, err, stdout)
	}
	return rs[0]
}

// TestBenchProduceConsumeDelivers runs the benchmark's produce and consume
// scenarios against a real broker and checks that every produced record
// was consumed, once and unchanged: the per-partition counts, bytes and
// checksums of the two runs must be equal.
func TestBenchProduceConsumeDelivers(t *testing.T) {
	backends(t, func(t *testing.T, io string) {
		b := startBroker(t, brokerOpts{io: io})
		pid := strconv.Itoa(b.pid())
		common := []string{"--bootstrap-server", b.addr, "--broker-pid", pid, "--topic", "bench-it"}
		p := runBench(t, append([]string{"produce", "--records", "30000", "--partitions", "3", "--record-size", "200",
			"--keys", "uniform:100", "--compression", "lz4", "--batch-max-bytes", "64KiB"}, common...)...)
		if p.Records != 30000 || p.Errors != 0 || len(p.Partitions) != 3 {
			t.Fatalf("produce: %+v", p)
		}
		if ratio := float64(p.Bytes) / float64(max(p.WireBytes, 1)); ratio < 1.3 || ratio > 10 {
			t.Errorf("lz4 over JSON-like values: %d bytes became %d on the wire (%.2fx)", p.Bytes, p.WireBytes, ratio)
		}
		// /proc counts CPU in 10 ms ticks: the broker's share of these few
		// MB may be none, so 0 is a reading; -1 would mean no figure.
		if p.BrokerCPUPerGB < 0 {
			t.Errorf("produce with --broker-pid reported %v broker cpu-s/GB", p.BrokerCPUPerGB)
		}
		// A second run appends to the same topic; consume must read both.
		p2 := runBench(t, append([]string{"produce", "--records", "5000", "--record-size", "50", "--acks", "all",
			"--idempotent", "--producers", "2"}, common...)...)
		c := runBench(t, append([]string{"consume", "--consumers", "2", "--fetch-max-partition-bytes", "32KiB"}, common...)...)
		if c.Records != 35000 {
			t.Fatalf("consumed %d records, produced 35000", c.Records)
		}
		want := map[int32][3]uint64{}
		for _, run := range []benchResult{p, p2} {
			for _, s := range run.Partitions {
				w := want[s.Partition]
				want[s.Partition] = [3]uint64{w[0] + uint64(s.Records), w[1] + uint64(s.Bytes), w[2] + s.Checksum}
			}
		}
		for _, s := range c.Partitions {
			if got := [3]uint64{uint64(s.Records), uint64(s.Bytes), s.Checksum}; got != want[s.Partition] {
				t.Errorf("partition %d: consumed %v (records, bytes, checksum), produced %v", s.Partition, got, want[s.Partition])
			}
			delete(want, s.Partition)
		}
		if len(want) != 0 {
			t.Errorf("partitions produced to but not consumed: %v", want)
		}

		e := runBench(t, "e2e", "--bootstrap-server", b.addr, "--topic", "bench-e2e", "--rate", "2000",
			"--duration", "2s", "--record-size", "100", "--payload", "random")
		// Incompressible values, no codec: the wire carries the bytes plus
		// batch and record framing, never fewer.
		if ratio := float64(e.WireBytes) / float64(max(e.Bytes, 1)); ratio < 1 || ratio > 1.5 {
			t.Errorf("e2e without compression: %d bytes, %d on the wire", e.Bytes, e.WireBytes)
		}
		if e.Errors != 0 || e.Records < 3500 || e.E2E == nil || e.E2E.Count != e.Records ||
			!strings.Contains(e.Verified, "produced = consumed") {
			t.Errorf("e2e: %+v (e2e latencies: %+v)", e, e.E2E)
		}
	})
}

// TestBenchCompareQuick runs the compare scenario end to end in its
// shortest form: it starts its own brokers (Weir std and kfake), checks
// delivery, and writes the Markdown report and charts.
func TestBenchCompareQuick(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runBounded(t, 90*time.Second, "", "bench", "compare", "--quick", "--io", "std",
		"--duration", "500ms", "--batch-sizes", "64KiB", "--codecs", "none,zstd", "--markdown", dir+"/RESULTS.md",
		"--json", dir+"/results.json")
	if code != 0 {
		t.Fatalf("compare: exit %d\n%s\n%s", code, stdout, stderr)
	}
	report := readFile(t, dir+"/RESULTS.md")
	for _, want := range []string{"## Host limits", "## Goals", "weir-std", "kfake", "consumed = produced",
		"produced = consumed", "## Batch size x compression", "![latency-e2e](charts/latency-e2e.svg)",
		"charts/matrix-1KiB-json.svg"} {
		if !strings.Contains(report, want) {
			t.Errorf("RESULTS.md lacks %q:\n%s", want, report)
		}
	}
	if !strings.Contains(readFile(t, dir+"/charts/matrix-1KiB-json.svg"), "<svg") {
		t.Error("matrix chart is not an SVG")
	}

	// The saved JSON renders the same report again, with notes appended.
	if err := os.WriteFile(dir+"/notes.md", []byte("## Findings\n\nprofiles say\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stderr = runWeir(t, "bench", "report", "--json", dir+"/results.json", "--markdown", dir+"/again/R.md",
		"--notes", dir+"/notes.md")
	if code != 0 {
		t.Fatalf("bench report = %d: %s", code, stderr)
	}
	again := readFile(t, dir+"/again/R.md")
	for _, want := range []string{"## Goals", "## Batch size x compression", "| 1KiB | json | 64KiB |", "profiles say",
		"![matrix-1KiB-json](charts/matrix-1KiB-json.svg)"} {
		if !strings.Contains(again, want) {
			t.Errorf("re-rendered report lacks %q:\n%s", want, again)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
