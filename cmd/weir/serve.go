package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/weirmq/weir/engine"
	"github.com/weirmq/weir/engine/config"
)

// serve runs a broker until SIGTERM or SIGINT, then closes it and returns 0.
// A second signal during shutdown kills the process the default way.
func serve(args []string, stdout, stderr io.Writer) int {
	s, err := config.ParseServe(args, config.Kafka, func(fs *pflag.FlagSet) {
		fmt.Fprintf(stdout, "Usage: weir serve [flags]\n\n"+
			"Weir's flags, then every Kafka broker key as --key=value (over --config's values):\n%s",
			fs.FlagUsages())
	})
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "weir serve: %v\n(see weir serve --help)\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	raiseOpenFiles(log)
	if s.Pprof != "" {
		ln, err := net.Listen("tcp", s.Pprof)
		if err != nil {
			log.Error("cannot serve --pprof", "addr", s.Pprof, "err", err)
			return 1
		}
		defer ln.Close()
		// The default mux holds net/http/pprof's handlers and nothing else.
		go http.Serve(ln, nil)
		log.Info("profiles served", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	b, err := engine.Open(engine.Options{Config: s.Config, IO: s.IO, Shards: s.Shards, FileSend: s.FileSend, Logger: log})
	if err != nil {
		log.Error("cannot open the broker", "err", err)
		return 1
	}
	if err := b.Start(); err != nil {
		log.Error("cannot start the broker", "err", err)
		b.Close()
		return 1
	}
	for i, srv := range b.Servers() {
		l := b.Listeners()[i]
		log.Info("weir serving", "listener", l.String(), "addr", srv.Addr().String(),
			"advertised", b.Advertised(l.Name), "backend", b.Runtime().Backend(), "shards", b.Runtime().Shards(),
			"node.id", b.NodeID(), "cluster.id", b.ClusterID(), "config", s.ConfigFile)
	}

	sig := <-sigs
	signal.Reset(syscall.SIGTERM, syscall.SIGINT)
	log.Info("shutting down", "signal", sig.String())
	// In a cluster, leadership moves off this broker first; a controller
	// that cannot be reached would fence it after its session anyway.
	session := time.Duration(s.Config.Int("broker.session.timeout.ms")) * time.Millisecond
	if err := b.ControlledShutdown(session); err != nil {
		log.Warn("shutting down without a controlled shutdown", "err", err)
	}
	if err := b.Close(); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}
