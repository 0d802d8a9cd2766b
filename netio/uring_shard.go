package netio

import (
	"container/heap"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

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
	opTimer      // the kernel timeout armed for the earliest loop timer
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
	msgTimer
	msgListen
	msgUnlisten
)

// shardMsg is how other goroutines reach a shard: through its inbox.
type shardMsg struct {
	kind  msgKind
	c     *uconn
	seq   uint64
	resp  Response
	fn    func() // msgRun's work; msgUnlisten's done
	sync  *syncJob
	timer *loopTimer
	acc   *acceptor
}

// acceptor is one listener's socket on one shard, with the count of the
// connections it accepted that are still open.
type acceptor struct {
	id      uint64 // in the accept's user data
	ln      *uringListener
	fd      int
	armed   bool // the multishot accept is in flight
	closing bool
	conns   int
	done    func() // from the listener's Close: called once the socket is closed
	backoff acceptBackoff
	pausing bool // a failed accept waits for a timer to arm the next
}

// shard is one loop: a goroutine locked to its thread and pinned to a CPU,
// owning a ring, a receive buffer ring, one socket of each listener, its
// connections and its timers. Everything here but inbox and waker is
// touched only by that goroutine.
type shard struct {
	rt      *uringRuntime
	id, cpu int
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

	conns      map[uint64]*uconn
	dirty      []*uconn // connections with sends to start this turn
	rearm      []*uconn // connections whose multishot recv must be armed again
	msgs       []shardMsg
	bufsDirty  bool
	stopping   bool
	accs       map[uint64]*acceptor
	overflows  uint64
	timers     timerHeap
	timerArmed time.Time           // deadline of the kernel timeout in flight, or zero
	timerGen   uint64              // user data id of that timeout
	now        time.Time           // read once per turn, for connection activity
	sweepEvery time.Duration       // the idle sweep's period, 0 while none runs
	syncs      map[uint64]*syncJob // by id, while their fsyncs are in flight
	syncSeq    uint64
	dryRuns    uint64 // receives that found the buffer ring empty
}

func newShard(rt *uringRuntime, id, cpu int) *shard {
	return &shard{rt: rt, id: id, cpu: cpu, started: make(chan error, 1),
		conns: make(map[uint64]*uconn), accs: make(map[uint64]*acceptor)}
}

// post hands a message to the shard from any goroutine.
func (s *shard) post(m shardMsg) {
	s.gate.RLock()
	if s.dead {
		s.gate.RUnlock()
		dropMsg(m)
		return
	}
	s.inbox.Push(m)
	if w := s.waker.Load(); w != nil {
		w.Wake() // under the gate: teardown closes the eventfd only after dead is set
	}
	s.gate.RUnlock()
}

// dropMsg disposes of a message that no loop will handle.
func dropMsg(m shardMsg) {
	release(m.resp)
	switch m.kind {
	case msgSync:
		m.sync.done(ErrClosed)
	case msgListen:
		unix.Close(m.acc.fd)
	case msgUnlisten:
		m.fn()
	}
}

func (s *shard) run() {
	defer s.rt.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := pinToCPU(s.cpu); err != nil {
		s.rt.cfg.Logger.Warn("cannot pin shard to its CPU", "shard", s.id, "cpu", s.cpu, "err", err)
	}
	if err := s.setup(); err != nil {
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
	if s.bufs, err = ring.NewBufRing(r, recvBufGroup, s.rt.cfg.RecvBuffers, s.rt.cfg.RecvBufferBytes); err != nil {
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
	r.On(opTimer, s.onTimer)
	return nil
}

func (s *shard) teardown() {
	s.gate.Lock()
	s.dead = true
	s.gate.Unlock()
	for _, m := range s.inbox.Drain(nil) {
		dropMsg(m)
	}
	for _, acc := range s.accs {
		s.retire(acc, true)
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
	s.now = time.Now()
	for {
		s.drainInbox()
		s.runTimers()
		s.startSends()
		if s.bufsDirty {
			s.bufs.Publish()
			s.bufsDirty = false
		}
		s.rearmRecvs()
		if s.stopping && len(s.accs) == 0 && len(s.conns) == 0 && len(s.syncs) == 0 {
			// Submit the last closes. The waker's re-armed read and a
			// timeout may stay pending: closing the ring ends them.
			return s.r.Enter(false)
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
		// The completions below happen now, not when the turn began: a
		// loop parked for a while would stamp a request's arrival late.
		s.now = time.Now()
		if err != nil {
			s.rt.cfg.Logger.Error("io_uring_enter failed; shard stops", "shard", s.id, "err", err)
			return err
		}
		s.r.Dispatch()
		if n := s.r.Overflows(); n != s.overflows {
			s.overflows = n
			s.rt.cfg.Logger.Warn("completion queue overflowed; the kernel kept the completions, but the ring is undersized",
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
		case msgTimer:
			heap.Push(&s.timers, m.timer)
		case msgListen:
			s.listen(m.acc)
		case msgUnlisten:
			m.acc.done = m.fn
			s.unlisten(m.acc)
		}
		*m = shardMsg{}
	}
}

func (s *shard) stop() {
	if s.stopping {
		return
	}
	s.stopping = true
	for _, acc := range s.accs {
		s.unlisten(acc)
	}
	for _, c := range s.conns {
		c.shut(nil)
	}
}

// listen takes a listener's socket and starts accepting on it.
func (s *shard) listen(acc *acceptor) {
	if s.stopping {
		unix.Close(acc.fd)
		return
	}
	s.accs[acc.id] = acc
	s.armAccept(acc)
	if d := sweepPeriod(acc.ln.cfg.MaxIdle); d > 0 && (s.sweepEvery == 0 || d < s.sweepEvery) {
		start := s.sweepEvery == 0
		s.sweepEvery = d
		if start {
			s.scheduleSweep()
		}
	}
}

// sweepPeriod is how often connections are checked for a MaxIdle of d:
// an eighth of it, within [5ms, 1s]; 0 for none.
func sweepPeriod(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return min(max(d/8, 5*time.Millisecond), time.Second)
}

func (s *shard) scheduleSweep() {
	heap.Push(&s.timers, &loopTimer{when: time.Now().Add(s.sweepEvery), fn: s.sweepIdle})
}

// sweepIdle closes the connections idle past their listener's MaxIdle:
// no request being answered, none completed for that long.
func (s *shard) sweepIdle() {
	if s.stopping {
		return
	}
	now := time.Now()
	for _, c := range s.conns {
		idle := c.acc.ln.cfg.MaxIdle
		if idle > 0 && !c.closing && c.answered == c.seq && now.Sub(c.lastActive) > idle {
			s.rt.cfg.Logger.Debug("closing idle connection", "remote", c.remote, "idle", now.Sub(c.lastActive).Round(time.Millisecond))
			c.shut(nil)
		}
	}
	s.scheduleSweep()
}

// unlisten stops accepting on a listener's socket and closes the
// connections it accepted; the socket closes once they are gone.
func (s *shard) unlisten(acc *acceptor) {
	if s.accs[acc.id] != acc {
		// Never taken (the shard was stopping) or retired already.
		if acc.done != nil {
			acc.done()
			acc.done = nil
		}
		return
	}
	if !acc.closing {
		acc.closing = true
		if acc.armed {
			s.r.PrepCancel(ring.Pack(opAccept, acc.id), ring.Pack(opCancel, 0))
		}
		for _, c := range s.conns {
			if c.acc == acc {
				c.shut(nil)
			}
		}
	}
	s.retire(acc, false)
}

// retire closes a closing listener socket once nothing refers to it, or
// at once when force (the loop has ended).
func (s *shard) retire(acc *acceptor, force bool) {
	if !force && (!acc.closing || acc.armed || acc.conns > 0) {
		return
	}
	unix.Close(acc.fd)
	delete(s.accs, acc.id)
	if acc.done != nil {
		acc.done()
		acc.done = nil
	}
}

func (s *shard) armAccept(acc *acceptor) {
	s.r.PrepAcceptMultishot(acc.fd, ring.Pack(opAccept, acc.id))
	acc.armed = true
}

func (s *shard) onAccept(id uint64, res int32, flags uint32) {
	acc := s.accs[id]
	more := ring.More(flags)
	if !more {
		acc.armed = false
	}
	if res < 0 {
		switch {
		case acc.closing:
		case res == -int32(unix.ECANCELED):
			if !more {
				s.armAccept(acc)
			}
		default:
			// The multishot accept ended on an error (EMFILE, ENOMEM...):
			// the connection waits in the backlog; try again after a pause.
			now := time.Now()
			d := acc.backoff.failed(now, s.rt.cfg.Logger, acc.ln.addr, unix.Errno(-res))
			if !more && !acc.pausing {
				acc.pausing = true
				heap.Push(&s.timers, &loopTimer{when: now.Add(d), fn: func() { s.resumeAccept(acc) }})
			}
		}
		s.retire(acc, false)
		return
	}
	acc.backoff.ok()
	if !more && !acc.closing {
		s.armAccept(acc)
	}
	fd := int(res)
	if acc.closing {
		unix.Close(fd)
		s.retire(acc, false)
		return
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	_ = unix.SetNonblock(fd, true)
	c := newUconn(s, acc, fd)
	s.conns[c.id] = c
	acc.conns++
	c.armRecv()
}

// resumeAccept arms a listener socket's accept again after a pause, unless
// it closed meanwhile.
func (s *shard) resumeAccept(acc *acceptor) {
	acc.pausing = false
	if s.accs[acc.id] == acc && !acc.closing && !acc.armed {
		s.armAccept(acc)
	}
}

// runTimers fires the due timers and keeps one kernel timeout armed for
// the earliest of the rest, so that a parked loop wakes for it.
func (s *shard) runTimers() {
	if len(s.timers) == 0 {
		return
	}
	now := time.Now()
	next := s.timers.due(now)
	if next.IsZero() || (!s.timerArmed.IsZero() && !next.Before(s.timerArmed)) {
		return
	}
	s.timerGen++
	s.timerArmed = next
	s.r.PrepTimeout(next.Sub(now), ring.Pack(opTimer, s.timerGen))
}

// onTimer: a kernel timeout ended (expired, or a newer one replaced it).
// The next turn runs the due timers and arms the next timeout.
func (s *shard) onTimer(id uint64, _ int32, _ uint32) {
	if id == s.timerGen {
		s.timerArmed = time.Time{}
	}
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
		if !c.closing && !c.recvArmed && !c.recvDirect && !c.muted {
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
