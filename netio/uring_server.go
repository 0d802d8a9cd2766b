package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// uringServer runs one shard loop per CPU, each with its own ring and its
// own listener in one SO_REUSEPORT group.
type uringServer struct {
	cfg    Config
	h      Handler
	addr   *net.TCPAddr
	shards []*shard
	steer  *steering
	wg     sync.WaitGroup

	sendStats
	closeOnce    sync.Once
	restoreProcs int // GOMAXPROCS before Listen raised it, or 0
}

func listenUring(cfg Config, h Handler) (*uringServer, error) {
	cpus := usableCPUs()
	n := cfg.Shards
	if n <= 0 {
		n = len(cpus)
	}
	// A shard waiting in io_uring_enter holds its P for ~20 µs before the
	// scheduler takes it; with more Ps than shards, Go code elsewhere
	// (control plane, GC) never waits on a parked shard.
	s := &uringServer{cfg: cfg, h: h}
	if prev := runtime.GOMAXPROCS(0); prev < n+1 {
		runtime.GOMAXPROCS(n + 1)
		s.restoreProcs = prev
	}
	fds, err := s.listenAll(n)
	if err != nil {
		return nil, err
	}
	shardCPU := make([]int, len(fds))
	for i := range shardCPU {
		shardCPU[i] = cpus[i%len(cpus)]
	}
	if st, err := attachSteering(fds, shardCPU); err != nil {
		cfg.Logger.Info("eBPF steering unavailable; the kernel's hash spreads connections", "err", err)
	} else {
		s.steer = st
		cfg.Logger.Info("eBPF steering attached: each connection goes to the shard of the CPU that received it")
	}
	for i, fd := range fds {
		s.shards = append(s.shards, newShard(s, i, shardCPU[i], fd))
	}
	var startErr error
	for _, sh := range s.shards {
		s.wg.Add(1)
		go sh.run()
		if err := <-sh.started; err != nil && startErr == nil {
			startErr = fmt.Errorf("netio: shard %d: %w", sh.id, err)
		}
	}
	if startErr != nil {
		s.Close()
		return nil, startErr
	}
	return s, nil
}

// listenAll makes n listeners on one port: the first picks it (port 0
// allowed), the rest join its reuseport group.
func (s *uringServer) listenAll(n int) ([]int, error) {
	if err := checkPortFree(s.cfg.Addr); err != nil {
		return nil, err
	}
	first, err := listenReusePort(s.cfg.Addr)
	if err != nil {
		return nil, err
	}
	addr, err := boundAddr(first)
	if err != nil {
		closeFds([]int{first})
		return nil, err
	}
	s.addr = addr
	fds := []int{first}
	hostPort := net.JoinHostPort(addr.IP.String(), strconv.Itoa(addr.Port))
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

func (s *uringServer) Addr() net.Addr  { return s.addr }
func (s *uringServer) Backend() string { return IOUring }
func (s *uringServer) Shards() int     { return len(s.shards) }

func (s *uringServer) Sync(shard int, fds []int, dirFd int, done func(error)) {
	s.countSyncs(fds, dirFd)
	s.shards[shard].post(shardMsg{kind: msgSync, sync: &syncJob{fds: fds, dirFd: dirFd, done: done}})
}

func (s *uringServer) Run(shard int, fn func()) {
	s.shards[shard].post(shardMsg{kind: msgRun, fn: fn})
}

func (s *uringServer) Close() error {
	s.closeOnce.Do(func() {
		// Detach steering while every listener is still open: it finds
		// them by socket cookie and must not race their close.
		if s.steer != nil {
			_ = s.steer.Close()
		}
		for _, sh := range s.shards {
			sh.post(shardMsg{kind: msgStop})
		}
		s.wg.Wait()
		if s.restoreProcs > 0 {
			runtime.GOMAXPROCS(s.restoreProcs)
		}
	})
	var errs []error
	for _, sh := range s.shards {
		if sh.loopErr != nil {
			errs = append(errs, sh.loopErr)
		}
	}
	return errors.Join(errs...)
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
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) {
			return oe.Err
		}
		return err
	}
	return ln.Close()
}
