package main

import (
	"log/slog"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// filesPerPartition is what a partition holds open at least: its active
// segment's .log (each older segment adds its own .log; indexes and the
// directory are opened only while used).
const filesPerPartition = 1

// wantOpenFiles is the open-files limit serve asks for: as Kafka's
// packaging does (LimitNOFILE), far above what thousands of partitions with
// their segments and client connections need.
const wantOpenFiles = 1 << 20

// raiseOpenFiles lifts the open-files limit (RLIMIT_NOFILE) as far as the
// system allows (fs.nr_open; the hard limit too when running with
// CAP_SYS_RESOURCE), and says in the log what the limit means in
// partitions when it stays low.
func raiseOpenFiles(log *slog.Logger) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("cannot read the open-files limit", "err", err)
		return
	}
	want := uint64(wantOpenFiles)
	if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && n < want {
			want = n
		}
	}
	if lim.Cur >= want {
		return
	}
	if lim.Max < want {
		raised := unix.Rlimit{Cur: want, Max: want}
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &raised); err == nil {
			log.Info("raised the open-files limit", "from", lim.Cur, "to", want)
			return
		}
	}
	// Not allowed past the hard limit: take all of it.
	from := lim.Cur
	lim.Cur = lim.Max
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("cannot raise the open-files limit", "limit", from, "err", err)
		lim.Cur = from
	}
	log.Warn("the open-files limit is low: raise it (ulimit -n, systemd LimitNOFILE) for many partitions",
		"limit", lim.Cur, "wanted", want, "partitions_that_fit", lim.Cur/filesPerPartition)
}
