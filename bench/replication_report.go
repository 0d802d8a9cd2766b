package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// ReplicationReport is everything one replication run measured.
type ReplicationReport struct {
	Date       time.Time     `json:"date"`
	Command    string        `json:"command"`
	Machine    Machine       `json:"machine"`
	IO         string        `json:"io"`
	Workload   string        `json:"workload"`
	Partitions int           `json:"partitions"`
	Producers  int           `json:"producers"`
	Rounds     int           `json:"rounds"`
	Duration   time.Duration `json:"duration_ns"`
	Warmup     time.Duration `json:"warmup_ns"`
	Nodes      []string      `json:"nodes"`
	// QuorumLeader is the active controller when the runs began (-1:
	// unknown); its node also does the metadata log's leader work.
	QuorumLeader int32          `json:"quorum_leader"`
	Results      []*Result      `json:"results"` // every run, in the order run
	Checks       []ReplicaCheck `json:"replication_checks"`
	Medians      []*Result      `json:"medians"` // per scenario, the run with the median MB/s
	Ratios       []Goal         `json:"ratios"`
}

// finish picks each scenario's median run and evaluates the ratios.
func (r *ReplicationReport) finish() {
	r.Medians, r.Ratios = nil, nil
	for _, sc := range replScenarios {
		if m := medianResult(r.Results, sc.name, ""); m != nil {
			r.Medians = append(r.Medians, m)
		}
	}
	r.Ratios = replicationRatios(r.Results)
}

// The targets, after LinkedIn's Kafka figures: replicating 3x
// asynchronously cost about 4% of throughput, synchronously about half.
const (
	wantRF3Acks1 = 0.85 // RF3 acks=1 MB/s over RF1's, at least
	wantRF3All   = 0.5  // RF3 acks=all MB/s over RF1's, at least
	wantFollower = 0.5  // a follower's cpu-s/GB over the leader's, at most
)

// replicationRatios compares the scenarios' median runs.
func replicationRatios(results []*Result) []Goal {
	var goals []Goal
	base := medianResult(results, scRF1, "")
	for _, c := range []struct {
		sc   string
		want float64
	}{{scRF3Acks1, wantRF3Acks1}, {scRF3All, wantRF3All}} {
		g := Goal{Name: c.sc + " / " + scRF1 + ", MB/s", Target: c.sc, Want: fmt.Sprintf(">= %.2f", c.want)}
		r := medianResult(results, c.sc, "")
		switch {
		case r == nil || base == nil:
			g.Missing = "not run"
		case base.MBPerSec <= 0:
			g.Missing = scRF1 + " moved nothing"
		default:
			g.Ratio = r.MBPerSec / base.MBPerSec
			g.Measured = fmt.Sprintf("%.1f vs %.1f MB/s", r.MBPerSec, base.MBPerSec)
			g.Met = g.Ratio >= c.want
		}
		goals = append(goals, g)
	}
	for _, sc := range []string{scRF3Acks1, scRF3All} {
		g := Goal{Name: "follower / leader cpu-s/GB, " + sc, Target: sc, Want: fmt.Sprintf("<= %.2f", wantFollower)}
		r := medianResult(results, sc, "")
		switch {
		case r == nil:
			g.Missing = "not run"
		case len(r.NodeCPUPerGB) != clusterNodes || r.NodeCPUPerGB[0] <= 0 || r.NodeCPUPerGB[1] < 0 ||
			r.NodeCPUPerGB[2] < 0:
			g.Missing = "node CPU unknown"
		default:
			leader, f := r.NodeCPUPerGB[0], max(r.NodeCPUPerGB[1], r.NodeCPUPerGB[2])
			g.Ratio = f / leader
			g.Measured = fmt.Sprintf("nodes 2, 3: %.2f, %.2f vs node 1: %.2f cpu-s/GB (the higher follower counts)",
				r.NodeCPUPerGB[1], r.NodeCPUPerGB[2], leader)
			g.Met = g.Ratio <= wantFollower
		}
		goals = append(goals, g)
	}
	return goals
}

// writeReplication prints a replication run as Markdown.
func writeReplication(w io.Writer, r *ReplicationReport) {
	fmt.Fprintf(w, "# Weir replication cost: 3 nodes on one host\n\n")
	fmt.Fprintf(w, "- Date: %s\n", r.Date.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "- Machine: %s\n", r.Machine)
	fmt.Fprintf(w, "- Command: `%s`\n", strings.TrimSpace(r.Command))
	fmt.Fprintf(w, "- Cluster: 3 combined nodes (broker and controller, one Raft quorum), `--io=%s`, child processes "+
		"on 127.0.0.1 (%s). Every topic is created with replica assignments that make node 1 lead every partition: "+
		"RF1 topics on [1], RF3 topics on [1, 2, 3] with min.insync.replicas=2; so node 1 is purely leader, nodes "+
		"2 and 3 purely followers, and each process's CPU is its role's (the active controller, node %s at the start, also leads the "+
		"metadata log: a small load, see the nodes' CPU in the RF1 row).\n", r.IO, strings.Join(r.Nodes, "; "),
		quorumLeaderCell(r.QuorumLeader))
	fmt.Fprintf(w, "- Workload: %s, %d partitions, %d producer(s) at max rate (franz-go in the benchmark's "+
		"process, on the same cores), %v measured after %v of warm-up; each run on a new topic, deleted after it. "+
		"%d round(s) of the three scenarios in alternation; the tables show each scenario's median run by MB/s.\n",
		r.Workload, r.Partitions, r.Producers, r.Duration, r.Warmup, r.Rounds)
	fmt.Fprintf(w, "- Units: MB = 1e6 bytes of record keys and values; cpu-s/GB = a process's CPU seconds "+
		"(user+system, /proc/<pid>/stat) per 1e9 such bytes produced, metered from the end of the warm-up to the last acknowledgement "+
		"(a follower's lag then is about its lag when the meter started); latency = send to acknowledgement at "+
		"max rate (queueing included).\n")
	fmt.Fprintf(w, "- Anchor: LinkedIn's Kafka figures: replicating 3x asynchronously cost about 4%% of "+
		"throughput, synchronously about half.\n\n")

	fmt.Fprintf(w, "## Ratios\n\n| ratio | measured | value | target | met |\n|---|---|---:|---|---|\n")
	for _, g := range r.Ratios {
		fmt.Fprintf(w, "| %s | %s | %.2f | %s | %s |\n", g.Name, g.Measured, g.Ratio, g.Want, g.verdict())
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "## Scenarios (median of %d round(s))\n\n", r.Rounds)
	writeReplicationTable(w, r.Medians, false)
	if r.Rounds > 1 {
		fmt.Fprintf(w, "\n## Every run\n\n")
		writeReplicationTable(w, r.Results, true)
	}
	fmt.Fprintf(w, "\n## Replication checks\n\n")
	fmt.Fprintf(w, "After each run: node 1's high watermark of every partition equals the records the producers "+
		"had acknowledged there (warm-up included), each follower's log of every partition is as many bytes "+
		"as the leader's (DescribeLogDirs), and node 1 still leads every partition.\n\n")
	for _, c := range r.Checks {
		fmt.Fprintf(w, "- round %d, %s (%s): ", c.Round, c.Scenario, c.Topic)
		if c.Err != "" {
			fmt.Fprintf(w, "FAILED: %s\n", c.Err)
			continue
		}
		fmt.Fprintf(w, "%d records acknowledged = high watermarks; log bytes on nodes 1, 2, 3: %d, %d, %d; "+
			"smallest ISR after the run %d; checks held %.1f s after the producers finished\n", c.Acknowledged,
			c.NodeBytes[0], c.NodeBytes[1], c.NodeBytes[2], c.MinISR, c.CatchUp)
	}
}

// writeReplicationTable prints the runs' figures, one row each; the ratio
// column compares with the median RF1 run among them.
func writeReplicationTable(w io.Writer, rs []*Result, withRound bool) {
	base := medianResult(rs, scRF1, "")
	round := map[string]int{}
	fmt.Fprintf(w, "| %sscenario | MB/s | vs RF1 | records/s | p50 ms | p99 ms | node 1 (leader) cpu-s/GB | "+
		"node 2 cpu-s/GB | node 3 cpu-s/GB | all brokers cpu-s/GB | client cpu-s/GB |\n", roundCol(withRound, "round | "))
	fmt.Fprintf(w, "|%s---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", roundCol(withRound, "---:|"))
	for _, r := range rs {
		round[r.Scenario]++
		vs := "-"
		if base != nil && base.MBPerSec > 0 {
			vs = fmt.Sprintf("%.2f", r.MBPerSec/base.MBPerSec)
		}
		p50, p99 := "-", "-"
		if r.Latency != nil {
			p50, p99 = ms(r.Latency.P50), ms(r.Latency.P99)
		}
		node := func(i int) string {
			if i < len(r.NodeCPUPerGB) {
				return cpuCell(r.NodeCPUPerGB[i])
			}
			return "-"
		}
		client := -1.0
		if r.Bytes > 0 {
			client = r.ClientCPU / (float64(r.Bytes) / 1e9)
		}
		fmt.Fprintf(w, "| %s%s | %.1f | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			roundCol(withRound, fmt.Sprintf("%d | ", round[r.Scenario])), r.Scenario, r.MBPerSec, vs,
			count(r.RecordsPerSec), p50, p99, node(0), node(1), node(2), cpuCell(r.BrokerCPUPerGB), cpuCell(client))
	}
}

func quorumLeaderCell(id int32) string {
	if id < 0 {
		return "?"
	}
	return fmt.Sprint(id)
}

func roundCol(with bool, s string) string {
	if with {
		return s
	}
	return ""
}

const replicationExamples = `  weir bench replication                              # 1 round, 5 s per run, --io=uring
  weir bench replication --rounds 3 --markdown bench/REPLICATION.md --json bench/replication.json
  weir bench replication --io std --duration 3s --partitions 12 -o json
`

func replicationCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var s ReplicationSpec
	var o outputFlags
	var markdown, jsonOut string
	fs := flagSet("replication", "Start three Weir nodes on this host (one quorum, each a broker) and measure what "+
		"replication costs: produce to RF1 with acks=1, RF3 with acks=1 and RF3 with acks=all (idempotent), node 1 "+
		"leading every partition, in alternation over --rounds. Reports MB/s, produce latency, the CPU per GB of "+
		"the leader, of each follower and of the clients, the ratios against their targets, and checks that "+
		"every follower holds the leader's bytes.", replicationExamples, stdout)
	self, _ := os.Executable()
	fs.StringVar(&s.WeirBin, "weir-bin", self, "weir binary to start the nodes with")
	fs.StringVar(&s.IO, "io", "uring", "the nodes' I/O backend: uring or std")
	fs.StringVar(&s.DataDir, "data-dir", "", "where the nodes' log dirs go, in a temporary dir removed after "+
		"(default: the system's temporary dir)")
	fs.DurationVar(&s.Duration, "duration", 5*time.Second, "length of each run (measured)")
	fs.DurationVar(&s.Warmup, "warmup", time.Second, "unmeasured start of each run")
	fs.IntVar(&s.Rounds, "rounds", 1, "times to run the three scenarios (the median is compared)")
	fs.IntVar(&s.Partitions, "partitions", 6, "partitions of each topic")
	fs.IntVar(&s.Producers, "producers", 1, "producer clients")
	fs.StringVar(&markdown, "markdown", "", "write the report as Markdown to this file")
	fs.StringVar(&jsonOut, "json", "", "write every figure as JSON to this file")
	o.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	switch {
	case s.IO != "uring" && s.IO != "std":
		return usagef("--io %q: uring or std", s.IO)
	case s.Rounds < 1:
		return usagef("--rounds must be at least 1")
	case s.Duration <= 0:
		return usagef("--duration must be positive")
	case s.Warmup < 0:
		return usagef("--warmup must not be negative")
	case s.Partitions < 1:
		return usagef("--partitions must be at least 1")
	case s.Producers < 1:
		return usagef("--producers must be at least 1")
	}
	if _, err := os.Stat(s.WeirBin); err != nil {
		return usagef("--weir-bin: %v", err)
	}

	rep, err := Replication(ctx, s, stderr)
	if rep == nil {
		return err
	}
	rep.Command = "weir bench replication " + strings.Join(args, " ")
	if o.format == "json" {
		writeJSON(stdout, rep)
	} else {
		writeReplication(stdout, rep)
	}
	if jsonOut != "" {
		if werr := writeFile(jsonOut, func(w io.Writer) error { return writeJSON(w, rep) }); werr != nil && err == nil {
			err = werr
		}
	}
	if markdown != "" {
		werr := writeFile(markdown, func(w io.Writer) error {
			writeReplication(w, rep)
			return nil
		})
		if werr != nil && err == nil {
			err = werr
		}
	}
	return err
}
