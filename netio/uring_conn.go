package netio

import (
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/weirmq/weir/ring"
)

// sendItem is one piece of the send queue: bytes (from the heap or from a
// file's mapping), or a file range for the splice path.
type sendItem struct {
	buf     []byte
	file    *File
	off, n  int64
	release func() // set on a response's last item
}

// uconn is one connection on a uring shard. Apart from the fields the
// Conn methods read (id, remote, sh), it belongs to the shard goroutine.
type uconn struct {
	sh     *shard
	acc    *acceptor // the listener socket that accepted it
	id     uint64
	fd     int
	remote net.Addr

	fr  framer
	seq uint64 // requests emitted
	// answered counts responses put; lastActive is when the last request
	// was emitted or answered (the shard's turn time), for MaxIdle.
	answered   uint64
	lastActive time.Time
	emitFn     func([]byte) error
	ord        orderer

	queue     []sendItem // queue[0] is the oldest unsent item
	chainLen  int        // SENDs of the current chain in flight
	chainSeen int        // of those, completions seen
	splicing  bool       // a splice stage is in flight
	pipe      [2]int     // splice path: read end, write end
	inPipe    int64      // bytes moved into the pipe, not yet to the socket

	dirty      bool
	recvArmed  bool // the multishot receive is in flight
	recvDirect bool // a direct receive into the frame is in flight
	recvStop   bool // the multishot receive is being cancelled (to go direct, or muted)
	muted      bool // a frame waits for memory: the connection is not read
	closing    bool
	inflight   int // SQEs in flight that name this connection
}

func newUconn(s *shard, acc *acceptor, fd int) *uconn {
	c := &uconn{sh: s, acc: acc, id: connIDs.Add(1), fd: fd, pipe: [2]int{-1, -1}, lastActive: s.now}
	c.fr.max = acc.ln.cfg.MaxFrameBytes
	c.fr.mem = s.rt.mem
	c.fr.wake = func() { s.post(shardMsg{kind: msgRun, fn: c.unmute}) }
	c.emitFn = c.emit
	if sa, err := unix.Getpeername(fd); err == nil {
		c.remote = sockaddrToTCP(sa)
	}
	return c
}

func (c *uconn) ID() uint64           { return c.id }
func (c *uconn) Shard() int           { return c.sh.id }
func (c *uconn) RemoteAddr() net.Addr { return c.remote }

// KeepFrame runs on the shard, inside ServeFrame, as the framer does.
func (c *uconn) KeepFrame() (func(), bool) { return c.fr.keep() }

func (c *uconn) Respond(seq uint64, resp Response) {
	c.sh.post(shardMsg{kind: msgRespond, c: c, seq: seq, resp: resp})
}

func (c *uconn) Close() { c.sh.post(shardMsg{kind: msgClose, c: c}) }

func (c *uconn) emit(frame []byte) error {
	seq := c.seq
	c.seq++
	c.lastActive = c.sh.now
	return c.acc.ln.h.ServeFrame(c, seq, frame)
}

func (c *uconn) armRecv() {
	c.sh.r.PrepRecvMultishot(c.fd, recvBufGroup, ring.Pack(opRecv, c.id))
	c.recvArmed = true
	c.inflight++
}

// directRecvMin is how much of a frame must still be missing for its tail
// to be received straight into the frame rather than through the provided
// buffers and a copy: large produce requests.
const directRecvMin = 64 << 10

func (s *shard) onRecv(id uint64, res int32, flags uint32) {
	c := s.conns[id]
	more := ring.More(flags)
	if !more {
		c.recvArmed = false
	}
	switch {
	case res > 0:
		bid, ok := ring.BufferID(flags)
		if !ok {
			panic("netio: recv completion without a buffer")
		}
		if !c.closing {
			switch err := c.fr.feed(s.bufs.Buf(bid, int(res)), c.emitFn); {
			case err == errNoMemory:
				c.muted = true
			case err != nil:
				s.rt.cfg.Logger.Info("closing connection", "remote", c.remote, "err", err)
				c.shut(err)
			}
		}
		s.bufs.Recycle(bid)
		s.bufsDirty = true
		switch {
		case c.closing:
		case c.muted:
			// Stop reading until the frame gets its memory (unmute);
			// what arrives meanwhile waits in the framer.
			if more && !c.recvStop {
				c.recvStop = true
				s.r.PrepCancel(ring.Pack(opRecv, c.id), ring.Pack(opRecvStop, c.id))
				c.inflight++
			}
		case !more:
			s.rearm = append(s.rearm, c)
		case !c.recvStop && c.fr.direct(directRecvMin) != nil:
			// Stop the multishot receive; its last completion (below, or
			// -ECANCELED) starts the direct one.
			c.recvStop = true
			s.r.PrepCancel(ring.Pack(opRecv, c.id), ring.Pack(opRecvStop, c.id))
			c.inflight++
		}
	case res == -int32(unix.ENOBUFS):
		// The buffer ring ran dry; buffers come back at the end of this
		// turn, and the receive is armed again after they are published.
		s.dryRuns++
		if !c.muted {
			s.rearm = append(s.rearm, c)
		}
	case res == -int32(unix.ECANCELED) && !c.closing:
		// Cancelled to receive a large frame's tail directly (only shut
		// cancels a closing connection's receive).
	default: // EOF, reset, or cancelled by shut
		c.shut(nil)
	}
	if !more {
		c.recvStop = false
		if !c.closing && !c.muted && !c.armDirect() && res == -int32(unix.ECANCELED) {
			s.rearm = append(s.rearm, c)
		}
		c.opDone()
	}
}

// unmute runs on the shard when request memory was given back: the
// waiting frame is retried and, once it has its memory, the connection is
// read again.
func (c *uconn) unmute() {
	if c.closing || !c.muted {
		return
	}
	err := c.fr.resume(c.emitFn)
	if err == errNoMemory {
		return // still waiting; the wake-up is registered again
	}
	c.muted = false
	if err != nil {
		c.sh.rt.cfg.Logger.Info("closing connection", "remote", c.remote, "err", err)
		c.shut(err)
		return
	}
	if !c.recvArmed && !c.recvDirect && !c.armDirect() {
		c.sh.rearm = append(c.sh.rearm, c)
	}
}

// armDirect starts a receive of the rest of the frame being gathered
// straight into it, when enough is missing; it reports whether it did.
// The multishot receive must not be in flight: it would take bytes first.
func (c *uconn) armDirect() bool {
	if c.recvArmed || c.recvDirect {
		return false
	}
	dst := c.fr.direct(directRecvMin)
	if dst == nil {
		return false
	}
	c.sh.r.PrepRecvFlags(c.fd, unsafe.Pointer(&dst[0]), len(dst), unix.MSG_WAITALL, ring.Pack(opRecvDirect, c.id))
	c.recvDirect = true
	c.inflight++
	return true
}

func (s *shard) onRecvDirect(id uint64, res int32, _ uint32) {
	c := s.conns[id]
	c.recvDirect = false
	switch {
	case c.closing:
	case res > 0:
		// The frame's memory stays referenced by the framer while the
		// kernel writes into it; filled emits the frame once it is whole.
		if err := c.fr.filled(int(res), c.emitFn); err != nil {
			s.rt.cfg.Logger.Info("closing connection", "remote", c.remote, "err", err)
			c.shut(err)
		} else if !c.armDirect() {
			s.rearm = append(s.rearm, c)
		}
	case res == -int32(unix.EINTR) || res == -int32(unix.EAGAIN):
		if !c.armDirect() {
			s.rearm = append(s.rearm, c)
		}
	default: // EOF (0), reset, or cancelled by shut
		c.shut(nil)
	}
	c.opDone()
}

// respondOnShard puts a response in order and queues what is now sendable.
func (c *uconn) respondOnShard(seq uint64, resp Response) {
	if c.closing {
		release(resp)
		return
	}
	c.answered++
	c.lastActive = c.sh.now
	c.ord.put(seq, resp, c.enqueue)
}

func (c *uconn) enqueue(r Response) {
	c.sh.rt.count(r)
	start := len(c.queue)
	for _, p := range r.Parts {
		if p.File == nil {
			c.queue = append(c.queue, sendItem{buf: p.Bytes})
			continue
		}
		if c.sh.rt.cfg.FileSend == FileSendSplice {
			c.queue = append(c.queue, sendItem{file: p.File, off: p.Off, n: p.Len})
			continue
		}
		m, err := p.File.mapped(p.Off + p.Len)
		if err != nil {
			c.sh.rt.cfg.Logger.Error("cannot map file for send; closing connection", "err", err)
			c.queue = c.queue[:start]
			release(r)
			c.shut(err)
			return
		}
		c.queue = append(c.queue, sendItem{buf: m[p.Off : p.Off+p.Len]})
	}
	if len(c.queue) == start {
		release(r) // nothing to send: acks=0
		return
	}
	c.queue[len(c.queue)-1].release = r.Release
	c.markDirty()
}

func (c *uconn) markDirty() {
	if !c.dirty && !c.closing {
		c.dirty = true
		c.sh.dirty = append(c.sh.dirty, c)
	}
}

// pump starts the next send when none is in flight: leading file items
// are spliced (spliceFile) until one must wait, then one linked chain of
// SENDs goes over the leading byte items (one chain per socket at a time
// keeps the bytes in order).
func (c *uconn) pump() {
	for {
		if c.closing || c.chainLen > 0 || c.splicing {
			return
		}
		c.popSent()
		if len(c.queue) == 0 {
			return
		}
		if c.queue[0].file == nil {
			break
		}
		if !c.spliceFile() {
			return
		}
	}
	n := 0
	for n < len(c.queue) && n < sendChainMax && c.queue[n].file == nil && len(c.queue[n].buf) > 0 {
		n++
	}
	for i := 0; i < n; i++ {
		b := c.queue[i].buf
		c.sh.r.PrepSend(c.fd, unsafe.Pointer(&b[0]), len(b), unix.MSG_WAITALL|unix.MSG_NOSIGNAL,
			i < n-1, ring.Pack(opSend, c.id))
	}
	c.chainLen, c.chainSeen = n, 0
	c.inflight += n
}

// popSent drops finished items from the head of the queue, releasing the
// responses they end.
func (c *uconn) popSent() {
	i := 0
	for i < len(c.queue) && c.queue[i].file == nil && len(c.queue[i].buf) == 0 {
		if rel := c.queue[i].release; rel != nil {
			rel()
		}
		c.queue[i] = sendItem{}
		i++
	}
	if i > 0 {
		c.queue = append(c.queue[:0], c.queue[i:]...)
	}
}

// onSend sees the chain's completions in submission order (a link runs
// its next SEND only after the previous one completes).
func (s *shard) onSend(id uint64, res int32, _ uint32) {
	c := s.conns[id]
	it := &c.queue[c.chainSeen]
	c.chainSeen++
	switch {
	case res >= 0:
		it.buf = it.buf[res:] // short sends keep the rest; the links after it were cancelled
	case res == -int32(unix.ECANCELED):
	default:
		c.shut(nil)
	}
	if c.chainSeen == c.chainLen {
		c.chainLen, c.chainSeen = 0, 0
		c.markDirty()
	}
	c.opDone()
}

// spliceFile sends the head file item through the connection's pipe,
// chunk by chunk, on the loop: splice(2) moves a chunk's page-cache pages
// into the pipe (references, no copy), then from the pipe into the
// socket (non-blocking: a full socket arms a POLLOUT, onSpliceOut, and
// the rest goes when it fires). Only pages already cached are spliced on
// the loop (cachestat(2) says): a chunk that must be read from the disk
// is moved into the pipe by IORING_OP_SPLICE instead, in the kernel's
// io-wq workers (onSpliceIn), so a consumer catching up never stalls the
// shard. It answers whether the item is sent; false: a stage is in flight
// or the connection is closing.
func (c *uconn) spliceFile() (done bool) {
	if c.pipe[0] < 0 {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
			c.shut(err)
			return false
		}
		_, _ = unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, spliceChunkMax)
		c.pipe = p
	}
	it := &c.queue[0]
	for {
		if c.inPipe == 0 {
			if it.n == 0 {
				it.file = nil // now an empty byte item: popSent releases it
				return true
			}
			n := min(it.n, spliceChunkMax)
			if !cached(it.file.Fd(), it.off, n) {
				c.sh.r.PrepSplice(it.file.Fd(), it.off, c.pipe[1], -1, int(n), unix.SPLICE_F_MOVE, false,
					ring.Pack(opSpliceIn, c.id))
				c.splicing = true
				c.inflight++
				return false
			}
			off := it.off
			moved, err := unix.Splice(it.file.Fd(), &off, c.pipe[1], nil, int(n), unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			if err == unix.EINTR {
				continue
			}
			if err != nil || moved <= 0 {
				c.shut(err)
				return false
			}
			it.off += moved
			it.n -= moved
			c.inPipe = moved
		}
		sent, err := unix.Splice(c.pipe[0], nil, c.fd, nil, int(c.inPipe), unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			c.sh.r.PrepPollAdd(c.fd, unix.POLLOUT, false, ring.Pack(opSpliceOut, c.id))
			c.splicing = true
			c.inflight++
			return false
		case err != nil || sent <= 0:
			c.shut(err)
			return false
		}
		c.inPipe -= sent
	}
}

// cached says whether the page cache holds every page of fd's range
// [off, off+n): cachestat(2), one call per chunk. On failure (a kernel
// before 6.5) it answers false, and every chunk goes through io-wq.
func cached(fd int, off, n int64) bool {
	const page = 4096
	first, end := off/page, (off+n+page-1)/page
	var st unix.Cachestat_t
	r := unix.CachestatRange{Off: uint64(first * page), Len: uint64((end - first) * page)}
	if err := unix.Cachestat(uint(fd), &r, &st, 0); err != nil {
		return false
	}
	return st.Cache >= uint64(end-first)
}

// onSpliceIn: io-wq moved a chunk read from the disk into the pipe; the
// loop sends it on.
func (s *shard) onSpliceIn(id uint64, res int32, _ uint32) {
	c := s.conns[id]
	c.opDone()
	c.splicing = false
	if res <= 0 || c.closing {
		c.shut(nil)
		return
	}
	it := &c.queue[0]
	it.off += int64(res)
	it.n -= int64(res)
	c.inPipe = int64(res)
	c.markDirty()
}

// onSpliceOut: the socket has room again (or failed).
func (s *shard) onSpliceOut(id uint64, res int32, _ uint32) {
	c := s.conns[id]
	c.opDone()
	c.splicing = false
	if res < 0 || c.closing {
		c.shut(nil)
		return
	}
	c.markDirty()
}

// shut starts closing: shutdown and cancel end the receive and any send,
// and the socket is closed once nothing in flight names it.
func (c *uconn) shut(err error) {
	if c.closing {
		return
	}
	c.closing = true
	c.sh.r.PrepShutdown(c.fd, unix.SHUT_RDWR, ring.Pack(opShutdown, c.id))
	c.sh.r.PrepCancelFd(c.fd, true, ring.Pack(opCancel, c.id))
	c.inflight += 2
}

func (c *uconn) opDone() {
	c.inflight--
	if c.inflight < 0 {
		panic("netio: connection " + itoa(c.id) + " completed more operations than it issued")
	}
	if c.closing && c.inflight == 0 {
		c.finish()
	}
}

// finish frees a closed connection: nothing in flight refers to it now.
func (c *uconn) finish() {
	s := c.sh
	s.r.PrepClose(c.fd, ring.Pack(opClose, c.id))
	if c.pipe[0] >= 0 {
		unix.Close(c.pipe[0])
		unix.Close(c.pipe[1])
	}
	for _, it := range c.queue {
		if it.release != nil {
			it.release()
		}
	}
	c.queue = nil
	c.ord.drop()
	c.fr.close()
	delete(s.conns, c.id)
	c.acc.conns--
	c.acc.ln.h.ConnClosed(c)
	s.retire(c.acc, false)
}

func sockaddrToTCP(sa unix.Sockaddr) *net.TCPAddr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	}
	return nil
}
