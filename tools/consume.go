package tools

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kgo"
)

var consumeCmd = command{
	name:  "consume",
	usage: "weir consume --topic T [--group G] [--from-beginning | --offset N | --timestamp T] [flags]",
	summary: "Print the records of a topic, one per line, alone or as a member of a consumer group.\n\n" +
		"Without --group it starts at the log end unless told otherwise; in a group it starts at the\n" +
		"committed offsets (the log end, or the start with --from-beginning, where there are none),\n" +
		"commits what it printed and leaves the group on exit (Ctrl-C, --max-messages, --timeout).\n\n" +
		"--format takes a Go text/template over .Topic .Partition .Offset .Key .Value .Headers\n" +
		"(each .Key .Value) and .Timestamp (a time.Time in UTC), or the word json: one JSON object per\n" +
		"record, keys and values as strings, or {\"base64\": ...} when not valid UTF-8, null when null.",
	examples: `
		weir consume --topic orders --from-beginning --max-messages 10
		weir consume --topic orders --partition 2 --offset 1000 --print-key --print-offset
		weir consume --topic orders --timestamp 2024-05-01T00:00:00Z --timeout 5s
		weir consume --topic orders --group billing --from-beginning
		weir consume --topic orders --from-beginning --format '{{.Offset}} {{.Key}}={{.Value}}'
		weir consume --topic orders --from-beginning --timeout 2s --format json | jq .value`,
}

// consumeFlags are consume's flags, checked by check.
type consumeFlags struct {
	conn
	topic         string
	group         string
	fromBeginning bool
	offset        string
	timestamp     string
	partition     int32
	maxMessages   int
	timeout       time.Duration
	print         printFields
	format        string
}

func (f *consumeFlags) register(c command, io IO) *pflag.FlagSet {
	fs := newFlags(c, io)
	fs.StringVarP(&f.topic, "topic", "t", "", "topic to read (required)")
	fs.StringVarP(&f.group, "group", "g", "", "consume as a member of this consumer group")
	fs.BoolVar(&f.fromBeginning, "from-beginning", false, "start at the log start (in a group: where nothing is committed)")
	fs.StringVar(&f.offset, "offset", "", "start at this offset, or earliest or latest (no group)")
	fs.StringVar(&f.timestamp, "timestamp", "", "start at the first record at or after this time: ms since the epoch or RFC 3339 (no group)")
	fs.Int32Var(&f.partition, "partition", -1, "read only this partition (-1: all; not with --group)")
	fs.IntVar(&f.maxMessages, "max-messages", 0, "exit after printing this many records (0: no limit)")
	fs.DurationVar(&f.timeout, "timeout", 0, "exit when no record came for this long (0: wait forever)")
	fs.BoolVar(&f.print.key, "print-key", false, "print each record's key")
	fs.BoolVar(&f.print.offset, "print-offset", false, "print each record's partition and offset")
	fs.BoolVar(&f.print.timestamp, "print-timestamp", false, "print each record's timestamp (ms) and its type")
	fs.BoolVar(&f.print.headers, "print-headers", false, "print each record's headers as key:value,key:value")
	fs.StringVar(&f.print.sep, "key-separator", "\t", "what follows each printed field before the value")
	fs.StringVar(&f.format, "format", "", "a Go template per record, or json (see above)")
	f.conn.register(fs)
	return fs
}

// check validates the flags and returns where to start reading.
func (f *consumeFlags) check(fs *pflag.FlagSet) (kgo.Offset, error) {
	switch {
	case f.topic == "":
		return kgo.Offset{}, fmt.Errorf("--topic is required")
	case f.maxMessages < 0:
		return kgo.Offset{}, fmt.Errorf("--max-messages must not be negative")
	case f.partition < -1:
		return kgo.Offset{}, fmt.Errorf("--partition must be a partition number, not %d", f.partition)
	case f.format != "" && (f.print.key || f.print.offset || f.print.timestamp || f.print.headers):
		return kgo.Offset{}, fmt.Errorf("--print-* flags shape the default output; with --format, put the fields in the format")
	}
	if f.group != "" {
		for _, name := range []string{"offset", "timestamp", "partition"} {
			if fs.Changed(name) {
				return kgo.Offset{}, fmt.Errorf("--%s reads without a group; a group starts at its committed offsets", name)
			}
		}
	}
	return f.startOffset()
}

// startOffset is where reading starts without committed offsets: the log
// end unless a flag says otherwise.
func (f *consumeFlags) startOffset() (kgo.Offset, error) {
	set := 0
	for _, b := range []bool{f.fromBeginning, f.offset != "", f.timestamp != ""} {
		if b {
			set++
		}
	}
	switch {
	case set > 1:
		return kgo.Offset{}, fmt.Errorf("choose one of --from-beginning, --offset and --timestamp")
	case f.fromBeginning:
		return kgo.NewOffset().AtStart(), nil
	case f.offset != "":
		return parseStartOffset(f.offset)
	case f.timestamp != "":
		ms, err := parseTimestamp(f.timestamp)
		return kgo.NewOffset().AfterMilli(ms), err
	}
	return kgo.NewOffset().AtEnd(), nil
}

func parseStartOffset(s string) (kgo.Offset, error) {
	switch s {
	case "earliest":
		return kgo.NewOffset().AtStart(), nil
	case "latest":
		return kgo.NewOffset().AtEnd(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return kgo.Offset{}, fmt.Errorf("--offset must be an offset (0 or more), earliest or latest, not %q", s)
	}
	return kgo.NewOffset().At(n), nil
}

// parseTimestamp reads milliseconds since the epoch or an RFC 3339 time.
func parseTimestamp(s string) (int64, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms >= 0 {
		return ms, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("--timestamp must be ms since the epoch or RFC 3339 (2024-05-01T12:00:00Z), not %q", s)
	}
	return t.UnixMilli(), nil
}

// options are the client options that say what to read and from where.
// Without --from-beginning an out-of-range offset resets to the log end,
// with it to the start: Kafka's console consumer sets auto.offset.reset so.
// Fetches wait at most 500 ms (the Java consumer's fetch.max.wait.ms, not
// franz-go's 5 s): a fetch sent before every partition's start offset is
// known would otherwise hold back records of the others for 5 s.
func (f *consumeFlags) options(start kgo.Offset) []kgo.Opt {
	reset := kgo.NewOffset().AtEnd()
	if f.fromBeginning {
		reset = kgo.NewOffset().AtStart()
	}
	opts := []kgo.Opt{kgo.ConsumeResetOffset(reset), kgo.ConsumeStartOffset(start),
		kgo.FetchMaxWait(500 * time.Millisecond)}
	switch {
	case f.group != "":
		opts = append(opts, kgo.ConsumeTopics(f.topic), kgo.ConsumerGroup(f.group), kgo.AutoCommitMarks())
	case f.partition >= 0:
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{f.topic: {f.partition: start}}))
	default:
		opts = append(opts, kgo.ConsumeTopics(f.topic))
	}
	return opts
}

// Consume runs `weir consume`.
func Consume(args []string, io IO) int {
	var f consumeFlags
	fs := f.register(consumeCmd, io)
	if code, done := parseFlags(fs, consumeCmd, args, io); done {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(consumeCmd, io, "unexpected arguments %q", fs.Args())
	}
	start, err := f.check(fs)
	if err != nil {
		return usageError(consumeCmd, io, "%v", err)
	}
	out, err := newRecordWriter(f.format, f.print)
	if err != nil {
		return usageError(consumeCmd, io, "%v", err)
	}
	cl, err := f.client(f.options(start)...)
	if err != nil {
		return failure(consumeCmd, io, "%v", err)
	}
	defer cl.Close()
	if err := f.checkTopicPartition(cl, f.topic, f.partition, false); err != nil {
		return failure(consumeCmd, io, "%v", err)
	}
	c := &consumer{cl: cl, out: out, group: f.group != "", max: f.maxMessages, idle: f.timeout,
		requestTimeout: f.conn.timeout}
	err = c.run(io)
	fmt.Fprintf(io.Err, "weir consume: %d records\n", c.printed)
	if err != nil {
		return failure(consumeCmd, io, "%v", err)
	}
	return exitOK
}
