package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
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
	Matrix  []*Result    `json:"matrix,omitempty"`
	Targets []string     `json:"targets"`
	Charts  []string     `json:"charts,omitempty"`
	cells   []matrixCell // for the matrix table
	codecs  []string
}

// The compare scenarios, named for the targets they measure.
const (
	scProduce1K  = "produce 1KiB"
	scConsume1K  = "consume 1KiB"
	scProduce100 = "produce 100B lz4"
	scE2E        = "e2e at 50% of max"
	scE2ELow     = "e2e at 10% of max"
)

// compareScenarios returns the fixed workloads of a compare run, each
// sized by d. e2e's rate is filled in per target from its produce run.
func compareScenarios(d, warmup time.Duration) (produce1K, produce100, e2e ProduceSpec, consume ConsumeSpec) {
	produce1K = ProduceSpec{Topic: "weir-bench-compare-1k", Partitions: 6, Replication: -1, Producers: 1,
		RecordSize: 1024, Payload: "json", Keys: "none", Acks: "1", BatchMaxBytes: 1 << 20,
		Linger: 5 * time.Millisecond, Compression: "none", Duration: d, Warmup: warmup, Recreate: true,
		MaxBuffered: defaultMaxBuffered(1024)}
	produce100 = produce1K
	produce100.Topic, produce100.RecordSize, produce100.Compression = "weir-bench-compare-100", 100, "lz4"
	produce100.MaxBuffered = defaultMaxBuffered(100)
	e2e = produce1K
	e2e.Topic, e2e.Linger = "weir-bench-compare-e2e", time.Millisecond
	consume = ConsumeSpec{Topic: produce1K.Topic, Consumers: 1, FetchMaxBytes: 50 << 20,
		FetchMaxPartitionBytes: 1 << 20, FetchMaxWait: 500 * time.Millisecond, Duration: 60 * time.Second}
	return
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

	produce1K, produce100, e2e, consume := compareScenarios(s.Duration, s.Warmup)
	prog := newProgress(stderr)
	for round := 1; round <= s.Rounds; round++ {
		maxRate := map[string]float64{}
		produced := map[string][]PartitionSum{}
		for _, t := range targets {
			r, err := Produce(ctx, t, produce1K, prog.titled(t.Name+" "+scProduce1K))
			if err != nil {
				return cmp, fmt.Errorf("%s on %s: %w", scProduce1K, t.Name, err)
			}
			r.Scenario = scProduce1K
			maxRate[t.Name], produced[t.Name] = r.RecordsPerSec, r.Partitions
			cmp.Results = append(cmp.Results, r)
			logResult(stderr, round, r)
		}
		for _, t := range targets {
			r, err := Consume(ctx, t, consume, prog.titled(t.Name+" "+scConsume1K))
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
			deleteTopic(ctx, t, consume.Topic)
		}
		for _, t := range targets {
			r, err := Produce(ctx, t, produce100, prog.titled(t.Name+" "+scProduce100))
			if err != nil {
				return cmp, fmt.Errorf("%s on %s: %w", scProduce100, t.Name, err)
			}
			r.Scenario = scProduce100
			cmp.Results = append(cmp.Results, r)
			logResult(stderr, round, r)
			deleteTopic(ctx, t, produce100.Topic)
		}
		// e2e at half the max produce rate (the goal) and, for reading
		// latency off a host that is not saturated, at a tenth of it.
		for _, e := range []struct {
			name     string
			fraction float64
		}{{scE2E, 0.5}, {scE2ELow, 0.1}} {
			for _, t := range targets {
				spec := e2e
				spec.Rate = maxRate[t.Name] * e.fraction
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
	cmp.Goals = evaluateGoals(cmp)
	return cmp, nil
}

func logResult(w io.Writer, round int, r *Result) {
	fmt.Fprintf(w, "round %d %-18s %-12s %12s rec/s %8.1f MB/s  broker %s cpu-s/GB\n", round, r.Scenario, r.Target,
		count(r.RecordsPerSec), r.MBPerSec, cpuCell(r.BrokerCPUPerGB))
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
