package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// uringRuntime runs one shard loop per CPU, each with its own ring. Every
// listener puts one socket of its SO_REUSEPORT group on each shard.
type uringRuntime struct {
	cfg    Config
	shards []*shard
	wg     sync.WaitGroup

	sendStats
	mem          *frameMemory
	mu           sync.Mutex
	listeners    map[*uringListener]struct{}
	closed       bool
	closeOnce    sync.Once
	restoreProcs int // GOMAXPROCS before the runtime raised it, or 0
}

func newUringRuntime(cfg Config) (*uringRuntime, error) {
	cpus := usableCPUs()
	n := cfg.Shards
	if n <= 0 {
		n = len(cpus)
	}
	// A shard waiting in io_uring_enter holds its P for ~20 µs before the
	// scheduler takes it; with more Ps than shards, Go code elsewhere
	// (control plane, GC) never waits on a parked shard.
	rt := &uringRuntime{cfg: cfg, listeners: map[*uringListener]struct{}{}, mem: newFrameMemory(cfg.MaxQueuedBytes)}
	if prev := runtime.GOMAXPROCS(0); prev < n+1 {
		runtime.GOMAXPROCS(n + 1)
		rt.restoreProcs = prev
	}
	for i := 0; i < n; i++ {
		rt.shards = append(rt.shards, newShard(rt, i, cpus[i%len(cpus)]))
	}
	var startErr error
	for _, sh := range rt.shards {
		rt.wg.Add(1)
		go sh.run()
		if err := <-sh.started; err != nil && startErr == nil {
			startErr = fmt.Errorf("netio: shard %d: %w", sh.id, err)
		}
	}
	if startErr != nil {
		rt.Close()
		return nil, startErr
	}
	return rt, nil
}

func (rt *uringRuntime) Backend() string { return IOUring }
func (rt *uringRuntime) Stats() Stats    { return rt.stats(rt.mem) }
func (rt *uringRuntime) Shards() int     { return len(rt.shards) }

func (rt *uringRuntime) Sync(shard int, fds []int, dirFd int, done func(error)) {
	rt.countSyncs(fds, dirFd)
	rt.shards[shard].post(shardMsg{kind: msgSync, sync: &syncJob{fds: fds, dirFd: dirFd, done: done}})
}

func (rt *uringRuntime) Run(shard int, fn func()) {
	rt.shards[shard].post(shardMsg{kind: msgRun, fn: fn})
}

func (rt *uringRuntime) AfterFunc(shard int, d time.Duration, fn func()) Timer {
	t := &loopTimer{when: time.Now().Add(d), fn: fn}
	rt.shards[shard].post(shardMsg{kind: msgTimer, timer: t})
	return t
}

// Listen makes one listener per shard in one SO_REUSEPORT group on
// cfg.Addr and hands each to its shard, which accepts on it.
func (rt *uringRuntime) Listen(cfg ListenConfig, h Handler) (Server, error) {
	cfg = cfg.withDefaults()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil, ErrClosed
	}
	ln := &uringListener{rt: rt, cfg: cfg, h: h}
	fds, err := ln.listenAll(cfg.Addr, len(rt.shards))
	if err != nil {
		return nil, err
	}
	shardCPU := make([]int, len(fds))
	for i := range shardCPU {
		shardCPU[i] = rt.shards[i].cpu
	}
	if st, err := attachSteering(fds, shardCPU); err != nil {
		rt.cfg.Logger.Info("eBPF steering unavailable; the kernel's hash spreads connections", "addr", ln.addr, "err", err)
	} else {
		ln.steer = st
		rt.cfg.Logger.Info("eBPF steering attached: each connection goes to the shard of the CPU that received it", "addr", ln.addr)
	}
	for i, fd := range fds {
		acc := &acceptor{id: acceptorIDs.Add(1), ln: ln, fd: fd}
		ln.accs = append(ln.accs, acc)
		rt.shards[i].post(shardMsg{kind: msgListen, acc: acc})
	}
	rt.listeners[ln] = struct{}{}
	return ln, nil
}

func (rt *uringRuntime) Close() error {
	rt.closeOnce.Do(func() {
		rt.mu.Lock()
		rt.closed = true
		open := make([]*uringListener, 0, len(rt.listeners))
		for ln := range rt.listeners {
			open = append(open, ln)
		}
		rt.mu.Unlock()
		for _, ln := range open {
			ln.Close()
		}
		for _, sh := range rt.shards {
			sh.post(shardMsg{kind: msgStop})
		}
		rt.wg.Wait()
		rt.mem.close()
		if rt.restoreProcs > 0 {
			runtime.GOMAXPROCS(rt.restoreProcs)
		}
	})
	var errs []error
	for _, sh := range rt.shards {
		if sh.loopErr != nil {
			errs = append(errs, sh.loopErr)
		}
	}
	return errors.Join(errs...)
}

var acceptorIDs atomic.Uint64

// uringListener is one listening address: a socket per shard.
type uringListener struct {
	rt    *uringRuntime
	cfg   ListenConfig
	h     Handler
	addr  *net.TCPAddr
	accs  []*acceptor // accs[i] is on shard i
	steer *steering

	closeOnce sync.Once
}

func (ln *uringListener) Addr() net.Addr   { return ln.addr }
func (ln *uringListener) Runtime() Runtime { return ln.rt }

// Close stops accepting on every shard, closes the listener's connections
// and waits until each shard has closed its socket and seen them go.
func (ln *uringListener) Close() error {
	ln.closeOnce.Do(func() {
		// Detach steering while every socket is still open: it finds them
		// by socket cookie and must not race their close.
		if ln.steer != nil {
			_ = ln.steer.Close()
		}
		var wg sync.WaitGroup
		for i, acc := range ln.accs {
			wg.Add(1)
			ln.rt.shards[i].post(shardMsg{kind: msgUnlisten, acc: acc, fn: wg.Done})
		}
		wg.Wait()
		ln.rt.mu.Lock()
		delete(ln.rt.listeners, ln)
		ln.rt.mu.Unlock()
	})
	return nil
}

// listenAll makes n sockets on one port: the first picks it (port 0
// allowed), the rest join its reuseport group.
func (ln *uringListener) listenAll(addr string, n int) ([]int, error) {
	if err := checkPortFree(addr); err != nil {
		return nil, err
	}
	first, err := listenReusePort(addr)
	if err != nil {
		return nil, err
	}
	bound, err := boundAddr(first)
	if err != nil {
		closeFds([]int{first})
		return nil, err
	}
	ln.addr = bound
	fds := []int{first}
	hostPort := net.JoinHostPort(bound.IP.String(), strconv.Itoa(bound.Port))
	for len(fds) < n {
		fd, err := listenReusePort(hostPort)
		if err != nil {
			closeFds(fds)
			return nil, err
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

func closeFds(fds []int) {
	for _, fd := range fds {
		_ = unix.Close(fd)
	}
}

// checkPortFree fails when another socket serves addr. SO_REUSEPORT would
// let a second broker of the same user join our port's group silently; a
// bind without it is refused while any socket holds the port.
func checkPortFree(addr string) error {
	lc := net.ListenConfig{}
	lc.SetMultipathTCP(false)
	l, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) {
			return oe.Err
		}
		return err
	}
	return l.Close()
}
