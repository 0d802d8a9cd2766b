package netio

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// stdServer is the backend for hosts without io_uring: Go's net package,
// one reader and one writer goroutine per connection.
type stdServer struct {
	cfg Config
	h   Handler
	ln  *net.TCPListener

	mu      sync.Mutex
	conns   map[*stdConn]struct{}
	closed  bool
	wg      sync.WaitGroup
	nextID  atomic.Uint64
	workers []*stdWorker
	sendStats
}

func listenStd(cfg Config, h Handler) (*stdServer, error) {
	lc := net.ListenConfig{}
	// Go's default MPTCP listener gives sockets that sendfile and
	// zero-copy sends handle worse; Kafka clients speak plain TCP.
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(context.Background(), "tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	s := &stdServer{cfg: cfg, h: h, ln: ln.(*net.TCPListener), conns: make(map[*stdConn]struct{})}
	n := cfg.Shards
	if n <= 0 {
		n = len(usableCPUs())
	}
	for i := 0; i < n; i++ {
		s.workers = append(s.workers, newStdWorker())
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

func (s *stdServer) Addr() net.Addr  { return s.ln.Addr() }
func (s *stdServer) Backend() string { return IOStd }
func (s *stdServer) Shards() int     { return len(s.workers) }

func (s *stdServer) Run(shard int, fn func()) { s.workers[shard].post(fn) }

func (s *stdServer) Sync(shard int, fds []int, dirFd int, done func(error)) {
	s.countSyncs(fds, dirFd)
	if !s.workers[shard].post(func() { done(syncNow(fds, dirFd)) }) {
		done(ErrClosed)
	}
}

func (s *stdServer) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	for _, w := range s.workers {
		w.stop()
	}
	return err
}

func (s *stdServer) acceptLoop() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.cfg.Logger.Warn("accept failed", "err", err)
			continue
		}
		raw, err := nc.SyscallConn()
		if err != nil {
			nc.Close()
			continue
		}
		c := &stdConn{srv: s, id: s.nextID.Add(1), nc: nc, raw: raw, wake: make(chan struct{}, 1)}
		c.fr.max = s.cfg.MaxFrameBytes
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(2)
		s.mu.Unlock()
		go c.readLoop()
		go c.writeLoop()
	}
}

type stdConn struct {
	srv *stdServer
	id  uint64
	nc  *net.TCPConn
	raw syscall.RawConn
	fr  framer
	seq uint64

	mu     sync.Mutex
	ord    orderer
	out    []Response
	closed bool
	wake   chan struct{}
	exited atomic.Int32 // loops finished; the second one reports ConnClosed
}

func (c *stdConn) ID() uint64           { return c.id }
func (c *stdConn) Shard() int           { return int(c.id % uint64(len(c.srv.workers))) }
func (c *stdConn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// KeepFrame runs on the read loop, inside ServeFrame, as the framer does.
func (c *stdConn) KeepFrame() (func(), bool) { return c.fr.keep() }

func (c *stdConn) Respond(seq uint64, resp Response) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		release(resp)
		return
	}
	c.ord.put(seq, resp, func(r Response) {
		c.srv.count(r)
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
		return c.srv.h.ServeFrame(c, seq, frame)
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
		if ferr != nil {
			c.srv.cfg.Logger.Info("closing connection", "remote", c.nc.RemoteAddr(), "err", ferr)
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
		c.srv.mu.Lock()
		delete(c.srv.conns, c)
		c.srv.mu.Unlock()
		c.srv.h.ConnClosed(c)
		c.srv.wg.Done()
		c.srv.wg.Done()
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
