package netio

import (
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"time"
)

// Backend names, as given to --io.
const (
	IOAuto  = "auto"
	IOUring = "uring"
	IOStd   = "std"
)

// DefaultMaxFrameBytes is Kafka's socket.request.max.bytes default (100 MiB).
const DefaultMaxFrameBytes = 100 * 1024 * 1024

// Config configures a Runtime (IO, Shards, FileSend, RecvBuffers,
// RecvBufferBytes, Logger) and, for the one-listener Listen, its listener
// (Addr, MaxFrameBytes).
type Config struct {
	// Addr is host:port; port 0 picks a free port (read it back with Server.Addr).
	Addr string
	// IO picks the backend: IOAuto (probe io_uring, fall back to std), IOUring, IOStd.
	IO string
	// Shards is the number of shard loops, or 0 for one per usable CPU.
	Shards int
	// MaxFrameBytes bounds one request frame; a bigger one closes its connection.
	MaxFrameBytes int
	// FileSend picks how file ranges leave on the uring backend:
	// FileSendSplice (default) or FileSendMmap.
	FileSend string
	// RecvBuffers and RecvBufferBytes size each uring shard's provided
	// receive buffers (RecvBuffers a power of two). Buffers go back to the
	// ring as soon as their bytes are framed, so the count needs to cover
	// the receives that complete in one loop turn, about one per busy
	// connection; a ring that runs dry costs a re-arm, never data.
	// Defaults: 1024 x 16 KiB.
	RecvBuffers     int
	RecvBufferBytes int
	// MaxQueuedBytes (Kafka's queued.max.request.bytes) bounds the bytes
	// of requests being received or held by handlers (KeepFrame), over
	// all connections: a frame that does not fit waits, and its
	// connection is not read meanwhile. <= 0: no bound.
	MaxQueuedBytes int64
	// Logger receives the backend's notices; nil means slog.Default().
	Logger *slog.Logger
}

// ListenConfig says where one listener of a Runtime listens.
type ListenConfig struct {
	// Addr is host:port; port 0 picks a free port (read it back with Server.Addr).
	Addr string
	// MaxFrameBytes bounds one request frame; a bigger one closes its
	// connection. 0 means DefaultMaxFrameBytes.
	MaxFrameBytes int
	// MaxIdle (Kafka's connections.max.idle.ms) closes a connection that
	// has no request being answered and has completed no request for that
	// long; bytes of a request still arriving do not count, so it also
	// bounds the time one request may take to arrive. 0: never.
	MaxIdle time.Duration
}

// Handler is what the broker plugs into the network layer.
type Handler interface {
	// ServeFrame is called, on the connection's shard, for every complete
	// request frame: the bytes after the 4-byte size prefix. frame is valid
	// only during the call. seq numbers the connection's requests from 0.
	//
	// The handler answers every request exactly once with c.Respond(seq, ...),
	// now or later, from any goroutine; responses leave in request order.
	// Returning an error closes the connection (a malformed request).
	ServeFrame(c Conn, seq uint64, frame []byte) error
	// ConnClosed is called once when a connection is gone.
	ConnClosed(c Conn)
}

// Conn is one client connection. Its methods are safe from any goroutine.
type Conn interface {
	ID() uint64
	Shard() int
	RemoteAddr() net.Addr
	// Respond queues the response to request seq. A Response with no parts
	// sends nothing (Kafka's acks=0 produce) but still keeps the order.
	Respond(seq uint64, resp Response)
	// Close closes the connection; queued responses are dropped (released).
	Close()
	// KeepFrame, called by ServeFrame (and only there), keeps the frame
	// being served valid past the call: the connection gathers its next
	// frame elsewhere, and release (call it exactly once) hands the memory
	// back. ok is false for frames that live in a shared receive buffer;
	// the handler then copies what it needs, as it would without this.
	KeepFrame() (release func(), ok bool)
}

// Response is what goes back for one request: parts sent back to back.
type Response struct {
	Parts []Part
	// Release, if set, is called exactly once when every byte has left or
	// the connection died: it returns pooled buffers and file references.
	Release func()
}

// Part is either bytes or a range of a File. The bytes must not change
// until Release is called.
type Part struct {
	Bytes []byte
	File  *File
	Off   int64
	Len   int64
}

// Runtime is a set of shard loops: the broker's, created once, before any
// listener. Listeners hand their connections to it (Listen); any goroutine
// posts work to a shard (Run, Sync, AfterFunc). A partition's owner shard
// does all its appends this way, so the data path needs no locks.
type Runtime interface {
	// Backend is IOUring or IOStd: what IOAuto chose.
	Backend() string
	Shards() int
	// Listen starts a listener whose connections live on this runtime's
	// shards; h serves their frames.
	Listen(cfg ListenConfig, h Handler) (Server, error)
	// Run runs fn on shard's loop goroutine, after what is queued there.
	// fn must not block. After Close, fn is dropped.
	Run(shard int, fn func())
	// AfterFunc runs fn on shard's loop once d has passed, unless the
	// timer is stopped first. fn must not block. On uring the loop itself
	// keeps the timers (one kernel timeout for the earliest).
	AfterFunc(shard int, d time.Duration, fn func()) Timer
	// Sync makes files durable on shard: fdatasync of every fd in fds (in
	// parallel), then fsync of dirFd unless it is -1, then done with the
	// first error. On uring the syncs go through the shard's ring, so the
	// syncs that several partitions ask for in one loop turn leave in one
	// submission (group commit). Callable from any goroutine; done runs on
	// the shard. The fds must stay open until done.
	Sync(shard int, fds []int, dirFd int, done func(error))
	// Stats counts what the runtime's connections were sent and its syncs.
	Stats() Stats
	// Close closes every listener still open and stops the loops, after
	// the work queued on them; Run, Sync and timers are dropped after it
	// (a dropped Sync is done with ErrClosed).
	Close() error
}

// Timer is a timer of Runtime.AfterFunc.
type Timer interface {
	// Stop prevents the timer from firing. It returns false when the timer
	// had fired already or was stopped (Stop does not wait for fn).
	Stop() bool
}

// Server is a running listener with its connections.
type Server interface {
	Addr() net.Addr
	// Runtime is the runtime whose shards the connections live on.
	Runtime() Runtime
	// Close stops accepting, closes the listener's connections and waits
	// until they are gone. A Server made by Listen also closes its runtime.
	Close() error
}

// Stats are a server's send counters. FileBytes went out by the file-send
// path (mmap SEND, splice or sendfile) without passing through a Go
// buffer; HeapBytes came from Go memory (framing and small responses).
type Stats struct {
	HeapBytes int64
	FileBytes int64
	Syncs     int64 // files and directories made durable through Sync
	// QueuedBytes are the request bytes reserved now (MaxQueuedBytes);
	// FrameMapped the memory mapped now for big request frames.
	QueuedBytes int64
	FrameMapped int64
}

// sendStats is embedded by both backends.
type sendStats struct {
	heap, file, syncs atomic.Int64
}

func (s *sendStats) count(r Response) {
	for _, p := range r.Parts {
		if p.File != nil {
			s.file.Add(p.Len)
		} else {
			s.heap.Add(int64(len(p.Bytes)))
		}
	}
}

func (s *sendStats) stats(m *frameMemory) Stats {
	return Stats{HeapBytes: s.heap.Load(), FileBytes: s.file.Load(), Syncs: s.syncs.Load(),
		QueuedBytes: m.reserved.Load(), FrameMapped: m.mapped.Load()}
}

func (s *sendStats) countSyncs(fds []int, dirFd int) {
	n := int64(len(fds))
	if dirFd >= 0 {
		n++
	}
	s.syncs.Add(n)
}

// ErrClosed answers a Sync posted to a server that is closing.
var ErrClosed = errors.New("netio: server closed")

// ErrFrameTooLarge is why a connection closed on a frame over MaxFrameBytes.
var ErrFrameTooLarge = errors.New("netio: frame larger than socket.request.max.bytes")

// ErrBadFrameSize is why a connection closed on a negative frame size.
var ErrBadFrameSize = errors.New("netio: negative frame size")

func (c *Config) withDefaults() Config {
	out := *c
	if out.IO == "" {
		out.IO = IOAuto
	}
	if out.MaxFrameBytes <= 0 {
		out.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if out.FileSend == "" {
		out.FileSend = FileSendSplice
	}
	if out.RecvBuffers <= 0 {
		out.RecvBuffers = 1024
	}
	if out.RecvBufferBytes <= 0 {
		out.RecvBufferBytes = 16 << 10
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	return out
}
