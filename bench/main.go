package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

// Main runs `weir bench <scenario> [flags]` and returns the exit code: 0
// done, 1 a run failed (unreachable broker, lost records), 2 bad usage.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		benchUsage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "produce":
		err = produceCmd(ctx, rest, stdout, stderr)
	case "consume":
		err = consumeCmd(ctx, rest, stdout, stderr)
	case "e2e":
		err = e2eCmd(ctx, rest, stdout, stderr)
	case "matrix":
		err = matrixCmd(ctx, rest, stdout, stderr)
	case "compare":
		err = compareCmd(ctx, rest, stdout, stderr)
	case "replication":
		err = replicationCmd(ctx, rest, stdout, stderr)
	case "report":
		err = reportCmd(rest, stdout)
	case "kfake":
		err = kfakeCmd(rest, stderr)
	default:
		fmt.Fprintf(stderr, "weir bench: unknown scenario %q\n\n", cmd)
		benchUsage(stderr)
		return 2
	}
	var u usageErr
	switch {
	case err == nil:
		return 0
	case errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.As(err, &u):
		fmt.Fprintf(stderr, "weir bench %s: %v\n(see weir bench %s --help)\n", cmd, err, cmd)
		return 2
	default:
		fmt.Fprintf(stderr, "weir bench %s: %v\n", cmd, err)
		return 1
	}
}

func benchUsage(w io.Writer) {
	fmt.Fprint(w, `weir bench: measure a Kafka-compatible broker with franz-go clients

Usage:
  weir bench produce     [flags]   producers at max or fixed rate; records/s, MB/s, latency
  weir bench consume     [flags]   consumers reading a filled topic from the start
  weir bench e2e         [flags]   fixed-rate produce with a concurrent consumer; end-to-end latency
  weir bench matrix      [flags]   batch size x compression x record size x payload, one table
  weir bench compare     [flags]   Weir (uring, std), kfake and peers side by side, with host limits
  weir bench replication [flags]   3 Weir nodes on this host: RF1 vs RF3 acks=1 vs RF3 acks=all, CPU per role
  weir bench report      [flags]   render a saved compare run (its JSON) as Markdown and charts again

Every scenario takes --help. Figures: MB = 1e6 bytes of record keys and values
(before compression; "wire" is after); latencies are HdrHistogram percentiles.
`)
}

// usageErr marks a bad flag or value (exit 2).
type usageErr struct{ error }

func usagef(format string, args ...any) error { return usageErr{fmt.Errorf(format, args...)} }

// flagSet makes a scenario's flag set; --help prints usage and examples.
func flagSet(name, summary, examples string, stdout io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet("weir bench "+name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "%s\n\nUsage:\n  weir bench %s [flags]\n\nFlags:\n%s\nExamples:\n%s", summary, name,
			fs.FlagUsages(), examples)
	}
	return fs
}

// parse reads a scenario's flags. On --help or -h pflag has printed the
// usage already; parse returns pflag.ErrHelp (exit 0).
func parse(fs *pflag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		return err
	}
	if err != nil {
		return usageErr{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// targetFlags say which broker to drive.
type targetFlags struct {
	bootstrap  []string
	pid        int
	cpuProfile string
}

func (t *targetFlags) register(fs *pflag.FlagSet) {
	fs.StringSliceVar(&t.bootstrap, "bootstrap-server", []string{"127.0.0.1:9092"}, "broker host:port (comma-separated or repeated)")
	fs.IntVar(&t.pid, "broker-pid", 0, "pid of a local broker process, to report its CPU seconds per GB")
	fs.StringVar(&t.cpuProfile, "client-cpu-profile", "", "write the benchmark clients' CPU profile (pprof) to this file")
}

// profiled runs a scenario, under the clients' CPU profile when asked.
func (t *targetFlags) profiled(run func() error) error {
	if t.cpuProfile == "" {
		return run()
	}
	f, err := os.Create(t.cpuProfile)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return run()
}

func (t *targetFlags) target() Target {
	return Target{Name: strings.Join(t.bootstrap, ","), Bootstrap: t.bootstrap, PID: t.pid}
}

// produceFlags fill a ProduceSpec.
type produceFlags struct {
	spec                ProduceSpec
	recordSize, batch   string
	defaultRate         float64
	maxBufferedExplicit int
}

func (p *produceFlags) register(fs *pflag.FlagSet) {
	s := &p.spec
	fs.StringVar(&s.Topic, "topic", "weir-bench", "topic (created when missing)")
	fs.BoolVar(&s.Recreate, "recreate", false, "delete the topic first if it exists, to start from an empty log")
	fs.IntVar(&s.Partitions, "partitions", 6, "partitions when creating the topic")
	fs.Int16Var(&s.Replication, "replication-factor", -1, "replication factor when creating the topic (-1: the broker's default)")
	fs.IntVar(&s.Producers, "producers", 1, "producer clients")
	fs.StringVar(&p.recordSize, "record-size", "1KiB", "value size (100, 1KiB, ...)")
	fs.StringVar(&s.Payload, "payload", "json", "value bytes: json (JSON-like events, compressible) or random")
	fs.StringVar(&s.Keys, "keys", "none", "key distribution: none, uniform:N or zipf:N")
	fs.StringVar(&s.Acks, "acks", "1", "0, 1 or all")
	fs.StringVar(&p.batch, "batch-max-bytes", "1MiB", "largest record batch the producer builds")
	fs.DurationVar(&s.Linger, "linger", 5*time.Millisecond, "how long a producer waits to fill a batch")
	fs.StringVar(&s.Compression, "compression", "none", "none, gzip, snappy, lz4 or zstd")
	fs.IntVar(&s.Level, "compression-level", 0, "codec level (0: the codec's default)")
	fs.BoolVar(&s.Idempotent, "idempotent", false, "idempotent producer (needs --acks all)")
	fs.Float64Var(&s.Rate, "rate", p.defaultRate, "records/s over all producers (0: as fast as possible)")
	fs.DurationVar(&s.Duration, "duration", 10*time.Second, "how long to produce (measured)")
	fs.DurationVar(&s.Warmup, "warmup", time.Second, "run this long first, unmeasured, so connections, metadata and caches settle (not with --records)")
	fs.Int64Var(&s.Records, "records", 0, "produce this many records instead of running for --duration")
	fs.IntVar(&p.maxBufferedExplicit, "max-buffered", 0, "records each producer may have unacknowledged (0: 64 MiB worth)")
}

func (p *produceFlags) finish() error {
	var err error
	if p.spec.RecordSize, err = parseSize(p.recordSize); err != nil {
		return usagef("--record-size: %v", err)
	}
	if p.spec.BatchMaxBytes, err = parseSize(p.batch); err != nil {
		return usagef("--batch-max-bytes: %v", err)
	}
	p.spec.MaxBuffered = p.maxBufferedExplicit
	if p.spec.MaxBuffered == 0 {
		p.spec.MaxBuffered = defaultMaxBuffered(p.spec.RecordSize)
	}
	if _, err := parseKeys(p.spec.Keys, 0); err != nil {
		return usageErr{err}
	}
	if p.spec.Payload != "json" && p.spec.Payload != "random" {
		return usagef("--payload must be json or random, not %q", p.spec.Payload)
	}
	if err := p.spec.check(); err != nil {
		return usageErr{err}
	}
	return nil
}

// defaultMaxBuffered lets a producer keep 64 MiB of records in flight:
// enough to fill several 1 MiB batches per partition at any record size.
func defaultMaxBuffered(recordSize int) int {
	return min(max(64<<20/max(recordSize, 1), 10000), 2000000)
}

// outputFlags choose how results are printed.
type outputFlags struct{ format string }

func (o *outputFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&o.format, "output", "o", "table", "table (Markdown) or json")
}

func (o *outputFlags) check() error {
	if o.format != "table" && o.format != "json" {
		return usagef("--output must be table or json, not %q", o.format)
	}
	return nil
}

func (o *outputFlags) print(w io.Writer, results ...*Result) error {
	if o.format == "json" {
		return writeJSON(w, results)
	}
	writeResultTable(w, results)
	writeDelivery(w, results)
	return nil
}

const produceExamples = `  weir bench produce --bootstrap-server 127.0.0.1:9092 --record-size 1KiB --compression lz4 --duration 30s
  weir bench produce --producers 4 --acks all --idempotent --keys uniform:1000 --records 1000000
  weir bench produce --rate 50000 --batch-max-bytes 16KiB --linger 1ms --output json
`

func produceCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return producerCmd(ctx, "produce", "Producers at max or fixed rate: records/s, MB/s before and after compression, "+
		"produce latency (send to acknowledgement) percentiles, broker CPU per GB with --broker-pid.",
		produceExamples, 0, Produce, args, stdout, stderr)
}

// producerCmd runs a scenario driven by a ProduceSpec (produce, e2e):
// flags, checks, the run, and its report. A run that lost or refused
// records fails after its figures are printed.
func producerCmd(ctx context.Context, name, summary, examples string, defaultRate float64,
	run func(context.Context, Target, ProduceSpec, *progress) (*Result, error),
	args []string, stdout, stderr io.Writer) error {
	var t targetFlags
	p := produceFlags{defaultRate: defaultRate}
	var o outputFlags
	fs := flagSet(name, summary, examples, stdout)
	t.register(fs)
	p.register(fs)
	o.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := p.finish(); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	return t.profiled(func() error {
		res, err := run(ctx, t.target(), p.spec, newProgress(stderr).titled(name))
		if res != nil {
			if perr := o.print(stdout, res); perr != nil {
				return perr
			}
		}
		if err == nil && res.Errors > 0 {
			err = fmt.Errorf("%d records failed, first: %s", res.Errors, res.FirstErr)
		}
		return err
	})
}

const consumeExamples = `  weir bench consume --topic weir-bench
  weir bench consume --consumers 3 --group bench --fetch-max-bytes 50MiB --output json
`

func consumeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var t targetFlags
	var o outputFlags
	var s ConsumeSpec
	var fetch, partFetch string
	fs := flagSet("consume", "Consumers read a filled topic from its start to the end offsets seen at the start "+
		"(fill it with weir bench produce); every offset in that range must arrive once.",
		consumeExamples, stdout)
	t.register(fs)
	fs.StringVar(&s.Topic, "topic", "weir-bench", "topic to read")
	fs.IntVar(&s.Consumers, "consumers", 1, "consumer clients")
	fs.StringVar(&s.Group, "group", "", "consume as this group (default: partitions assigned directly)")
	fs.StringVar(&fetch, "fetch-max-bytes", "50MiB", "fetch response size (fetch.max.bytes)")
	fs.StringVar(&partFetch, "fetch-max-partition-bytes", "1MiB", "per-partition fetch size (max.partition.fetch.bytes)")
	fs.DurationVar(&s.FetchMaxWait, "fetch-max-wait", 500*time.Millisecond, "fetch.max.wait.ms")
	fs.DurationVar(&s.Duration, "duration", 60*time.Second, "give up after this long")
	o.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	var err error
	if s.FetchMaxBytes, err = parseSize(fetch); err != nil {
		return usagef("--fetch-max-bytes: %v", err)
	}
	if s.FetchMaxPartitionBytes, err = parseSize(partFetch); err != nil {
		return usagef("--fetch-max-partition-bytes: %v", err)
	}
	if err := s.check(); err != nil {
		return usageErr{err}
	}
	if err := o.check(); err != nil {
		return err
	}
	return t.profiled(func() error {
		res, err := Consume(ctx, t.target(), s, newProgress(stderr).titled("consume"))
		if res != nil {
			if perr := o.print(stdout, res); perr != nil {
				return perr
			}
		}
		return err
	})
}

const e2eExamples = `  weir bench e2e --rate 20000 --duration 30s
  weir bench e2e --rate 5000 --record-size 100 --acks all --output json
`

func e2eCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return producerCmd(ctx, "e2e", "Produce at a fixed --rate while a consumer reads the topic: end-to-end latency "+
		"(due send time to consume) and produce latency percentiles; every acknowledged record must arrive.",
		e2eExamples, 10000, E2E, args, stdout, stderr)
}

func kfakeCmd(args []string, stderr io.Writer) error {
	fs := pflag.NewFlagSet("weir bench kfake", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 9092, "port on 127.0.0.1")
	if err := fs.Parse(args); err != nil {
		return usageErr{err}
	}
	return serveKfake(*port)
}
