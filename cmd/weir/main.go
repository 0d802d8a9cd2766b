// Command weir is the Weir broker and its tools, one binary with
// subcommands: `weir serve` runs a broker; the operator tools (topic,
// produce, consume, group, config, dump-log, cluster) live in package tools; `weir
// bench` is package bench; `weir version` and `weir help` say what this is.
//
// Exit codes: 0 done, 1 failed while running (port in use, bad log dir),
// 2 bad usage (unknown command or flag, unknown key, bad value).
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/weirmq/weir/bench"
	"github.com/weirmq/weir/tools"
)

// toolCommands are the operator commands, implemented in tools.
var toolCommands = map[string]func([]string, tools.IO) int{
	"topic":    tools.Topic,
	"produce":  tools.Produce,
	"consume":  tools.Consume,
	"group":    tools.Group,
	"config":   tools.Config,
	"dump-log": tools.DumpLog,
	"cluster":  tools.Cluster,
}

// version is set at link time with -X main.version=...
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(rest, stdout, stderr)
	case "bench":
		return bench.Main(rest, os.Stdin, stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "weir %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "help", "-h", "--help":
		if len(rest) > 0 {
			return run([]string{rest[0], "--help"}, stdout, stderr)
		}
		usage(stdout)
		return 0
	default:
		if tool, ok := toolCommands[cmd]; ok {
			return tool(rest, tools.IO{In: os.Stdin, Out: stdout, Err: stderr})
		}
		fmt.Fprintf(stderr, "weir: unknown command %q\n\n", cmd)
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `weir: a broker speaking the Apache Kafka protocol

Usage:
  weir serve [--config server.properties] [--key=value ...]   run a broker
  weir topic create|list|describe|alter|delete                 administer topics
  weir produce --topic T                                      write stdin's lines as records
  weir consume --topic T [--group G]                          print records
  weir group list|describe|delete|reset-offsets               administer consumer groups
  weir config describe|alter                                  show or change topic and broker configs
  weir dump-log --files X.log[,Y.index]                       print segment, index and metadata snapshot files (no broker)
  weir cluster status                                         show the metadata quorum and the brokers (fenced or not)
  weir bench produce|consume|e2e|matrix|compare               measure a Kafka-compatible broker
  weir version                                                print the version
  weir help [command]                                         show this or a command's flags

Every command takes --help; tools take --bootstrap-server host:port (default 127.0.0.1:9092).
`)
}
