package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CompareSpec says which brokers to run side by side and how long.
type CompareSpec struct {
	WeirBin  string   // the weir binary to start (this one by default)
	IO       []string // Weir backends to start: uring, std
	Kfake    bool     // start franz-go's in-memory kfake as a reference
	Peers    []Target // brokers the user runs (Kafka, Redpanda, ...)
	DataDir  string   // where started brokers keep their logs
	Duration time.Duration
	Warmup   time.Duration
	Rounds   int
	Matrix   *MatrixSpec // also run the matrix against the first Weir target
	HostTime time.Duration
}

// Comparison is everything one compare run measured.
type Comparison struct {
	Date    time.Time    `json:"date"`
	Command string       `json:"command"`
	Machine Machine      `json:"machine"`
	Limits  *HostLimits  `json:"host_limits"`
	Results []*Result    `json:"results"`
	Goals   []Goal       `json:"goals"`
	Ratios  []HostRatio  `json:"host_ratios,omitempty"`
	Matrix  []*Result    `json:"matrix,omitempty"`
	Targets []string     `json:"targets"`
	Charts  []string     `json:"charts,omitempty"`
	cells   []matrixCell // for the matrix table
	codecs  []string
}

// The compare scenarios, named for the targets they measure.
const (
	scProduce1K     = "produce 1KiB"
	scProduce1KIdem = "produce 1KiB acks=all idempotent"
	scConsume1K     = "consume 1KiB"
	scProduce100    = "produce 100B lz4"
	scE2E           = "e2e at 50% of max"
	scE2ELow        = "e2e at 10% of max"
	scE2E20K        = "e2e at 20,000 rec/s acks=all idempotent"
	scPingPong1     = "ping-pong 1 connection"
	scPingPong16    = "ping-pong 16 connections"
)

// e2eFixedRate is the rate of the fixed-rate e2e scenario, records/s.
const e2eFixedRate = 20000

// compareWorkloads are the fixed workloads of a compare run.
type compareWorkloads struct {
	produce1K     ProduceSpec
	produce1KIdem ProduceSpec // produce1K with acks=all and idempotence
	produce100    ProduceSpec
	e2e           ProduceSpec // at a fraction of each target's max rate, filled in per target
	e2e20K        ProduceSpec // at e2eFixedRate, acks=all, idempotent
	consume       ConsumeSpec
	pingPong      []PingPongSpec // by scenario, as pingPongScenarios
}

// pingPongScenarios name the ping-pong runs, by their connections.
var pingPongScenarios = []struct {
	name  string
	conns int
}{{scPingPong1, 1}, {scPingPong16, 16}}

// compareScenarios returns the fixed workloads of a compare run, each
// sized by d.
func compareScenarios(d, warmup time.Duration) compareWorkloads {
	var w compareWorkloads
	w.produce1K = ProduceSpec{Topic: "weir-bench-compare-1k", Partitions: 6, Replication: -1, Producers: 1,
		RecordSize: 1024, Payload: "json", Keys: "none", Acks: "1", BatchMaxBytes: 1 << 20,
		Linger: 5 * time.Millisecond, Compression: "none", Duration: d, Warmup: warmup, Recreate: true,
		MaxBuffered: defaultMaxBuffered(1024)}
	w.produce1KIdem = w.produce1K
	w.produce1KIdem.Topic, w.produce1KIdem.Acks, w.produce1KIdem.Idempotent = "weir-bench-compare-1k-idem", "all", true
	w.produce100 = w.produce1K
	w.produce100.Topic, w.produce100.RecordSize, w.produce100.Compression = "weir-bench-compare-100", 100, "lz4"
	w.produce100.MaxBuffered = defaultMaxBuffered(100)
	w.e2e = w.produce1K
	w.e2e.Topic, w.e2e.Linger = "weir-bench-compare-e2e", time.Millisecond
	w.e2e20K = w.e2e
	w.e2e20K.Topic, w.e2e20K.Acks, w.e2e20K.Idempotent, w.e2e20K.Rate = "weir-bench-compare-e2e-20k", "all", true,
		e2eFixedRate
	w.consume = ConsumeSpec{Topic: w.produce1K.Topic, Consumers: 1, FetchMaxBytes: 50 << 20,
		FetchMaxPartitionBytes: 1 << 20, FetchMaxWait: 500 * time.Millisecond, Duration: 60 * time.Second}
	for _, pp := range pingPongScenarios {
		w.pingPong = append(w.pingPong, PingPongSpec{Connections: pp.conns, Duration: d, Warmup: warmup})
	}
	return w
}

// Compare starts the brokers, measures the host, runs the scenarios against
// every target in alternation (each scenario on each target in turn, for
// each round), then the matrix, and evaluates the goals.
func Compare(ctx context.Context, s CompareSpec, stderr io.Writer) (*Comparison, error) {
	cmp := &Comparison{Date: time.Now().UTC(), Machine: thisMachine()}
	if s.DataDir == "" {
		dir, err := os.MkdirTemp("", "weir-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		s.DataDir = dir
	}
	var targets []Target
	var procs []*brokerProc
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
	for _, io := range s.IO {
		p, err := startWeir("weir-"+io, s.WeirBin, io, s.DataDir)
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
		targets = append(targets, p.Target)
	}
	if s.Kfake {
		p, err := startKfake(s.WeirBin)
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
		targets = append(targets, p.Target)
	}
	targets = append(targets, s.Peers...)
	if len(targets) == 0 {
		return nil, usagef("nothing to compare: no --io backend, no --kfake, no --peer")
	}
	for _, t := range targets {
		cmp.Targets = append(cmp.Targets, t.Name)
	}

	fmt.Fprintf(stderr, "measuring the host (%v per probe)...\n", s.HostTime)
	limits, err := measureHost(s.HostTime, s.DataDir)
	if err != nil {
		return nil, err
	}
	cmp.Limits = limits

	w := compareScenarios(s.Duration, s.Warmup)
	prog := newProgress(stderr)
	for round := 1; round <= s.Rounds; round++ {
		maxRate := map[string]float64{}
		produced := map[string][]PartitionSum{}
		// Each target produces acks=1 and acks=all idempotent back to
		// back, before anything reads, the pair's order swapped every
		// round: on this host a write into page-cache memory the
		// hypervisor took back costs several times one into memory just
		// freed, so whichever of two runs comes second, or after a
		// consume, pays more (bench/FINDINGS.md, "This host"); swapping
		// gives both settings the same share of it.
		for _, t := range targets {
			pair := []string{scProduce1K, scProduce1KIdem}
			if round%2 == 0 {
				pair[0], pair[1] = pair[1], pair[0]
			}
			for _, sc := range pair {
				spec := w.produce1K
				if sc == scProduce1KIdem {
					spec = w.produce1KIdem
				}
				r, err := Produce(ctx, t, spec, prog.titled(t.Name+" "+sc))
				if err != nil {
					return cmp, fmt.Errorf("%s on %s: %w", sc, t.Name, err)
				}
				r.Scenario = sc
				if sc == scProduce1K {
					maxRate[t.Name], produced[t.Name] = r.RecordsPerSec, r.Partitions
				} else {
					deleteTopic(ctx, t, spec.Topic)
				}
				cmp.Results = append(cmp.Results, r)
				logResult(stderr, round, r)
			}
		}
		for _, t := range targets {
			r, err := Consume(ctx, t, w.consume, prog.titled(t.Name+" "+scConsume1K))
			if err != nil {
				return cmp, fmt.Errorf("%s on %s: %w", scConsume1K, t.Name, err)
			}
			r.Scenario = scConsume1K
			if err := compareSums(produced[t.Name], r.Partitions); err != nil {
				return cmp, fmt.Errorf("%s on %s: %w", scConsume1K, t.Name, err)
			}
			r.Verified = fmt.Sprintf("%d records consumed = produced (count and checksum per partition)", r.Records)
			cmp.Results = append(cmp.Results, r)
			logResult(stderr, round, r)
			deleteTopic(ctx, t, w.consume.Topic)
		}
		if err := runProduces(ctx, cmp, targets, w.produce100, scProduce100, round, prog, stderr); err != nil {
			return cmp, err
		}
		// e2e at half the max produce rate (the goal), at a tenth of it
		// (latency off a host that is not saturated), and at a fixed
		// 20,000 records/s with acks=all and idempotence (the goal).
		for _, e := range []struct {
			name     string
			fraction float64 // of the max rate; 0: the spec's own rate
			spec     ProduceSpec
		}{{scE2E, 0.5, w.e2e}, {scE2ELow, 0.1, w.e2e}, {scE2E20K, 0, w.e2e20K}} {
			for _, t := range targets {
				spec := e.spec
				if e.fraction > 0 {
					spec.Rate = maxRate[t.Name] * e.fraction
				}
				r, err := E2E(ctx, t, spec, prog.titled(t.Name+" "+e.name))
				if err != nil {
					return cmp, fmt.Errorf("%s on %s: %w", e.name, t.Name, err)
				}
				r.Scenario = e.name
				cmp.Results = append(cmp.Results, r)
				logResult(stderr, round, r)
				deleteTopic(ctx, t, spec.Topic)
			}
		}
		for i, pp := range pingPongScenarios {
			for _, t := range targets {
				r, err := PingPong(ctx, t, w.pingPong[i], prog.titled(t.Name+" "+pp.name))
				if err != nil {
					return cmp, fmt.Errorf("%s on %s: %w", pp.name, t.Name, err)
				}
				r.Scenario = pp.name
				cmp.Results = append(cmp.Results, r)
				logResult(stderr, round, r)
			}
		}
	}
	if s.Matrix != nil {
		t := targets[0]
		fmt.Fprintf(stderr, "matrix on %s...\n", t.Name)
		cells, err := Matrix(ctx, t, *s.Matrix, prog)
		cmp.cells, cmp.codecs = cells, s.Matrix.Codecs
		for _, c := range cells {
			if c.result != nil {
				c.result.Target = t.Name
				cmp.Matrix = append(cmp.Matrix, c.result)
			}
		}
		if err != nil {
			return cmp, err
		}
	}
	cmp.Goals, cmp.Ratios = evaluateGoals(cmp), hostRatios(cmp)
	return cmp, nil
}

func logResult(w io.Writer, round int, r *Result) {
	fmt.Fprintf(w, "round %d %-40s %-12s %12s rec/s %8.1f MB/s  broker %s cpu-s/GB\n", round, r.Scenario, r.Target,
		count(r.RecordsPerSec), r.MBPerSec, cpuCell(r.BrokerCPUPerGB))
}

// runProduces runs a produce scenario on every target in turn, deleting
// its topic after each.
func runProduces(ctx context.Context, cmp *Comparison, targets []Target, spec ProduceSpec, name string,
	round int, prog *progress, stderr io.Writer) error {
	for _, t := range targets {
		r, err := Produce(ctx, t, spec, prog.titled(t.Name+" "+name))
		if err != nil {
			return fmt.Errorf("%s on %s: %w", name, t.Name, err)
		}
		r.Scenario = name
		cmp.Results = append(cmp.Results, r)
		logResult(stderr, round, r)
		deleteTopic(ctx, t, spec.Topic)
	}
	return nil
}

// median returns the result of scenario on target with the median MB/s
// over the rounds; nil when there is none.
func (c *Comparison) median(scenario, target string) *Result {
	return medianResult(c.Results, scenario, target)
}

// medianResult returns the result of scenario (on target, or on any when
// target is "") with the median MB/s; nil when there is none. Of an even
// count, the lower middle one.
func medianResult(results []*Result, scenario, target string) *Result {
	var rs []*Result
	for _, r := range results {
		if r.Scenario == scenario && (target == "" || r.Target == target) {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return nil
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].MBPerSec < rs[j].MBPerSec })
	return rs[(len(rs)-1)/2]
}

// compareFlags fill a CompareSpec.
type compareFlags struct {
	spec        CompareSpec
	peers       []string
	peerPIDs    []string
	matrix      bool
	matrixFlags matrixFlags
	matrixTime  time.Duration
	quick       bool
	markdown    string
	jsonOut     string
	chartDir    string
	notes       string
}

const compareExamples = `  weir bench compare                                  # Weir uring, Weir std and kfake, 5 s per run
  weir bench compare --peer kafka=10.0.0.5:9092 --rounds 3
  weir bench compare --peer klite=127.0.0.1:9092 --peer-pid klite=4242 --rounds 3
  weir bench compare --matrix --markdown bench/RESULTS.md --json bench/results.json --chart-dir bench/charts
  weir bench compare --quick                          # a one-minute smoke run
`

func compareCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f compareFlags
	var o outputFlags
	fs := flagSet("compare", "Start Weir (--io=uring, --io=std) and kfake on this host, add --peer brokers, measure "+
		"the host's limits, run the same scenarios against each in alternation and report figures, ratios and goals.",
		compareExamples, stdout)
	self, _ := os.Executable()
	fs.StringVar(&f.spec.WeirBin, "weir-bin", self, "weir binary to start brokers with")
	fs.StringSliceVar(&f.spec.IO, "io", []string{"uring", "std"}, "Weir backends to start (uring, std; empty for none)")
	fs.BoolVar(&f.spec.Kfake, "kfake", true, "start franz-go's in-memory kfake broker as a reference")
	fs.StringArrayVar(&f.peers, "peer", nil, "a broker you run, as name=host:port[,host:port] (repeatable)")
	fs.StringArrayVar(&f.peerPIDs, "peer-pid", nil, "a --peer broker's process on this host, as name=pid, "+
		"to measure its CPU (repeatable)")
	fs.StringVar(&f.spec.DataDir, "data-dir", "", "log dirs of the started brokers (default: a temporary dir)")
	fs.DurationVar(&f.spec.Duration, "duration", 5*time.Second, "length of each produce run (measured)")
	fs.DurationVar(&f.spec.Warmup, "warmup", time.Second, "unmeasured start of each produce run")
	fs.IntVar(&f.spec.Rounds, "rounds", 1, "times to run every scenario on every target (the median is compared)")
	fs.DurationVar(&f.spec.HostTime, "host-probe-time", 1500*time.Millisecond, "length of each host probe")
	fs.BoolVar(&f.matrix, "matrix", false, "also run the batch x codec matrix against the first Weir target")
	f.matrixFlags.register(fs)
	fs.DurationVar(&f.matrixTime, "matrix-duration", 2*time.Second, "length of each matrix cell")
	fs.BoolVar(&f.quick, "quick", false, "a short smoke run: 1 s runs, a 4-cell matrix")
	fs.StringVar(&f.markdown, "markdown", "", "write the report as Markdown to this file")
	fs.StringVar(&f.jsonOut, "json", "", "write every figure as JSON to this file")
	fs.StringVar(&f.chartDir, "chart-dir", "", "write SVG charts here (default: charts/ next to --markdown)")
	fs.StringVar(&f.notes, "notes", "", "a Markdown file appended to the report (profile findings)")
	o.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	s := f.spec
	if f.quick {
		s.Duration, s.HostTime, f.matrixTime, s.Warmup = time.Second, 300*time.Millisecond, time.Second, 250*time.Millisecond
		if !fs.Changed("batch-sizes") {
			f.matrixFlags.batches = "16KiB,1MiB"
		}
		if !fs.Changed("codecs") {
			f.matrixFlags.codecs = "none,lz4"
		}
		if !fs.Changed("record-sizes") {
			f.matrixFlags.recordSizes = "1KiB"
		}
		if !fs.Changed("payloads") {
			f.matrixFlags.payloads = "json"
		}
		f.matrix = true
	}
	for _, p := range f.peers {
		name, addrs, ok := strings.Cut(p, "=")
		if !ok || name == "" || addrs == "" {
			return usagef("--peer %q: want name=host:port[,host:port]", p)
		}
		s.Peers = append(s.Peers, Target{Name: name, Bootstrap: strings.Split(addrs, ",")})
	}
	for _, p := range f.peerPIDs {
		name, pid, _ := strings.Cut(p, "=")
		n, err := strconv.Atoi(pid)
		i := slices.IndexFunc(s.Peers, func(t Target) bool { return t.Name == name })
		if err != nil || n <= 0 || i < 0 {
			return usagef("--peer-pid %q: want name=pid, name a --peer's", p)
		}
		s.Peers[i].PID = n
	}
	if s.Rounds < 1 || s.Duration <= 0 {
		return usagef("--rounds and --duration must be positive")
	}
	for _, io := range s.IO {
		if io != "uring" && io != "std" {
			return usagef("--io %q: uring or std", io)
		}
	}
	if len(s.IO) > 0 || s.Kfake {
		if _, err := os.Stat(s.WeirBin); err != nil {
			return usagef("--weir-bin: %v", err)
		}
	}
	if f.matrix {
		f.matrixFlags.base.spec = ProduceSpec{Topic: "weir-bench-matrix", Partitions: 6, Replication: -1, Producers: 1,
			Keys: "none", Acks: "1", Linger: 5 * time.Millisecond, Duration: f.matrixTime, Warmup: f.matrixTime / 4,
			Payload: "json", Compression: "none"}
		f.matrixFlags.base.recordSize, f.matrixFlags.base.batch = "1KiB", "1MiB"
		m, err := f.matrixFlags.spec()
		if err != nil {
			return err
		}
		s.Matrix = &m
	}
	chartDir := f.chartDir
	if chartDir == "" && f.markdown != "" {
		chartDir = filepath.Join(filepath.Dir(f.markdown), "charts")
	}

	cmp, err := Compare(ctx, s, stderr)
	if cmp == nil {
		return err
	}
	cmp.Command = "weir bench compare " + strings.Join(args, " ")
	if chartDir != "" {
		files, cerr := writeCompareCharts(chartDir, cmp)
		if cerr != nil && err == nil {
			err = cerr
		}
		cmp.Charts = files
	}
	if o.format == "json" {
		writeJSON(stdout, cmp)
	} else {
		writeComparison(stdout, cmp, "", "")
	}
	if f.jsonOut != "" {
		if werr := writeFile(f.jsonOut, func(w io.Writer) error { return writeJSON(w, cmp) }); werr != nil && err == nil {
			err = werr
		}
	}
	if f.markdown != "" {
		notes := ""
		if f.notes != "" {
			b, rerr := os.ReadFile(f.notes)
			if rerr != nil && err == nil {
				err = rerr
			}
			notes = string(b)
		}
		werr := writeFile(f.markdown, func(w io.Writer) error {
			writeComparison(w, cmp, filepath.Dir(f.markdown), notes)
			return nil
		})
		if werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

// writeFile writes a file whole: to a temporary name, then renamed.
func writeFile(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
