package tools

import (
	"fmt"

	"github.com/spf13/pflag"
)

// subcommand is one verb of a command group, as `topic create`.
type subcommand struct {
	cmd command
	run func(args []string, io IO) int
}

// dispatch runs the subcommand that args[0] names. Without one it lists
// them on stderr (exit 2); with --help or help, on stdout (exit 0).
func dispatch(group, summary string, subs []subcommand, args []string, io IO) int {
	list := func(w IO, code int) int {
		out := w.Out
		if code != exitOK {
			out = w.Err
		}
		fmt.Fprintf(out, "%s\n\nUsage:\n  weir %s <subcommand> [flags]\n\nSubcommands:\n", summary, group)
		for _, s := range subs {
			fmt.Fprintf(out, "  %-14s %s\n", s.cmd.name[len(group)+1:], s.cmd.summary)
		}
		fmt.Fprintf(out, "\nRun 'weir %s <subcommand> --help' for its flags and examples.\n", group)
		return code
	}
	if len(args) == 0 {
		return list(io, exitUsage)
	}
	switch args[0] {
	case "-h", "--help", "help":
		return list(io, exitOK)
	}
	for _, s := range subs {
		if s.cmd.name == group+" "+args[0] {
			return s.run(args[1:], io)
		}
	}
	fmt.Fprintf(io.Err, "weir %s: unknown subcommand %q\n\n", group, args[0])
	return list(io, exitUsage)
}

// namesFrom are the names of a repeatable flag (--topic, --group) and the
// positional arguments, in order, each once.
func namesFrom(flagged []string, fs *pflag.FlagSet) []string {
	var names []string
	seen := map[string]bool{}
	for _, n := range append(append([]string{}, flagged...), fs.Args()...) {
		if n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return names
}
