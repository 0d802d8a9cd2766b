package netio

import (
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/weirmq/weir/ring"
)

// Completion kinds in the top byte of a CQE's user data; the id is the
// connection's (or 0 for the shard's own operations).
const (
	opAccept uint8 = iota + 1
	opRecv
	opSend
	opSpliceIn
	opSpliceOut
	opWake
	opShutdown
	opCancel
	opClose
	opSync
	opRecvDirect // a large frame's tail received straight into the frame
	opRecvStop   // the cancel that ends a multishot receive to go direct
)

const (
	ringEntries    = 1024
	recvBufGroup   = 0
	sendChainMax   = 16 // linked SENDs per connection in flight
	spliceChunkMax = 1 << 20
)

var connIDs atomic.Uint64

type msgKind uint8

const (
	msgRespond msgKind = iota
	msgClose
	msgStop
	msgRun
	msgSync
)

// shardMsg is how other goroutines reach a shard: through its inbox.
type shardMsg struct {
	kind msgKind
	c    *uconn
	seq  uint64
	resp Response
	fn   func()
	sync *syncJob
}

// shard is one loop: a goroutine locked to its thread and pinned to a CPU,
// owning a ring, a listener, a receive buffer ring and its connections.
// Everything here but inbox and waker is touched only by that goroutine.
type shard struct {
	srv     *uringServer
	id, cpu int
	lfd     int
	started chan error
	loopErr error

	r     *ring.Ring
	bufs  *ring.BufRing
	waker atomic.Pointer[ring.Waker]
	inbox ring.Queue[shardMsg]
	// gate orders posts against the loop's exit: once dead, posts release
	// their responses themselves instead of queueing them for no one.
	gate sync.RWMutex
	dead bool

	conns       map[uint64]*uconn
	dirty       []*uconn // connections with sends to start this turn
	rearm       []*uconn // connections whose multishot recv must be armed again
	msgs        []shardMsg
	bufsDirty   bool
	stopping    bool
	acceptArmed bool
	overflows   uint64
	syncs       map[uint64]*syncJob // by id, while their fsyncs are in flight
	syncSeq     uint64
	dryRuns     uint64 // receives that found the buffer ring empty
}

func newShard(srv *uringServer, id, cpu, lfd int) *shard {
	return &shard{srv: srv, id: id, cpu: cpu, lfd: lfd, started: make(chan error, 1),
		conns: make(map[uint64]*uconn)}
}

// post hands a message to the shard from any goroutine.
func (s *shard) post(m shardMsg) {
	s.gate.RLock()
	if s.dead {
		s.gate.RUnlock()
		release(m.resp)
		if m.sync != nil {
			m.sync.done(ErrClosed)
		}
		return
	}
	s.inbox.Push(m)
	if w := s.waker.Load(); w != nil {
		w.Wake() // under the gate: teardown closes the eventfd only after dead is set
	}
	s.gate.RUnlock()
}

func (s *shard) run() {
	defer s.srv.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := pinToCPU(s.cpu); err != nil {
		s.srv.cfg.Logger.Warn("cannot pin shard to its CPU", "shard", s.id, "cpu", s.cpu, "err", err)
	}
	if err := s.setup(); err != nil {
		unix.Close(s.lfd)
		s.started <- err
		s.teardown()
		return
	}
	s.started <- nil
	s.loopErr = s.loop()
	s.teardown()
}

func (s *shard) setup() error {
	r, err := ring.New(ring.Options{Entries: ringEntries})
	if err != nil {
		return err
	}
	s.r = r
	if s.bufs, err = ring.NewBufRing(r, recvBufGroup, s.srv.cfg.RecvBuffers, s.srv.cfg.RecvBufferBytes); err != nil {
		return err
	}
	w, err := ring.NewWaker(r, ring.Pack(opWake, 0))
	if err != nil {
		return err
	}
	s.waker.Store(w)
	r.On(opAccept, s.onAccept)
	r.On(opRecv, s.onRecv)
	r.On(opSend, s.onSend)
	r.On(opSpliceIn, s.onSpliceIn)
	r.On(opSpliceOut, s.onSpliceOut)
	r.On(opWake, func(_ uint64, res int32, _ uint32) { w.OnRead(res) })
	r.On(opShutdown, s.onConnOp)
	r.On(opCancel, s.onConnOp)
	r.On(opClose, func(uint64, int32, uint32) {})
	r.On(opSync, s.onSync)
	r.On(opRecvDirect, s.onRecvDirect)
	r.On(opRecvStop, s.onConnOp)
	s.armAccept()
	return nil
}

func (s *shard) teardown() {
	s.gate.Lock()
	s.dead = true
	s.gate.Unlock()
	for _, m := range s.inbox.Drain(nil) {
		release(m.resp)
		if m.sync != nil {
			m.sync.done(ErrClosed)
		}
	}
	if w := s.waker.Load(); w != nil {
		w.Close()
	}
	if s.bufs != nil {
		s.bufs.Close()
	}
	if s.r != nil {
		s.r.Close()
	}
}

// loop runs turns until the shard is stopped and every connection is gone.
// One turn: handle posted messages, start sends, publish recycled buffers,
// then one io_uring_enter that submits everything and, when there is
// nothing else to do, sleeps until a completion or a wake-up.
func (s *shard) loop() error {
	w := s.waker.Load()
	for {
		s.drainInbox()
		s.startSends()
		if s.bufsDirty {
			s.bufs.Publish()
			s.bufsDirty = false
		}
		s.rearmRecvs()
		if s.stopping && !s.acceptArmed && len(s.conns) == 0 && len(s.syncs) == 0 {
			// Submit the last closes. The waker's re-armed read may stay
			// pending: nothing will complete it, and closing the ring ends it.
			err := s.r.Enter(false)
			unix.Close(s.lfd)
			return err
		}
		wait := s.inbox.Len() == 0
		if wait {
			w.Park()
			if s.inbox.Len() > 0 {
				wait = false
			}
		}
		err := s.r.Enter(wait)
		w.Unpark()
		if err != nil {
			s.srv.cfg.Logger.Error("io_uring_enter failed; shard stops", "shard", s.id, "err", err)
			return err
		}
		s.r.Dispatch()
		if n := s.r.Overflows(); n != s.overflows {
			s.overflows = n
			s.srv.cfg.Logger.Warn("completion queue overflowed; the kernel kept the completions, but the ring is undersized",
				"shard", s.id, "overflows", n)
		}
	}
}

func (s *shard) drainInbox() {
	s.msgs = s.inbox.Drain(s.msgs[:0])
	for i := range s.msgs {
		m := &s.msgs[i]
		switch m.kind {
		case msgRespond:
			m.c.respondOnShard(m.seq, m.resp)
		case msgClose:
			m.c.shut(nil)
		case msgStop:
			s.stop()
		case msgRun:
			m.fn()
		case msgSync:
			s.startSync(m.sync)
		}
		*m = shardMsg{}
	}
}

func (s *shard) stop() {
	if s.stopping {
		return
	}
	s.stopping = true
	if s.acceptArmed {
		s.r.PrepCancel(ring.Pack(opAccept, 0), ring.Pack(opCancel, 0))
	}
	for _, c := range s.conns {
		c.shut(nil)
	}
}

func (s *shard) armAccept() {
	s.r.PrepAcceptMultishot(s.lfd, ring.Pack(opAccept, 0))
	s.acceptArmed = true
}

func (s *shard) onAccept(_ uint64, res int32, flags uint32) {
	if !ring.More(flags) {
		s.acceptArmed = false
		if !s.stopping {
			s.armAccept()
		}
	}
	if res < 0 {
		if res != -int32(unix.ECANCELED) {
			s.srv.cfg.Logger.Warn("accept failed", "shard", s.id, "err", unix.Errno(-res))
		}
		return
	}
	fd := int(res)
	if s.stopping {
		unix.Close(fd)
		return
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	c := newUconn(s, fd)
	s.conns[c.id] = c
	c.armRecv()
}

func (s *shard) startSends() {
	for i, c := range s.dirty {
		c.dirty = false
		c.pump()
		s.dirty[i] = nil
	}
	s.dirty = s.dirty[:0]
}

func (s *shard) rearmRecvs() {
	for i, c := range s.rearm {
		if !c.closing && !c.recvArmed && !c.recvDirect {
			c.armRecv()
		}
		s.rearm[i] = nil
	}
	s.rearm = s.rearm[:0]
}

// onConnOp completes the shutdown and cancel a closing connection issued.
func (s *shard) onConnOp(id uint64, _ int32, _ uint32) {
	if c := s.conns[id]; c != nil {
		c.opDone()
	}
}
