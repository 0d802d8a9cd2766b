package tools

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kgo"
)

var produceCmd = command{
	name:  "produce",
	usage: "weir produce --topic T [flags] < lines",
	summary: "Write each line of stdin (or --file) as one record, produced asynchronously.\n\n" +
		"With --parse-headers and --parse-key a line is headers<TAB>key<TAB>value, as Kafka's console\n" +
		"producer reads it: headers are key:value,key:value, and a header without ':' has a null value.\n" +
		"Every line that fails (no separator, too long, rejected by the broker) is reported on stderr\n" +
		"with its number, and the exit code is 1. On success nothing is printed unless --verbose or\n" +
		"--output json asks for a summary (records, bytes, offsets per partition). As with Kafka's\n" +
		"console producer, a missing topic is created only where the broker auto-creates topics\n" +
		"(auto.create.topics.enable); otherwise produce fails at once (see weir topic create).",
	examples: `
		weir produce --topic orders < orders.txt
		printf 'k1\tv1\nk2\tv2\n' | weir produce --topic orders --parse-key
		weir produce --topic orders --headers source:batch,run:7 --compression zstd --file orders.txt
		printf 'trace:abc\tk1\tv1\n' | weir produce --topic orders --parse-headers --parse-key
		weir produce --topic orders --partition 3 --acks 1 --output json < orders.txt`,
}

// produceFlags are produce's flags, checked by check.
type produceFlags struct {
	conn
	output
	topic       string
	file        string
	partition   int32
	acks        string
	compression string
	linger      time.Duration
	batchMax    int32
	lineMax     int
	verbose     bool
	format      lineFormat
	headers     string
}

func (f *produceFlags) register(c command, io IO) *pflag.FlagSet {
	fs := newFlags(c, io)
	fs.StringVarP(&f.topic, "topic", "t", "", "topic to write to (required)")
	fs.StringVar(&f.file, "file", "-", "read lines from this file instead of stdin")
	fs.BoolVar(&f.format.parseKey, "parse-key", false, "split each line into key and value at --key-separator")
	fs.StringVar(&f.format.keySep, "key-separator", "\t", "what separates key from value with --parse-key")
	fs.StringVar(&f.headers, "headers", "", "headers for every record: key:value,key:value")
	fs.BoolVar(&f.format.parseHeaders, "parse-headers", false,
		"each line starts with its headers (key:value,key:value) and --headers-delimiter")
	fs.StringVar(&f.format.headersDelim, "headers-delimiter", "\t", "what ends a line's headers with --parse-headers")
	fs.StringVar(&f.format.headerSep, "headers-separator", ",", "what separates headers")
	fs.StringVar(&f.format.headerKeySep, "headers-key-separator", ":", "what separates a header's key from its value")
	fs.Int32Var(&f.partition, "partition", -1, "write every record to this partition (-1: by key hash)")
	fs.StringVar(&f.acks, "acks", "all", "acknowledgement to wait for: all (-1), 1 or 0")
	fs.StringVar(&f.compression, "compression", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
	fs.DurationVar(&f.linger, "linger", 0, "how long a batch waits for more records before it is sent")
	fs.Int32Var(&f.batchMax, "batch-max-bytes", 0, "largest batch the client builds (default: franz-go's, about 1 MB)")
	fs.IntVar(&f.lineMax, "max-line-bytes", 8<<20, "longest line accepted; longer lines fail and are reported")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "print a summary on success")
	f.conn.register(fs)
	f.output.register(fs)
	return fs
}

// check validates the flags and turns them into client options.
func (f *produceFlags) check() ([]kgo.Opt, error) {
	switch {
	case f.topic == "":
		return nil, fmt.Errorf("--topic is required")
	case f.lineMax <= 0:
		return nil, fmt.Errorf("--max-line-bytes must be positive, not %d", f.lineMax)
	case f.batchMax < 0:
		return nil, fmt.Errorf("--batch-max-bytes must be positive, not %d", f.batchMax)
	case f.partition < -1:
		return nil, fmt.Errorf("--partition must be a partition number, not %d", f.partition)
	}
	if err := f.output.check(); err != nil {
		return nil, err
	}
	if err := f.format.check(); err != nil {
		return nil, err
	}
	fixed, err := parseHeaderList(f.headers, f.format.headerSep, f.format.headerKeySep)
	if err != nil {
		return nil, fmt.Errorf("--headers: %w", err)
	}
	f.format.fixed = fixed
	return f.options()
}

// options are the producer's client options. A record not acknowledged
// within --request-timeout of being buffered fails (delivery.timeout.ms).
func (f *produceFlags) options() ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.DefaultProduceTopic(f.topic), kgo.ProducerLinger(f.linger),
		kgo.RecordDeliveryTimeout(f.timeout), kgo.MaxBufferedBytes(256 << 20)}
	switch f.acks {
	case "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1": // idempotence needs acks=all
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return nil, fmt.Errorf("--acks must be all, -1, 1 or 0, not %q", f.acks)
	}
	codec, err := compressionCodec(f.compression)
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.ProducerBatchCompression(codec))
	if f.batchMax > 0 {
		opts = append(opts, kgo.ProducerBatchMaxBytes(f.batchMax))
	}
	if f.partition >= 0 {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	return opts, nil
}

func compressionCodec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("--compression must be none, gzip, snappy, lz4 or zstd, not %q", name)
}

// Produce runs `weir produce`: every line is a record, produced
// asynchronously; each failure is reported with its line number on stderr
// and makes the exit code 1.
func Produce(args []string, io IO) int {
	var f produceFlags
	fs := f.register(produceCmd, io)
	if code, done := parseFlags(fs, produceCmd, args, io); done {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(produceCmd, io, "unexpected arguments %q", fs.Args())
	}
	opts, err := f.check()
	if err != nil {
		return usageError(produceCmd, io, "%v", err)
	}
	in := io.In
	if f.file != "-" {
		file, err := os.Open(f.file)
		if err != nil {
			return failure(produceCmd, io, "%v", err)
		}
		defer file.Close()
		in = file
	}
	cl, err := f.client(opts...)
	if err != nil {
		return failure(produceCmd, io, "%v", err)
	}
	defer cl.Close()
	if err := f.checkTopicPartition(cl, f.topic, f.partition, true); err != nil {
		return failure(produceCmd, io, "%v", err)
	}
	p := newProducer(cl, f.topic, f.partition, f.timeout)
	p.noAcks = f.acks == "0"
	readErr := p.produceLines(newLineReader(in, f.lineMax), &f.format)
	p.flush()
	return f.report(p, readErr, io)
}

// report prints the failures on stderr and, when asked, the summary on
// stdout; it returns the exit code.
func (f *produceFlags) report(p *producer, readErr error, io IO) int {
	s := p.summary()
	if f.json() {
		writeJSON(io.Out, s)
	} else if f.verbose {
		s.print(io.Out)
	}
	for i, fl := range s.Failures {
		if i == maxFailuresShown {
			fmt.Fprintf(io.Err, "weir produce: ... and %d more failures\n", len(s.Failures)-i)
			break
		}
		fmt.Fprintf(io.Err, "weir produce: line %d: %s\n", fl.Line, fl.Error)
	}
	if readErr != nil {
		return failure(produceCmd, io, "reading input after line %d: %v", s.Lines, readErr)
	}
	if len(s.Failures) > 0 {
		return failure(produceCmd, io, "%d of %d lines failed", len(s.Failures), s.Lines)
	}
	return exitOK
}

// maxFailuresShown bounds the per-line errors printed: a dead broker fails
// every record the same way.
const maxFailuresShown = 100
