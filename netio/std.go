package netio

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// stdRuntime is the backend for hosts without io_uring: a worker
// goroutine per shard runs posted work, and each listener serves its
// connections with Go's net package, one reader and one writer goroutine
// per connection.
type stdRuntime struct {
	cfg     Config
	workers []*stdWorker
	nextID  atomic.Uint64
	sendStats
	mem *frameMemory

	mu        sync.Mutex
	listeners map[*stdListener]struct{}
	closed    bool
}

func newStdRuntime(cfg Config) *stdRuntime {
	rt := &stdRuntime{cfg: cfg, listeners: map[*stdListener]struct{}{}, mem: newFrameMemory(cfg.MaxQueuedBytes)}
	n := cfg.Shards
	if n <= 0 {
		n = len(usableCPUs())
	}
	for i := 0; i < n; i++ {
		rt.workers = append(rt.workers, newStdWorker())
	}
	return rt
}

func (rt *stdRuntime) Backend() string { return IOStd }
func (rt *stdRuntime) Stats() Stats    { return rt.stats(rt.mem) }
func (rt *stdRuntime) Shards() int     { return len(rt.workers) }

func (rt *stdRuntime) Run(shard int, fn func()) { rt.workers[shard].post(fn) }

func (rt *stdRuntime) Sync(shard int, fds []int, dirFd int, done func(error)) {
	rt.countSyncs(fds, dirFd)
	if !rt.workers[shard].post(func() { done(syncNow(fds, dirFd)) }) {
		done(ErrClosed)
	}
}

func (rt *stdRuntime) AfterFunc(shard int, d time.Duration, fn func()) Timer {
	t := &stdTimer{}
	t.t = time.AfterFunc(d, func() {
		rt.workers[shard].post(func() {
			if t.state.CompareAndSwap(timerPending, timerFired) {
				fn()
			}
		})
	})
	return t
}

func (rt *stdRuntime) Listen(cfg ListenConfig, h Handler) (Server, error) {
	cfg = cfg.withDefaults()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil, ErrClosed
	}
	lc := net.ListenConfig{}
	// Go's default MPTCP listener gives sockets that sendfile and
	// zero-copy sends handle worse; Kafka clients speak plain TCP.
	lc.SetMultipathTCP(false)
	l, err := lc.Listen(context.Background(), "tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	ln := &stdListener{rt: rt, cfg: cfg, h: h, ln: l.(*net.TCPListener), conns: make(map[*stdConn]struct{}),
		quit: make(chan struct{})}
	rt.listeners[ln] = struct{}{}
	ln.wg.Add(1)
	go ln.acceptLoop()
	if d := sweepPeriod(cfg.MaxIdle); d > 0 {
		ln.wg.Add(1)
		go ln.sweepIdle(d)
	}
	return ln, nil
}

func (rt *stdRuntime) Close() error {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return nil
	}
	rt.closed = true
	open := make([]*stdListener, 0, len(rt.listeners))
	for ln := range rt.listeners {
		open = append(open, ln)
	}
	rt.mu.Unlock()
	var errs []error
	for _, ln := range open {
		errs = append(errs, ln.Close())
	}
	for _, w := range rt.workers {
		w.stop()
	}
	rt.mem.close()
	return errors.Join(errs...)
}

// stdListener is one listening address of a stdRuntime.
type stdListener struct {
	rt  *stdRuntime
	cfg ListenConfig
	h   Handler
	ln  *net.TCPListener

	mu     sync.Mutex
	conns  map[*stdConn]struct{}
	closed bool
	quit   chan struct{} // closed by Close: ends an accept backoff
	wg     sync.WaitGroup
}

func (l *stdListener) Addr() net.Addr   { return l.ln.Addr() }
func (l *stdListener) Runtime() Runtime { return l.rt }

func (l *stdListener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.quit)
	err := l.ln.Close()
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
	l.rt.mu.Lock()
	delete(l.rt.listeners, l)
	l.rt.mu.Unlock()
	return err
}

// sweepIdle closes the connections idle past MaxIdle: no request being
// answered, none completed for that long.
func (l *stdListener) sweepIdle(every time.Duration) {
	defer l.wg.Done()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-l.quit:
			return
		case now := <-tick.C:
			l.mu.Lock()
			for c := range l.conns {
				if c.idleSince(now) > l.cfg.MaxIdle {
					l.rt.cfg.Logger.Debug("closing idle connection", "remote", c.nc.RemoteAddr())
					c.Close()
				}
			}
			l.mu.Unlock()
		}
	}
}

func (l *stdListener) acceptLoop() {
	defer l.wg.Done()
	var backoff acceptBackoff
	for {
		nc, err := l.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and the like: the connection waits in the backlog.
			pause := time.NewTimer(backoff.failed(time.Now(), l.rt.cfg.Logger, l.ln.Addr(), err))
			select {
			case <-pause.C:
			case <-l.quit:
				pause.Stop()
				return
			}
			continue
		}
		backoff.ok()
		raw, err := nc.SyscallConn()
		if err != nil {
			nc.Close()
			continue
		}
		c := &stdConn{l: l, id: l.rt.nextID.Add(1), nc: nc, raw: raw, wake: make(chan struct{}, 1),
			memFree: make(chan struct{}, 1), done: make(chan struct{})}
		c.fr.mem = l.rt.mem
		c.fr.wake = func() {
			select {
			case c.memFree <- struct{}{}:
			default:
			}
		}
		c.lastActive.Store(time.Now().UnixNano())
		c.fr.max = l.cfg.MaxFrameBytes
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			nc.Close()
			return
		}
		l.conns[c] = struct{}{}
		l.wg.Add(2)
		l.mu.Unlock()
		go c.readLoop()
		go c.writeLoop()
	}
}

type stdConn struct {
	l   *stdListener
	id  uint64
	nc  *net.TCPConn
	raw syscall.RawConn
	fr  framer
	seq uint64

	// requests and answered count frames served and responses put;
	// lastActive (unix ns) is when either last moved, for MaxIdle.
	requests, answered atomic.Uint64
	lastActive         atomic.Int64

	mu      sync.Mutex
	ord     orderer
	out     []Response
	closed  bool
	wake    chan struct{}
	memFree chan struct{} // request memory was given back (framer.wake)
	done    chan struct{} // closed by Close
	exited  atomic.Int32  // loops finished; the second one reports ConnClosed
}

func (c *stdConn) ID() uint64           { return c.id }
func (c *stdConn) Shard() int           { return int(c.id % uint64(len(c.l.rt.workers))) }
func (c *stdConn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// KeepFrame runs on the read loop, inside ServeFrame, as the framer does.
func (c *stdConn) KeepFrame() (func(), bool) { return c.fr.keep() }

// idleSince is how long the connection has been idle at now: 0 while a
// request is being answered.
func (c *stdConn) idleSince(now time.Time) time.Duration {
	if c.answered.Load() != c.requests.Load() {
		return 0
	}
	return now.Sub(time.Unix(0, c.lastActive.Load()))
}

func (c *stdConn) Respond(seq uint64, resp Response) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		release(resp)
		return
	}
	c.lastActive.Store(time.Now().UnixNano())
	c.answered.Add(1)
	c.ord.put(seq, resp, func(r Response) {
		c.l.rt.count(r)
		c.out = append(c.out, r)
	})
	c.mu.Unlock()
	c.signal()
}

func (c *stdConn) Close() {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	c.mu.Unlock()
	if !already {
		close(c.done)
		c.nc.Close()
		c.signal()
	}
}

func (c *stdConn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *stdConn) readLoop() {
	defer c.loopDone()
	buf := make([]byte, 64<<10)
	emit := func(frame []byte) error {
		seq := c.seq
		c.seq++
		c.lastActive.Store(time.Now().UnixNano())
		c.requests.Add(1)
		return c.l.h.ServeFrame(c, seq, frame)
	}
	for {
		// The tail of a large frame (a produce request's batches) is read
		// straight into the frame, saving a copy of every byte.
		var n int
		var err, ferr error
		if dst := c.fr.direct(len(buf)); dst != nil {
			n, err = c.nc.Read(dst)
			if n > 0 {
				ferr = c.fr.filled(n, emit)
			}
		} else {
			n, err = c.nc.Read(buf)
			if n > 0 {
				ferr = c.fr.feed(buf[:n], emit)
			}
		}
		// A frame waiting for request memory: read nothing until some
		// is given back.
		for ferr == errNoMemory {
			select {
			case <-c.memFree:
				ferr = c.fr.resume(emit)
			case <-c.done:
				return
			}
		}
		if ferr != nil {
			c.l.rt.cfg.Logger.Info("closing connection", "remote", c.nc.RemoteAddr(), "err", ferr)
			c.Close()
			return
		}
		if err != nil {
			c.Close()
			return
		}
	}
}

func (c *stdConn) writeLoop() {
	defer c.loopDone()
	var batch []Response
	var vec net.Buffers
	for range c.wake {
		c.mu.Lock()
		batch = append(batch[:0], c.out...)
		clear(c.out)
		c.out = c.out[:0]
		closed := c.closed
		c.mu.Unlock()
		if closed {
			releaseAll(batch)
			c.mu.Lock()
			releaseAll(c.out)
			c.out = nil
			c.ord.drop()
			c.mu.Unlock()
			return
		}
		for i, r := range batch {
			if err := c.write(r, &vec); err != nil {
				releaseAll(batch[i:])
				c.Close()
				break
			}
			release(r)
		}
		clear(batch)
	}
}

// write sends one response: runs of byte parts with writev, file ranges
// with sendfile so their bytes stay out of the Go heap.
func (c *stdConn) write(r Response, vec *net.Buffers) error {
	*vec = (*vec)[:0]
	for _, p := range r.Parts {
		if p.File == nil {
			*vec = append(*vec, p.Bytes)
			continue
		}
		if err := c.flushVec(vec); err != nil {
			return err
		}
		if err := sendFileRange(c.raw, p.File, p.Off, p.Len); err != nil {
			return err
		}
	}
	return c.flushVec(vec)
}

func (c *stdConn) flushVec(vec *net.Buffers) error {
	if len(*vec) == 0 {
		return nil
	}
	v := *vec
	_, err := v.WriteTo(c.nc)
	*vec = (*vec)[:0]
	return err
}

func (c *stdConn) loopDone() {
	if c.exited.Add(1) == 2 {
		c.fr.close()
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
		c.l.h.ConnClosed(c)
		c.l.wg.Done()
		c.l.wg.Done()
		return
	}
	// The reader is gone: wake the writer so it sees the close.
	c.Close()
}

func releaseAll(rs []Response) {
	for _, r := range rs {
		release(r)
	}
}

// sendFileRange sends [off, off+n) of f with sendfile(2), letting Go's
// poller wait whenever the socket is full.
func sendFileRange(raw syscall.RawConn, f *File, off, n int64) error {
	var werr error
	err := raw.Write(func(fd uintptr) bool {
		for n > 0 {
			w, err := unix.Sendfile(int(fd), f.Fd(), &off, int(min(n, 1<<30)))
			if w > 0 {
				n -= int64(w)
			}
			switch {
			case err == unix.EAGAIN:
				return false
			case err == unix.EINTR:
			case err != nil:
				werr = err
				return true
			case w == 0:
				werr = io.ErrUnexpectedEOF
				return true
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	return werr
}
