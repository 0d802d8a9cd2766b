package engine

import (
	"os"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/weirmq/weir/netio"
)

// shardRuntime is the broker's shard runtime: the one place the engine
// asks how many shards there are, which shard owns a partition, how to
// run work on a shard's loop, and where group-commit fsyncs go. The broker
// creates it once (Open); every caller uses it, none reaches for a
// listener's server.
//
// Today it is a facade: its loops are those of one listener's
// netio.Server, the host (the first listener that is not a controller's,
// else the first listener), attached by Start once that listener is up.
// Requests that arrive on the other listeners run elsewhere (std-style
// goroutines, or their own server's loops) and hop to the host's loops
// for owner work. Before the host is attached there are no loops: Run
// cannot be used (Ready is false) and Sync returns false so that the
// caller syncs inline.
//
// Next step (issue 12, item 1), which changes only the insides of this
// type: netio gets a runtime of its own, one set of shard loops created
// by the broker before any listener, on which every listener's sockets
// are registered (listeners hand accepted connections to it); so one
// ring per shard, not one per listener and shard; plus per-shard timers
// driven by the loop. Then follower fetchers, the Raft transport and the
// control plane post work to it like any handler, and Ready is true from
// Open on. Constraints from shared/notes/IOURING.md that the netio
// runtime must keep: each ring is SINGLE_ISSUER (with DEFER_TASKRUN) and
// created on its shard's locked, pinned thread, so only that thread may
// submit to it: work from other goroutines (Run, Sync, timer expiry) goes
// through an MPSC inbox woken by an eventfd read pending in the ring (or
// MSG_RING from another shard), never a Go channel or timed polling into
// the loop; and syncs are submitted by the shard's loop in its turn so
// that one submission carries many partitions' fsyncs (group commit).
type shardRuntime struct {
	host atomic.Pointer[shardHost]
}

// shardHost is the server whose loops the runtime uses today.
type shardHost struct {
	srv      netio.Server
	listener string // the listener srv serves
}

// attach makes srv, serving listener, the host of the shard loops. The
// first attach wins; it reports whether this one did.
func (rt *shardRuntime) attach(srv netio.Server, listener string) bool {
	return rt.host.CompareAndSwap(nil, &shardHost{srv: srv, listener: listener})
}

// hostListener picks the listener whose server hosts the shard loops: the
// first that is not a controller listener, else the first.
func hostListener(listeners, controllers []string) int {
	for i, l := range listeners {
		if !slices.Contains(controllers, l) {
			return i
		}
	}
	return 0
}

// Ready says whether the runtime has loops to run work on.
func (rt *shardRuntime) Ready() bool { return rt.host.Load() != nil }

// Shards is the number of shard loops (0 before Ready).
func (rt *shardRuntime) Shards() int {
	if h := rt.host.Load(); h != nil {
		return h.srv.Shards()
	}
	return 0
}

// Owner is the shard that owns the partition with ownership hash hash
// (partitionHash): stable for a hash and shard count, in [0, Shards()).
// Only valid once Ready.
func (rt *shardRuntime) Owner(hash uint32) int {
	return int(hash % uint32(rt.host.Load().srv.Shards()))
}

// Backend is the netio backend the loops run on (netio.IOUring or
// netio.IOStd; "" before Ready).
func (rt *shardRuntime) Backend() string {
	if h := rt.host.Load(); h != nil {
		return h.srv.Backend()
	}
	return ""
}

// Run runs fn on shard's loop, after what is queued there. Callable from
// any goroutine once Ready; fn must not block. After the loops close, fn
// is dropped.
func (rt *shardRuntime) Run(shard int, fn func()) {
	rt.host.Load().srv.Run(shard, fn)
}

// AfterFunc runs fn on shard's loop once d has passed, unless Stop is
// called first. Only once Ready; fn must not block. Today a Go timer
// posts fn through Run when it fires; the netio runtime will drive the
// timers from the loop itself (see the type's doc), without a hop.
func (rt *shardRuntime) AfterFunc(shard int, d time.Duration, fn func()) *shardTimer {
	return &shardTimer{t: time.AfterFunc(d, func() { rt.Run(shard, fn) })}
}

// shardTimer is a timer of AfterFunc.
type shardTimer struct{ t *time.Timer }

// Stop prevents the timer from firing. It returns false when the timer
// had fired already: fn has then been posted to its shard and will run,
// if it has not (Stop does not wait for it).
func (t *shardTimer) Stop() bool { return t.t.Stop() }

// OnLoop says whether handlers of requests that arrive on listener run on
// this runtime's shard loops, so that work for partitions that the
// handler's shard owns can be done inline, without a hop: on the uring
// backend handlers run on their connection's shard loop; on std they run
// on connection goroutines. Today only the host listener's connections
// live on these loops.
func (rt *shardRuntime) OnLoop(listener string) bool {
	h := rt.host.Load()
	return h != nil && h.listener == listener && h.srv.Backend() == netio.IOUring
}

// Sync makes files durable through a shard's loop: fdatasync of each
// file, then fsync of dir unless nil, then done with the first error, on
// the shard. On uring the syncs that several partitions ask for in one
// loop turn leave in one submission (group commit). Any shard's ring can
// sync any file; spreading by descriptor keeps one file's syncs in order
// on one shard. The files stay open until done. Sync returns false,
// without calling done, when there are no loops yet (the caller syncs
// inline).
func (rt *shardRuntime) Sync(files []*os.File, dir *os.File, done func(error)) bool {
	h := rt.host.Load()
	if h == nil {
		return false
	}
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
		shard = fds[0] % h.srv.Shards()
	}
	h.srv.Sync(shard, fds, dirFd, func(err error) {
		runtime.KeepAlive(files)
		runtime.KeepAlive(dir)
		done(err)
	})
	return true
}
