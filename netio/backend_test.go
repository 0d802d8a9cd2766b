package netio

import (
	"golang.org/x/sys/unix"

	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirmq/weir/ring"
)

// testHandler answers tiny commands, so one suite can drive both backends:
//
//	echo:DATA        respond DATA now
//	late:MS:DATA     respond DATA from another goroutine after MS ms
//	none             respond with no bytes (like acks=0)
//	sink:ANYTHING    respond with no bytes, untracked (benchmarks)
//	file:OFF:LEN     respond with that range of the handler's file
//	big:N            respond N bytes of a pattern
//	len:ANYTHING     respond the frame's length
//	hold:ANYTHING    keep the frame (KeepFrame), send its release to held, respond its length
//	bye              return an error: the connection closes
//
// Every response is size-prefixed, like a Kafka response.
type testHandler struct {
	file *File
	held chan func() // releases of frames kept by "hold"

	released atomic.Int64
	issued   atomic.Int64
	closed   atomic.Int64
	frames   atomic.Int64
}

func (h *testHandler) ServeFrame(c Conn, seq uint64, frame []byte) error {
	h.frames.Add(1)
	// Only what a command reads is copied out of the frame: big frames
	// must not cost the test its memory figures.
	cmdBytes, rest, _ := bytes.Cut(frame, []byte(":"))
	cmd := string(cmdBytes)
	arg := func() string { return string(rest) }
	switch cmd {
	case "echo":
		c.Respond(seq, h.bytes(bytes.Clone(rest)))
	case "late":
		ms, data, _ := strings.Cut(arg(), ":")
		d, _ := strconv.Atoi(ms)
		resp := h.bytes([]byte(data))
		go func() {
			time.Sleep(time.Duration(d) * time.Millisecond)
			c.Respond(seq, resp)
		}()
	case "none":
		c.Respond(seq, h.track(Response{}))
	case "sink":
		c.Respond(seq, Response{})
	case "file":
		o, l, _ := strings.Cut(arg(), ":")
		off, _ := strconv.ParseInt(o, 10, 64)
		n, _ := strconv.ParseInt(l, 10, 64)
		h.file.Acquire()
		prefix := binary.BigEndian.AppendUint32(nil, uint32(n))
		r := Response{Parts: []Part{{Bytes: prefix}, {File: h.file, Off: off, Len: n}}, Release: h.file.Release}
		c.Respond(seq, h.track(r))
	case "big":
		n, _ := strconv.Atoi(arg())
		c.Respond(seq, h.bytes(pattern(n)))
	case "len":
		c.Respond(seq, h.bytes([]byte(strconv.Itoa(len(frame)))))
	case "hold":
		// Keep the frame (its request memory stays reserved) until the
		// test takes the release from held and calls it.
		release, ok := c.KeepFrame()
		if !ok {
			return errors.New("hold: frame not keepable")
		}
		h.held <- release
		c.Respond(seq, h.bytes([]byte(strconv.Itoa(len(frame)))))
	case "bye":
		return errors.New("bye")
	default:
		return fmt.Errorf("unknown command %q", cmd)
	}
	return nil
}

func (h *testHandler) ConnClosed(Conn) { h.closed.Add(1) }

func (h *testHandler) bytes(b []byte) Response {
	prefix := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
	return h.track(Response{Parts: []Part{{Bytes: prefix}, {Bytes: b}}})
}

// track counts the response and wraps its Release so the test can check
// every response is released exactly once.
func (h *testHandler) track(r Response) Response {
	h.issued.Add(1)
	inner := r.Release
	var once atomic.Bool
	r.Release = func() {
		if !once.CompareAndSwap(false, true) {
			panic("response released twice")
		}
		h.released.Add(1)
		if inner != nil {
			inner()
		}
	}
	return r
}

// pattern is n bytes in which no two 64 KiB-aligned blocks of the first
// 4 GiB are alike, so that a range sent from a wrong offset shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8 + i>>16*13 + i>>24*29)
	}
	return b
}

type backendCase struct {
	name     string
	io       string
	fileSend string
}

func backends(t testing.TB) []backendCase {
	cases := []backendCase{{"std", IOStd, ""}}
	if _, err := ring.Probe(); err != nil {
		t.Logf("io_uring unavailable, testing std only: %v", err)
		return cases
	}
	return append(cases,
		backendCase{"uring-mmap", IOUring, FileSendMmap},
		backendCase{"uring-splice", IOUring, FileSendSplice})
}

func startServer(t testing.TB, bc backendCase, h *testHandler, mut func(*Config)) Server {
	t.Helper()
	cfg := Config{Addr: "127.0.0.1:0", IO: bc.io, FileSend: bc.fileSend, Shards: 2,
		MaxFrameBytes: 4 << 20, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mut != nil {
		mut(&cfg)
	}
	srv, err := Listen(cfg, h)
	if err != nil {
		t.Fatalf("listen %s: %v", bc.name, err)
	}
	if srv.Runtime().Backend() != bc.io {
		t.Fatalf("backend %s, want %s", srv.Runtime().Backend(), bc.io)
	}
	return srv
}

// stopServer closes the server and checks nothing leaked: every
// connection reported closed and every response released.
func stopServer(t testing.TB, srv Server, h *testHandler, conns int64) {
	t.Helper()
	if err := srv.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.released.Load() != h.issued.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // late responses still in their goroutines
	}
	if got, want := h.released.Load(), h.issued.Load(); got != want {
		t.Errorf("released %d responses of %d", got, want)
	}
	if conns >= 0 && h.closed.Load() != conns {
		t.Errorf("ConnClosed called %d times, want %d", h.closed.Load(), conns)
	}
}

type client struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dial(t testing.TB, srv Server) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", srv.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, br: bufio.NewReaderSize(nc, 64<<10)}
}

func (c *client) send(cmd string) {
	c.t.Helper()
	if _, err := c.nc.Write(frame([]byte(cmd))); err != nil {
		c.t.Fatalf("send %q: %v", cmd, err)
	}
}

func (c *client) recv() ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	_, err := io.ReadFull(c.br, b)
	return b, err
}

func (c *client) expect(want []byte) {
	c.t.Helper()
	got, err := c.recv()
	if err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	if !bytes.Equal(got, want) {
		c.t.Fatalf("got %d bytes %.40q, want %d bytes %.40q", len(got), got, len(want), want)
	}
}

// expectClosed checks the server closed the connection.
func (c *client) expectClosed() {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := c.recv(); err == nil {
		c.t.Fatalf("connection still open, got %q", b)
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		c.t.Fatal("connection not closed within 5s")
	}
}

func TestBackends(t *testing.T) {
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			t.Run("PipelinedInOrder", func(t *testing.T) { testPipelinedInOrder(t, bc) })
			t.Run("LargeFramesAndResponses", func(t *testing.T) { testLarge(t, bc) })
			t.Run("LargeFramesInPieces", func(t *testing.T) { testLargeInPieces(t, bc) })
			t.Run("FileRanges", func(t *testing.T) { testFileRanges(t, bc) })
			t.Run("FileRangesFromDisk", func(t *testing.T) { testFileRangesFromDisk(t, bc) })
			t.Run("BadFramesCloseOnlyTheirConnection", func(t *testing.T) { testBadFrames(t, bc) })
			t.Run("ManyConnections", func(t *testing.T) { testManyConns(t, bc) })
			t.Run("CloseWithResponsesPending", func(t *testing.T) { testClosePending(t, bc) })
		})
	}
}

func testPipelinedInOrder(t *testing.T, bc backendCase) {
	h := &testHandler{}
	srv := startServer(t, bc, h, nil)
	const conns, reqs = 4, 300
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		c := dial(t, srv)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(i)))
			var want [][]byte
			var out bytes.Buffer
			for j := 0; j < reqs; j++ {
				data := fmt.Sprintf("c%d-r%d", i, j)
				switch rng.Intn(4) {
				case 0:
					out.Write(frame([]byte("late:" + strconv.Itoa(rng.Intn(3)) + ":" + data)))
				case 1:
					out.Write(frame([]byte("none")))
					continue
				default:
					out.Write(frame([]byte("echo:" + data)))
				}
				want = append(want, []byte(data))
			}
			// One write for all requests: the server sees them split at
			// arbitrary points and must keep answers in request order.
			if _, err := c.nc.Write(out.Bytes()); err != nil {
				t.Error(err)
				return
			}
			for _, w := range want {
				got, err := c.recv()
				if err != nil || !bytes.Equal(got, w) {
					t.Errorf("conn %d: got %q (%v), want %q", i, got, err, w)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	stopServer(t, srv, h, conns)
}

func testLarge(t *testing.T, bc backendCase) {
	h := &testHandler{}
	srv := startServer(t, bc, h, nil)
	c := dial(t, srv)
	big := strings.Repeat("x", 3<<20)
	c.send("echo:" + big)
	c.expect([]byte(big))
	c.send("big:" + strconv.Itoa(16<<20)) // many times the socket buffer
	c.send("echo:after")
	c.expect(pattern(16 << 20))
	c.expect([]byte("after"))
	stopServer(t, srv, h, 1)
}

// testLargeInPieces pipelines frames of every size, large ones (received
// straight into the frame) between small ones, written in pieces cut at
// random points, on several connections at once; every echo must come
// back whole and in order.
func testLargeInPieces(t *testing.T, bc backendCase) {
	h := &testHandler{}
	srv := startServer(t, bc, h, nil)
	const conns, frames = 6, 12
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		c := dial(t, srv)
		rng := rand.New(rand.NewSource(int64(i)))
		var stream []byte
		var want [][]byte
		for f := 0; f < frames; f++ {
			size := rng.Intn(100)
			if f%2 == 1 {
				size = 60<<10 + rng.Intn(1500<<10)
			}
			body := make([]byte, size)
			rng.Read(body)
			want = append(want, body)
			stream = append(stream, frame(append([]byte("echo:"), body...))...)
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			for len(stream) > 0 {
				n := min(1+rng.Intn(200<<10), len(stream))
				if _, err := c.nc.Write(stream[:n]); err != nil {
					t.Errorf("write: %v", err)
					return
				}
				stream = stream[n:]
				if rng.Intn(4) == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
		go func(i int) {
			defer wg.Done()
			for f, w := range want {
				got, err := c.recv()
				if err != nil || !bytes.Equal(got, w) {
					t.Errorf("conn %d frame %d: got %d bytes (%v), want %d", i, f, len(got), err, len(w))
					return
				}
			}
		}(i)
	}
	wg.Wait()
	stopServer(t, srv, h, conns)
}

// segmentFile writes content to a file in a test dir and opens it.
func segmentFile(t *testing.T, content []byte) *File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "00000000000000000000.log")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func testFileRanges(t *testing.T, bc backendCase) {
	content := pattern(3<<20 + 123)
	f := segmentFile(t, content)
	h := &testHandler{file: f}
	srv := startServer(t, bc, h, nil)
	c := dial(t, srv)
	ranges := [][2]int{{0, 10}, {5, len(content) - 5}, {1 << 20, 1}, {len(content) - 100, 100}}
	for _, r := range ranges {
		c.send(fmt.Sprintf("file:%d:%d", r[0], r[1]))
		c.send("echo:between")
	}
	for _, r := range ranges {
		c.expect(content[r[0] : r[0]+r[1]])
		c.expect([]byte("between"))
	}
	stopServer(t, srv, h, 1)
	// Every send released its reference: dropping ours closes the file.
	f.Release()
	if err := f.f.Close(); err == nil {
		t.Fatal("file still open after the last reference was released")
	}
}

// testFileRangesFromDisk sends file ranges whose pages were dropped from
// the page cache first (the splice path reads those in io-wq, not on the
// loop), more of them than the socket buffers hold before the client
// reads (the loop's sends then find the socket full and wait for room).
func testFileRangesFromDisk(t *testing.T, bc backendCase) {
	content := pattern(24 << 20)
	f := segmentFile(t, content)
	if err := f.f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(f.Fd(), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	if cached(f.Fd(), 0, int64(len(content))) {
		t.Log("the page cache kept the file; the ranges are sent from memory")
	}
	h := &testHandler{file: f}
	srv := startServer(t, bc, h, nil)
	c := dial(t, srv)
	ranges := [][2]int{{0, 8 << 20}, {3, 5<<20 + 7}, {12 << 20, 12 << 20}, {1 << 20, 4096}}
	for _, r := range ranges {
		c.send(fmt.Sprintf("file:%d:%d", r[0], r[1]))
	}
	for _, r := range ranges {
		c.expect(content[r[0] : r[0]+r[1]])
	}
	stopServer(t, srv, h, 1)
	f.Release()
}

func testBadFrames(t *testing.T, bc backendCase) {
	h := &testHandler{}
	srv := startServer(t, bc, h, func(c *Config) { c.MaxFrameBytes = 1024 })
	good := dial(t, srv)
	good.send("echo:one")
	good.expect([]byte("one"))

	oversize := dial(t, srv)
	oversize.send("echo:fine")
	oversize.expect([]byte("fine"))
	if _, err := oversize.nc.Write(binary.BigEndian.AppendUint32(nil, 1025)); err != nil {
		t.Fatal(err)
	}
	oversize.expectClosed()

	negative := dial(t, srv)
	if _, err := negative.nc.Write([]byte{0x80, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	negative.expectClosed()

	rejected := dial(t, srv)
	rejected.send("bye")
	rejected.expectClosed()

	good.send("echo:two")
	good.expect([]byte("two"))
	stopServer(t, srv, h, 4)
}

func testManyConns(t *testing.T, bc backendCase) {
	h := &testHandler{}
	srv := startServer(t, bc, h, nil)
	const n = 200
	cs := make([]*client, n)
	for i := range cs {
		cs[i] = dial(t, srv)
		cs[i].send("echo:" + strconv.Itoa(i))
	}
	for i, c := range cs {
		c.expect([]byte(strconv.Itoa(i)))
	}
	for _, c := range cs[:n/2] {
		c.nc.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.closed.Load() < n/2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := h.closed.Load(); got != n/2 {
		t.Fatalf("%d connections reported closed after clients left, want %d", got, n/2)
	}
	stopServer(t, srv, h, n)
}

func testClosePending(t *testing.T, bc backendCase) {
	h := &testHandler{}
	srv := startServer(t, bc, h, nil)
	c := dial(t, srv)
	c.send("late:200:never-read")
	c.send("echo:blocked-behind-late")
	c.nc.Close()
	time.Sleep(50 * time.Millisecond)
	// The late response arrives after the connection is gone: it must be
	// released, not sent and not leaked.
	stopServer(t, srv, h, 1)
}

func TestListenRejectsUnknownBackend(t *testing.T) {
	_, err := Listen(Config{Addr: "127.0.0.1:0", IO: "epoll"}, &testHandler{})
	if err == nil || !strings.Contains(err.Error(), "epoll") {
		t.Fatalf("err %v, want one naming the backend", err)
	}
}
