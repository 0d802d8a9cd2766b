// Command weir is the Weir broker and its tools, one binary with
// subcommands: `weir serve` runs a broker; `weir version` and `weir help`
// say what this is.
//
// Exit codes: 0 done, 1 failed while running (port in use, bad log dir),
// 2 bad usage (unknown command or flag, unknown key, bad value).
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
)

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
	case "version", "--version":
		fmt.Fprintf(stdout, "weir %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "help", "-h", "--help":
		if len(rest) > 0 && rest[0] == "serve" {
			return serve([]string{"--help"}, stdout, stderr)
		}
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "weir: unknown command %q\n\n", cmd)
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `weir: a broker speaking the Apache Kafka protocol

Usage:
  weir serve [--config server.properties] [--key=value ...]   run a broker
  weir version                                                print the version
  weir help [serve]                                           show this or serve's flags
`)
}
