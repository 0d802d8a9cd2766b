package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Exit codes shared by every command.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// IO is what a command reads and writes: stdin, stdout and stderr.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
}

// command describes one subcommand for its flag set and --help.
type command struct {
	name     string // "topic create"
	usage    string // "weir topic create --topic T [flags]"
	summary  string // one line on what it does
	examples string // shell lines, one per example
}

// newFlags makes a flag set that reports errors instead of exiting and
// prints usage, flags and examples on --help.
func newFlags(c command, io IO) *pflag.FlagSet {
	fs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
	fs.SetOutput(io.Err)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(io.Out, "%s\n\nUsage:\n  %s\n\nFlags:\n%s", c.summary, c.usage, fs.FlagUsages())
		if c.examples != "" {
			fmt.Fprintf(io.Out, "\nExamples:\n")
			for _, line := range strings.Split(strings.TrimSpace(c.examples), "\n") {
				fmt.Fprintf(io.Out, "  %s\n", strings.TrimSpace(line))
			}
		}
	}
	return fs
}

// parseFlags parses args. It returns done=true with the exit code when the
// command must stop: 0 after --help, 2 after a bad flag.
func parseFlags(fs *pflag.FlagSet, c command, args []string, io IO) (code int, done bool) {
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK, true
	}
	if err != nil {
		return usageError(c, io, "%v", err), true
	}
	return 0, false
}

// usageError prints a usage problem and returns exit code 2.
func usageError(c command, io IO, format string, args ...any) int {
	fmt.Fprintf(io.Err, "weir %s: %s\n(see weir %s --help)\n", c.name, fmt.Sprintf(format, args...), c.name)
	return exitUsage
}

// failure prints why the work failed and returns exit code 1.
func failure(c command, io IO, format string, args ...any) int {
	fmt.Fprintf(io.Err, "weir %s: %s\n", c.name, fmt.Sprintf(format, args...))
	return exitFail
}

// conn holds the flags that say how to reach the cluster.
type conn struct {
	bootstrap []string
	timeout   time.Duration
}

func (c *conn) register(fs *pflag.FlagSet) {
	fs.StringSliceVar(&c.bootstrap, "bootstrap-server", []string{"127.0.0.1:9092"},
		"broker host:port to start from (comma-separated or repeated)")
	fs.DurationVar(&c.timeout, "request-timeout", 10*time.Second,
		"how long to wait for the cluster before failing")
}

// client opens a franz-go client on the bootstrap servers. franz-go dials
// lazily, so an unreachable broker shows up as the first request's error;
// reachable turns that into a clear message.
func (c *conn) client(opts ...kgo.Opt) (*kgo.Client, error) {
	base := []kgo.Opt{
		kgo.SeedBrokers(c.bootstrap...),
		kgo.DialTimeout(c.timeout),
		kgo.RetryTimeout(c.timeout),
		kgo.ClientID("weir-tools"),
	}
	return kgo.NewClient(append(base, opts...)...)
}

// context bounds one command's requests by --request-timeout.
func (c *conn) context() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.timeout)
}

// explain words a request error that means no broker answered.
func (c *conn) explain(err error) string {
	var op *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer from %s within %v: %v", strings.Join(c.bootstrap, ","), c.timeout, err)
	case errors.As(err, &op) && op.Op == "dial":
		return fmt.Sprintf("cannot reach the cluster at %s: %v", strings.Join(c.bootstrap, ","), err)
	}
	return err.Error()
}

// output is --output: table for people, json for scripts.
type output struct{ format string }

func (o *output) register(fs *pflag.FlagSet) {
	fs.StringVarP(&o.format, "output", "o", "table", "table or json")
}

func (o *output) check() error {
	if o.format != "table" && o.format != "json" {
		return fmt.Errorf("--output must be table or json, not %q", o.format)
	}
	return nil
}

func (o *output) json() bool { return o.format == "json" }

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table prints aligned columns.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.row(toAny(header)...)
	return t
}

func (t *table) row(cells ...any) {
	for i, c := range cells {
		if i > 0 {
			fmt.Fprint(t.tw, "\t")
		}
		fmt.Fprint(t.tw, c)
	}
	fmt.Fprint(t.tw, "\n")
}

func (t *table) flush() error { return t.tw.Flush() }

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
