package netio

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestQueuedBytesMutes: with the request memory spent, a connection whose
// next frame does not fit is not read until memory is given back; then
// its frame is served whole, in order, and nothing is lost. Frames that
// arrive whole in one receive are served meanwhile.
func TestQueuedBytesMutes(t *testing.T) {
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			rt, err := NewRuntime(Config{IO: bc.io, FileSend: bc.fileSend, Shards: 2, MaxQueuedBytes: 3 << 20,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close()
			h := &testHandler{held: make(chan func(), 8)}
			srv, err := rt.Listen(ListenConfig{Addr: "127.0.0.1:0"}, h)
			if err != nil {
				t.Fatal(err)
			}
			const size = 2 << 20
			cmd := "hold:" + strings.Repeat("x", size-5)
			var cs []*client
			for i := 0; i < 3; i++ {
				c := dial(t, srv)
				go c.nc.Write(frame([]byte(cmd)))
				cs = append(cs, c)
			}
			var releases []func()
			take := func(what string) {
				t.Helper()
				select {
				case r := <-h.held:
					releases = append(releases, r)
				case <-time.After(5 * time.Second):
					t.Fatalf("%s was never served", what)
				}
			}
			take("the first frame")
			time.Sleep(300 * time.Millisecond)
			if n := h.frames.Load(); n != 1 {
				t.Fatalf("%d frames served with room for one", n)
			}
			if q := rt.Stats().QueuedBytes; q < size || q > size+size/2 {
				t.Fatalf("queued bytes %d with one %d-byte frame held", q, size)
			}
			// A small request on another connection still gets through.
			other := dial(t, srv)
			other.send("echo:hi")
			other.expect([]byte("hi"))

			releases[0]()
			take("the second frame")
			time.Sleep(100 * time.Millisecond)
			if n := h.frames.Load(); n != 3 { // two holds and the echo
				t.Fatalf("%d frames served after one release", n)
			}
			releases[1]()
			take("the third frame")
			releases[2]()
			for _, c := range cs {
				c.expect([]byte(strconv.Itoa(size)))
				c.send("echo:again") // read again after the mute
				c.expect([]byte("again"))
			}
			if q := rt.Stats().QueuedBytes; q != 0 {
				t.Fatalf("%d queued bytes after every frame was released", q)
			}
		})
	}
}

// TestFrameMemoryReturned runs a server in a child process, sends it
// eight 48 MiB requests at once and checks the child's memory: its peak
// stays near the request-memory bound (96 MiB), and once the requests are
// served it goes back to the system, not to a pool.
func TestFrameMemoryReturned(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 400 MiB")
	}
	if raceEnabled {
		t.Skip("the race detector's memory would count in the figures")
	}
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			child := startChild(t, "TestFrameMemoryChild", "NETIO_MEMORY_CHILD="+bc.io, 90*time.Second)
			stdin, line := child.stdin, child.line
			addr := child.addr()
			const size = 48 << 20
			payload := frame(append([]byte("len:"), make([]byte, size-4)...))
			var wg sync.WaitGroup
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := dial(t, addrServer{addr})
					defer c.nc.Close()
					if _, err := c.nc.Write(payload); err != nil {
						t.Error(err)
						return
					}
					got, err := c.recv()
					if err != nil || string(got) != strconv.Itoa(size) {
						t.Errorf("answer %q, %v", got, err)
					}
				}()
			}
			wg.Wait()
			time.Sleep(500 * time.Millisecond)
			fmt.Fprintln(stdin, "stats")
			var peak, now, queued, mapped int64
			if _, err := fmt.Sscanf(line(), "peak=%d rss=%d queued=%d mapped=%d", &peak, &now, &queued, &mapped); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(stdin, "quit")
			child.cmd.Wait()
			t.Logf("8 x 48 MiB requests: peak RSS %d MiB, after %d MiB (queued %d, mapped %d MiB)",
				peak>>20, now>>20, queued, mapped>>20)
			if peak > 260<<20 {
				t.Errorf("peak RSS %d MiB for 8 x 48 MiB requests with 96 MiB of request memory", peak>>20)
			}
			if now > 80<<20 || queued != 0 || mapped > cacheMaxBytes {
				t.Errorf("after the requests: RSS %d MiB, %d bytes queued, %d MiB mapped", now>>20, queued, mapped>>20)
			}
		})
	}
}

// TestFrameMemoryChild is the child of TestFrameMemoryReturned.
func TestFrameMemoryChild(t *testing.T) {
	backend := os.Getenv("NETIO_MEMORY_CHILD")
	if backend == "" {
		t.Skip("runs as TestFrameMemoryReturned's child")
	}
	cfg := Config{Addr: "127.0.0.1:0", IO: backend, Shards: 2, MaxQueuedBytes: 96 << 20, MaxFrameBytes: 64 << 20,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv, err := Listen(cfg, &testHandler{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	fmt.Printf("child %s\n", srv.Addr())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "stats":
			st := srv.Runtime().Stats()
			fmt.Printf("child peak=%d rss=%d queued=%d mapped=%d\n",
				procStatus("VmHWM"), procStatus("VmRSS"), st.QueuedBytes, st.FrameMapped)
		case "quit":
			return
		}
	}
}

// procStatus reads a kB field of /proc/self/status, in bytes.
func procStatus(field string) int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return -1
}
