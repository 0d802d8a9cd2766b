package netio

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestAcceptBackoffOnEMFILE runs a server in a child process whose
// descriptors are used up, connects clients it cannot accept, and checks
// that the child neither spins (CPU) nor floods its log while it waits,
// and serves every client once descriptors are free again.
func TestAcceptBackoffOnEMFILE(t *testing.T) {
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			child := startChild(t, "TestEMFILEChild", "NETIO_EMFILE_CHILD="+bc.io, 60*time.Second)
			stdin, line := child.stdin, child.line
			addr := child.addr()
			srv := addrServer{addr}
			const clients = 10
			var cs []*client
			for i := 0; i < clients; i++ {
				c := dial(t, srv)
				c.send(fmt.Sprint("echo:", i))
				cs = append(cs, c)
			}
			stats := func() (cpuMs, warns int) {
				fmt.Fprintln(stdin, "stats")
				if _, err := fmt.Sscanf(line(), "cpu_ms=%d warns=%d", &cpuMs, &warns); err != nil {
					t.Fatal(err)
				}
				return cpuMs, warns
			}
			// The first failed accept is logged at once; a loaded machine
			// (the race detector, other tests) may take a while to get
			// there, so the measured window starts with it.
			cpu0, warns := stats()
			for deadline := time.Now().Add(15 * time.Second); warns < 1; cpu0, warns = stats() {
				if time.Now().After(deadline) {
					t.Fatalf("no accept warning 15 s after %d clients connected to a server out of descriptors", clients)
				}
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(1500 * time.Millisecond)
			cpu1, warns1 := stats()
			cpuMs := cpu1 - cpu0
			t.Logf("while out of descriptors for 1.5 s: %d ms of CPU, %d warnings", cpuMs, warns1)
			if cpuMs > 400 {
				t.Errorf("the server used %d ms of CPU in 1.5 s out of descriptors: it spins", cpuMs)
			}
			if warns1 > 2 {
				t.Errorf("%d accept warnings in 1.5 s, want 1 (one per %v)", warns1, acceptLogEvery)
			}
			fmt.Fprintln(stdin, "free")
			for i, c := range cs {
				c.expect([]byte(fmt.Sprint(i)))
			}
			fmt.Fprintln(stdin, "quit")
			if err := child.cmd.Wait(); err != nil {
				t.Fatalf("child: %v", err)
			}
		})
	}
}

// child is a test process this test binary started to run one test
// function as a server (see startChild).
type child struct {
	cmd   *exec.Cmd
	stdin io.Writer
	out   *bufio.Scanner
	t     *testing.T
}

// startChild runs test function name of this binary in a child process,
// with env added and bounded by within; the child prints its lines to the
// parent prefixed "child " and reads commands from stdin.
func startChild(t *testing.T, name, env string, within time.Duration) *child {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+name+"$", "-test.v")
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return &child{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout), t: t}
}

// line is the child's next line for the parent.
func (c *child) line() string {
	for c.out.Scan() {
		if l := c.out.Text(); strings.HasPrefix(l, "child ") {
			return strings.TrimPrefix(l, "child ")
		}
	}
	c.t.Fatalf("child ended: %v", c.out.Err())
	return ""
}

// addr reads the address the child serves, its first line.
func (c *child) addr() net.Addr {
	a, err := net.ResolveTCPAddr("tcp", c.line())
	if err != nil {
		c.t.Fatal(err)
	}
	return a
}

// addrServer is a Server that only knows its address, for dial.
type addrServer struct{ addr net.Addr }

func (a addrServer) Addr() net.Addr   { return a.addr }
func (a addrServer) Runtime() Runtime { return nil }
func (a addrServer) Close() error     { return nil }

// TestEMFILEChild is the child of TestAcceptBackoffOnEMFILE.
func TestEMFILEChild(t *testing.T) {
	backend := os.Getenv("NETIO_EMFILE_CHILD")
	if backend == "" {
		t.Skip("runs as TestAcceptBackoffOnEMFILE's child")
	}
	warns := &lineCounter{match: "accept failed"}
	cfg := Config{Addr: "127.0.0.1:0", IO: backend, Shards: 2,
		Logger: slog.New(slog.NewTextHandler(warns, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	// The limit first: io_uring's workers, which may run an accept for
	// the ring, are made with the rings and keep the limit they saw.
	lim := syscall.Rlimit{Cur: 256, Max: 256}
	var prev syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &prev)
	if prev.Max < lim.Max {
		lim.Max = prev.Max
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	srv, err := Listen(cfg, &testHandler{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var reserve []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		reserve = append(reserve, f)
	}
	fmt.Printf("child %s\n", srv.Addr())
	start := cpuTime()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "stats":
			fmt.Printf("child cpu_ms=%d warns=%d\n", (cpuTime() - start).Milliseconds(), warns.count())
		case "free":
			for _, f := range reserve {
				f.Close()
			}
			reserve = nil
		case "quit":
			return
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// lineCounter counts the log lines that contain match.
type lineCounter struct {
	match string
	mu    sync.Mutex
	n     int
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.n += bytes.Count(p, []byte(c.match))
	c.mu.Unlock()
	return len(p), nil
}

func (c *lineCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

var _ io.Writer = (*lineCounter)(nil)
