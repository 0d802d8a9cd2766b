package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// IOBackends are the --io choices, netio's backend names (engine tests
// that they match).
var IOBackends = []string{"auto", "uring", "std"}

// FileSends are the --file-send choices, netio's method names.
var FileSends = []string{"splice", "mmap"}

// Serve is what `weir serve` was asked to do.
type Serve struct {
	ConfigFile string // "" when none
	IO         string // one of IOBackends
	Shards     int
	Pprof      string // host:port for net/http/pprof; "" for none
	FileSend   string // one of FileSends
	Config     *Config
	Resolved   *Resolved
}

// ErrHelp is returned by ParseServe for --help/-h, after calling usage.
var ErrHelp = pflag.ErrHelp

// ParseServe parses `weir serve` arguments: Weir's own flags, --config
// FILE, then every Kafka key as --key=value over the file's values. Every
// error (bad flag, unknown key, bad value) is a usage error for exit 2.
func ParseServe(args []string, reg *Registry, usage func(fs *pflag.FlagSet)) (*Serve, error) {
	s := &Serve{}
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard) // the caller prints the returned error
	fs.StringVar(&s.ConfigFile, "config", "", "server.properties `file` to read; flags override it")
	fs.StringVar(&s.IO, "io", IOBackends[0], "I/O backend: auto (io_uring when it works, else std), uring, std")
	fs.IntVar(&s.Shards, "shards", runtime.NumCPU(), "shard loops, one per CPU by default")
	fs.StringVar(&s.FileSend, "file-send", FileSends[0], "how the uring backend sends log bytes: splice (zero-copy, page cache to socket) or mmap (SEND from a mapping; copies)")
	fs.StringVar(&s.Pprof, "pprof", "", "serve Go's profiles (net/http/pprof) on this `host:port`, e.g. 127.0.0.1:6060")
	overrides := reg.AddFlags(fs)
	fs.Usage = func() {
		if usage != nil {
			usage(fs) // only for --help: errors do not print the usage
		}
	}
	if err := fs.Parse(args); err != nil {
		var ne *pflag.NotExistError
		if errors.As(err, &ne) {
			name := ne.GetSpecifiedName()
			return nil, &Error{Key: name, Value: flagValueOf(args, name), Source: SourceFlag,
				Unknown: true}
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("serve takes flags only, not %q", fs.Args())
	}
	if !slices.Contains(IOBackends, s.IO) {
		return nil, &Error{Key: "io", Value: s.IO, Source: SourceFlag,
			Reason: "must be auto, uring or std"}
	}
	if !slices.Contains(FileSends, s.FileSend) {
		return nil, &Error{Key: "file-send", Value: s.FileSend, Source: SourceFlag,
			Reason: "must be splice or mmap"}
	}
	if s.Shards < 1 {
		return nil, &Error{Key: "shards", Value: fmt.Sprint(s.Shards), Source: SourceFlag,
			Reason: "must be at least 1"}
	}
	s.Config = New(reg)
	if s.ConfigFile != "" {
		if err := s.Config.Load(s.ConfigFile); err != nil {
			return nil, err
		}
	}
	if err := overrides.Apply(s.Config); err != nil {
		return nil, err
	}
	r, err := s.Config.Resolve()
	if err != nil {
		return nil, err
	}
	s.Resolved = r
	return s, nil
}

// Load sets every property of a server.properties file.
func (c *Config) Load(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	props, err := ParseProperties(f)
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	for _, p := range props {
		if err := c.Set(p.Key, p.Value, SourceFile); err != nil {
			return fmt.Errorf("%s:%d: %w", path, p.Line, err)
		}
	}
	return nil
}

// flagValueOf finds the value given to an unknown --name, for the message.
func flagValueOf(args []string, name string) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
		if a == "--"+name && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			return args[i+1]
		}
	}
	return ""
}
