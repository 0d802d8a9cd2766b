package engine

import (
	"os"
	"runtime"
	"time"

	"github.com/weirmq/weir/netio"
)

// shardRuntime is the broker's shard runtime: the one place the engine
// asks how many shards there are, which shard owns a partition, how to
// run work on a shard's loop, and where group-commit fsyncs go. It wraps
// the netio.Runtime that the broker creates once, in Open, before any log
// is opened or any listener started; every listener hands its connections
// to it, and the control plane, the group coordinator (and later follower
// fetchers and the Raft transport) post work to it. No listener is
// special.
//
// Constraints from shared/notes/IOURING.md that netio keeps: each ring is
// SINGLE_ISSUER (with DEFER_TASKRUN) and created on its shard's locked,
// pinned thread, so only that thread submits to it; work from other
// goroutines (Run, Sync, timers) goes through an MPSC inbox woken by an
// eventfd read pending in the ring; syncs are submitted by the loop in its
// turn, so one submission carries many partitions' fsyncs (group commit).
type shardRuntime struct {
	rt netio.Runtime
}

// Shards is the number of shard loops.
func (s *shardRuntime) Shards() int { return s.rt.Shards() }

// Owner is the shard that owns the partition with ownership hash hash
// (partitionHash): stable for a hash and shard count, in [0, Shards()).
func (s *shardRuntime) Owner(hash uint32) int {
	return int(hash % uint32(s.rt.Shards()))
}

// Backend is the netio backend the loops run on (netio.IOUring or
// netio.IOStd).
func (s *shardRuntime) Backend() string { return s.rt.Backend() }

// Run runs fn on shard's loop, after what is queued there. Callable from
// any goroutine; fn must not block. After the runtime closes, fn is
// dropped.
func (s *shardRuntime) Run(shard int, fn func()) { s.rt.Run(shard, fn) }

// AfterFunc runs fn on shard's loop once d has passed, unless the timer is
// stopped first; fn must not block. On uring the loop keeps the timers
// itself: no goroutine and no hop when one fires.
func (s *shardRuntime) AfterFunc(shard int, d time.Duration, fn func()) netio.Timer {
	return s.rt.AfterFunc(shard, d, fn)
}

// OnLoop says whether request handlers run on the runtime's shard loops,
// so that work for partitions that the handler's shard owns can be done
// inline, without a hop: on the uring backend every listener's handlers
// run on their connection's shard loop; on std they run on connection
// goroutines.
func (s *shardRuntime) OnLoop() bool { return s.rt.Backend() == netio.IOUring }

// Sync makes files durable through a shard's loop: fdatasync of each
// file, then fsync of dir unless nil, then done with the first error, on
// the shard. On uring the syncs that several partitions ask for in one
// loop turn leave in one submission (group commit). Any shard's ring can
// sync any file; spreading by descriptor keeps one file's syncs in order
// on one shard. The files stay open until done. After the runtime closes,
// done gets netio.ErrClosed.
func (s *shardRuntime) Sync(files []*os.File, dir *os.File, done func(error)) {
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	dirFd := -1
	if dir != nil {
		dirFd = int(dir.Fd())
	}
	shard := 0
	if len(fds) > 0 {
		shard = fds[0] % s.rt.Shards()
	}
	s.rt.Sync(shard, fds, dirFd, func(err error) {
		runtime.KeepAlive(files)
		runtime.KeepAlive(dir)
		done(err)
	})
}
