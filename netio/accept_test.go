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
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestEMFILEChild$", "-test.v")
			cmd.Env = append(os.Environ(), "NETIO_EMFILE_CHILD="+bc.io)
			cmd.Stderr = os.Stderr
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			out := bufio.NewScanner(stdout)
			line := func() string {
				for out.Scan() {
					if l := out.Text(); strings.HasPrefix(l, "child ") {
						return strings.TrimPrefix(l, "child ")
					}
				}
				t.Fatalf("child ended: %v", out.Err())
				return ""
			}
			addr, err := net.ResolveTCPAddr("tcp", line())
			if err != nil {
				t.Fatal(err)
			}
			srv := addrServer{addr}
			const clients = 10
			var cs []*client
			for i := 0; i < clients; i++ {
				c := dial(t, srv)
				c.send(fmt.Sprint("echo:", i))
				cs = append(cs, c)
			}
			time.Sleep(1500 * time.Millisecond)
			fmt.Fprintln(stdin, "stats")
			var cpuMs, warns int
			if _, err := fmt.Sscanf(line(), "cpu_ms=%d warns=%d", &cpuMs, &warns); err != nil {
				t.Fatal(err)
			}
			t.Logf("while out of descriptors for 1.5 s: %d ms of CPU, %d warnings", cpuMs, warns)
			if cpuMs > 400 {
				t.Errorf("the server used %d ms of CPU in 1.5 s out of descriptors: it spins", cpuMs)
			}
			if warns < 1 || warns > 2 {
				t.Errorf("%d accept warnings in 1.5 s, want 1 (one per %v)", warns, acceptLogEvery)
			}
			fmt.Fprintln(stdin, "free")
			for i, c := range cs {
				c.expect([]byte(fmt.Sprint(i)))
			}
			fmt.Fprintln(stdin, "quit")
			if err := cmd.Wait(); err != nil {
				t.Fatalf("child: %v", err)
			}
		})
	}
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
	srv, err := Listen(cfg, &testHandler{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	lim := syscall.Rlimit{Cur: 256, Max: 256}
	var prev syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &prev)
	if prev.Max < lim.Max {
		lim.Max = prev.Max
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
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
