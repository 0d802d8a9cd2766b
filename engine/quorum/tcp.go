package quorum

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// TCP is a Transport over plain TCP. Each node dials one connection to
// each peer and writes its messages there; it reads the messages of its
// peers from the connections they dialed to it. A connection is, by
// default,
//
//	"WRFT" (4 bytes) then frames: length uint32 (big-endian) | raftpb.Message (protobuf)
//
// With TCPConfig.Frame the writer frames messages its caller's way and
// the transport only dials: the peers' messages arrive elsewhere (the
// engine's controller listener) and are handed in with Deliver.
//
// A peer that cannot be reached is redialed with backoff (50 ms doubling
// to 2 s); what is sent meanwhile is dropped and reported unreachable.
type TCP struct {
	cfg   TCPConfig
	ln    net.Listener
	recv  atomic.Pointer[Receiver]
	peers map[int32]*peer
	done  chan struct{}
	ctx   context.Context // canceled by Close, to stop dials
	stop  context.CancelFunc
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{} // open connections, closed by Close
	once  sync.Once
}

// TCPConfig configures ListenTCP.
type TCPConfig struct {
	Node int32
	// Listen is the address to listen on (host:port), unless Listener is
	// one already listening. Both are unset with Frame.
	Listen   string
	Listener net.Listener
	// Frame, if set, appends one message's whole frame (its length prefix
	// included) to dst; no magic opens a connection, and the transport
	// listens on nothing (the receiving side calls Deliver).
	Frame func(dst, msg []byte) []byte
	// Peers are the other voters' addresses (controller.quorum.voters);
	// this node's own entry is ignored.
	Peers  map[int32]string
	Logger *slog.Logger
	// DialTimeout bounds a connect and each write (default 5 s).
	DialTimeout time.Duration
	// MaxFrameBytes bounds a message read (default 256 MiB: a snapshot
	// goes in one message).
	MaxFrameBytes int
}

const tcpMagic = "WRFT"

// peerQueue bounds the messages waiting for a peer's connection.
const peerQueue = 1024

type peer struct {
	node  int32
	addr  string
	queue chan frame
}

type frame struct {
	data []byte // length prefix and message
	snap bool   // a MsgSnap: report whether it went
}

// ListenTCP listens for peers and starts a writer per peer.
func ListenTCP(cfg TCPConfig) (*TCP, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.MaxFrameBytes <= 0 {
		cfg.MaxFrameBytes = 256 << 20
	}
	ln := cfg.Listener
	if ln == nil && cfg.Frame == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return nil, fmt.Errorf("quorum transport: %w", err)
		}
	}
	t := &TCP{cfg: cfg, ln: ln, peers: map[int32]*peer{}, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	t.ctx, t.stop = context.WithCancel(context.Background())
	for id, addr := range cfg.Peers {
		if id != cfg.Node {
			p := &peer{node: id, addr: addr, queue: make(chan frame, peerQueue)}
			t.peers[id] = p
			t.wg.Add(1)
			go t.write(p)
		}
	}
	if ln != nil {
		t.wg.Add(1)
		go t.accept()
	}
	return t, nil
}

// Addr is the address the transport listens on (nil with Frame).
func (t *TCP) Addr() net.Addr {
	if t.ln == nil {
		return nil
	}
	return t.ln.Addr()
}

// Deliver hands the node one message a peer sent, encoded (a frame's
// payload): the receiving side of a transport with Frame. Only a message
// that does not decode is an error; one the node is too busy to take is
// dropped (Raft resends what matters).
func (t *TCP) Deliver(data []byte) error {
	m := new(pb.Message)
	if err := proto.Unmarshal(data, m); err != nil {
		return fmt.Errorf("a Raft message that does not decode: %w", err)
	}
	if recv := t.receiver(); recv != nil {
		recv.Step(m)
	}
	return nil
}

// Attach implements Transport.
func (t *TCP) Attach(r Receiver) { t.recv.Store(&r) }

func (t *TCP) receiver() Receiver {
	if r := t.recv.Load(); r != nil {
		return *r
	}
	return nil
}

// Send implements Transport: each message is encoded now and queued for
// its peer's writer; a full queue drops it.
func (t *TCP) Send(msgs []*pb.Message) {
	for _, m := range msgs {
		to := NodeID(m.GetTo())
		p := t.peers[to]
		data, err := proto.Marshal(m)
		if err != nil {
			panic(fmt.Sprintf("quorum transport: encoding a %v: %v", m.GetType(), err))
		}
		f := frame{snap: m.GetType() == pb.MsgSnap}
		if t.cfg.Frame != nil {
			f.data = t.cfg.Frame(make([]byte, 0, 64+len(data)), data)
		} else {
			f.data = binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(data)), uint32(len(data)))
			f.data = append(f.data, data...)
		}
		if p != nil {
			select {
			case p.queue <- f:
				continue
			default:
			}
		}
		t.lost(to, f)
	}
}

// lost reports a frame that did not go.
func (t *TCP) lost(to int32, f frame) {
	if r := t.receiver(); r != nil {
		r.ReportUnreachable(to)
		if f.snap {
			r.ReportSnapshot(to, false)
		}
	}
}

// write is peer p's writer: it dials, writes what is queued, and redials
// after an error.
func (t *TCP) write(p *peer) {
	defer t.wg.Done()
	var (
		conn    net.Conn
		w       *bufio.Writer
		backoff = 50 * time.Millisecond
	)
	closeConn := func() {
		if conn != nil {
			t.untrack(conn)
			conn = nil
		}
	}
	defer closeConn()
	dialer := net.Dialer{Timeout: t.cfg.DialTimeout}
	for {
		var f frame
		select {
		case <-t.done:
			return
		case f = <-p.queue:
		}
		if conn == nil {
			c, err := dialer.DialContext(t.ctx, "tcp", p.addr)
			if err == nil && !t.track(c) {
				return
			}
			if err != nil {
				t.lost(p.node, f)
				if !t.sleep(backoff) {
					return
				}
				t.drain(p) // stale by now
				backoff = min(2*backoff, 2*time.Second)
				continue
			}
			conn, w, backoff = c, bufio.NewWriterSize(c, 64<<10), 50*time.Millisecond
			if t.cfg.Frame == nil {
				w.WriteString(tcpMagic)
			}
		}
		sent := []frame{f}
		w.Write(f.data)
		for more := true; more && len(sent) < 256; {
			select {
			case g := <-p.queue:
				w.Write(g.data)
				sent = append(sent, g)
			default:
				more = false
			}
		}
		conn.SetWriteDeadline(time.Now().Add(t.cfg.DialTimeout))
		if err := w.Flush(); err != nil {
			t.cfg.Logger.Debug("quorum transport: write failed; redialing", "peer", p.node, "err", err)
			closeConn()
			for _, g := range sent {
				t.lost(p.node, g)
			}
			continue
		}
		for _, g := range sent {
			if g.snap {
				if r := t.receiver(); r != nil {
					r.ReportSnapshot(p.node, true)
				}
			}
		}
	}
}

func (t *TCP) drain(p *peer) {
	for {
		select {
		case f := <-p.queue:
			t.lost(p.node, f)
		default:
			return
		}
	}
}

// sleep waits d unless the transport closes first (false).
func (t *TCP) sleep(d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-t.done:
		return false
	case <-tm.C:
		return true
	}
}

func (t *TCP) accept() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			select {
			case <-t.done:
				return
			default:
			}
			t.cfg.Logger.Warn("quorum transport: accept", "err", err)
			if !t.sleep(50 * time.Millisecond) {
				return
			}
			continue
		}
		if !t.track(c) {
			return
		}
		t.wg.Add(1)
		go t.read(c)
	}
}

// read hands the messages of one accepted connection to the node.
func (t *TCP) read(c net.Conn) {
	defer t.wg.Done()
	defer t.untrack(c)
	r := bufio.NewReaderSize(c, 64<<10)
	err := t.readFrames(r)
	select {
	case <-t.done:
	default:
		if !errors.Is(err, io.EOF) {
			t.cfg.Logger.Debug("quorum transport: connection closed", "remote", c.RemoteAddr(), "err", err)
		}
	}
}

func (t *TCP) readFrames(r *bufio.Reader) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	if string(hdr[:]) != tcpMagic {
		return fmt.Errorf("not a Raft connection (it opens with %q)", hdr[:])
	}
	var buf []byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if int64(n) > int64(t.cfg.MaxFrameBytes) {
			return fmt.Errorf("a frame of %d bytes, over %d", n, t.cfg.MaxFrameBytes)
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		if err := t.Deliver(buf); err != nil {
			return err
		}
	}
}

// track registers c for Close to close; false (c closed) once closing.
func (t *TCP) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.done:
		c.Close()
		return false
	default:
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *TCP) untrack(c net.Conn) {
	c.Close()
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// Close stops listening, closes every connection and waits for the
// transport's goroutines.
func (t *TCP) Close() error {
	t.once.Do(func() {
		t.mu.Lock()
		close(t.done)
		t.stop()
		for c := range t.conns {
			c.Close()
		}
		t.mu.Unlock()
		if t.ln != nil {
			t.ln.Close()
		}
	})
	t.wg.Wait()
	return nil
}
