package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// replResult is a run of scenario at mbps with each node's cpu-s/GB.
func replResult(scenario string, mbps float64, nodes ...float64) *Result {
	r := sampleResult(scenario, "weir-3-nodes", mbps, nodes[0]+nodes[1]+nodes[2])
	r.NodeCPUPerGB = nodes
	return r
}

func TestReplicationRatios(t *testing.T) {
	rep := &ReplicationReport{Rounds: 3, Nodes: []string{"node 1", "node 2", "node 3"}, QuorumLeader: 2}
	// Three rounds; the medians are RF1 400, RF3 acks=1 360, RF3 acks=all 180.
	for _, mbps := range [][3]float64{{400, 380, 150}, {500, 360, 180}, {300, 300, 250}} {
		rep.Results = append(rep.Results,
			replResult(scRF1, mbps[0], 1, 0.05, 0.05),
			replResult(scRF3Acks1, mbps[1], 2, 0.8, 0.9),
			replResult(scRF3All, mbps[2], 3, 1.6, 1.4))
	}
	rep.finish()
	want := []struct {
		ratio float64
		met   bool
	}{{0.9, true}, {0.45, false}, {0.45, true}, {1.6 / 3, false}}
	if len(rep.Ratios) != len(want) {
		t.Fatalf("ratios %+v", rep.Ratios)
	}
	for i, w := range want {
		g := rep.Ratios[i]
		if d := g.Ratio - w.ratio; d > 1e-9 || d < -1e-9 || g.Met != w.met || g.Missing != "" {
			t.Errorf("%s = %v met %v (%s), want %v met %v", g.Name, g.Ratio, g.Met, g.Missing, w.ratio, w.met)
		}
	}
	if len(rep.Medians) != 3 || rep.Medians[0].MBPerSec != 400 || rep.Medians[2].MBPerSec != 180 {
		t.Errorf("medians %v", rep.Medians)
	}
	var b bytes.Buffer
	writeReplication(&b, rep)
	out := b.String()
	for _, s := range []string{"| RF3 acks=1 / RF1 acks=1, MB/s | 360.0 vs 400.0 MB/s | 0.90 | >= 0.85 | yes |",
		"| follower / leader cpu-s/GB, RF3 acks=all |", "| RF3 acks=all | 180.0 | 0.45 |", "## Every run",
		"node 2 at the start", "LinkedIn"} {
		if !strings.Contains(out, s) {
			t.Errorf("report lacks %q:\n%s", s, out)
		}
	}
	// A missing scenario is reported as such, not as a ratio of zero met.
	partial := &ReplicationReport{Results: rep.Results[:1]}
	partial.finish()
	for _, g := range partial.Ratios {
		if g.Met || g.Missing == "" {
			t.Errorf("without RF3 runs: %+v", g)
		}
	}
}

// buildWeir builds the weir binary into a temporary dir, or skips.
func buildWeir(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "weir")
	build := exec.Command("go", "build", "-o", bin, "../cmd/weir")
	// giouring links only with -checklinkname=0 (see the Makefile).
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false -ldflags=-checklinkname=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("cannot build weir: %v\n%s", err, out)
	}
	return bin
}

// uringWorks says whether a broker of bin starts on the uring backend here
// (it refuses to when io_uring is unavailable).
func uringWorks(t *testing.T, bin string) bool {
	t.Helper()
	probe, err := startWeir("probe", bin, "uring", t.TempDir())
	if err != nil {
		if !strings.Contains(err.Error(), "io_uring") {
			t.Fatal(err)
		}
		return false
	}
	probe.stop()
	return true
}

// The replication scenario, briefly, against three real nodes: every run
// is checked (followers hold the leader's bytes, high watermarks =
// acknowledged records) and the report has the ratios.
func TestReplicationCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three brokers")
	}
	bin := buildWeir(t)
	ioBackend := "std"
	if uringWorks(t, bin) {
		ioBackend = "uring"
	}
	jsonOut := filepath.Join(t.TempDir(), "replication.json")
	var out, errb bytes.Buffer
	start := time.Now()
	code := Main([]string{"replication", "--weir-bin", bin, "--io", ioBackend, "--duration", "1s", "--warmup", "0s",
		"--partitions", "2", "--data-dir", t.TempDir(), "--json", jsonOut}, nil, &out, &errb)
	t.Logf("%v:\n%s\n%s", time.Since(start), errb.String(), out.String())
	if code != 0 {
		t.Fatalf("weir bench replication = %d", code)
	}
	for _, s := range []string{"RF3 acks=1 / RF1 acks=1, MB/s", "RF3 acks=all / RF1 acks=1, MB/s",
		"follower / leader cpu-s/GB, RF3 acks=1", "follower / leader cpu-s/GB, RF3 acks=all", "Machine:"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("report lacks %q", s)
		}
	}
	data, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	var rep ReplicationReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 3 || len(rep.Checks) != 3 || len(rep.Ratios) != 4 {
		t.Fatalf("%d results, %d checks, %d ratios", len(rep.Results), len(rep.Checks), len(rep.Ratios))
	}
	for _, g := range rep.Ratios {
		if g.Missing != "" || g.Ratio <= 0 {
			t.Errorf("ratio %q: %v (%s)", g.Name, g.Ratio, g.Missing)
		}
	}
	for i, c := range rep.Checks {
		r := rep.Results[i]
		if c.Err != "" || c.Acknowledged <= 0 || c.HighWater != c.Acknowledged || r.Verified == "" {
			t.Errorf("%s: %+v", c.Scenario, c)
		}
		if len(r.NodeCPUPerGB) != 3 || r.NodeCPUPerGB[0] <= 0 {
			t.Errorf("%s: node cpu-s/GB %v", c.Scenario, r.NodeCPUPerGB)
		}
		if c.NodeBytes[0] <= 0 {
			t.Errorf("%s: the leader holds %d bytes", c.Scenario, c.NodeBytes[0])
		}
		replicated := c.Scenario != scRF1
		for _, n := range c.NodeBytes[1:] {
			if replicated && n != c.NodeBytes[0] || !replicated && n != 0 {
				t.Errorf("%s: log bytes on nodes 1, 2, 3 = %v", c.Scenario, c.NodeBytes)
			}
		}
		if replicated && c.MinISR != 3 {
			t.Errorf("%s: smallest ISR %d after the run", c.Scenario, c.MinISR)
		}
	}
}
