package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// weirBin is the binary under test, built once by TestMain.
var weirBin string

// Bounds that keep a broken broker from hanging the suite.
const (
	readyTimeout = 10 * time.Second
	stopTimeout  = 15 * time.Second // 10,000 partitions close in 3-4 s
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "weir-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	weirBin = filepath.Join(dir, "weir")
	// go test puts its own go first in PATH.
	build := exec.Command("go", "build", "-o", weirBin, ".")
	// giouring links only with -checklinkname=0 (see the Makefile).
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false -ldflags=-checklinkname=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build weir: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// backends runs f as a subtest per I/O backend.
func backends(t *testing.T, f func(t *testing.T, io string)) {
	for _, io := range []string{"std", "uring"} {
		t.Run(io, func(t *testing.T) { f(t, io) })
	}
}

// brokerOpts say how to start a broker process.
type brokerOpts struct {
	io     string
	logDir string   // "" makes a temporary one
	port   int      // 0 picks a free one
	args   []string // more serve flags
	wrap   []string // a command to run weir under (strace)
	env    []string // more environment variables, KEY=value
	host   string   // the address it listens on; "" is 127.0.0.1
}

// broker is a running `weir serve` process.
type broker struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	port   int
	logDir string
	stderr *syncBuffer
	done   chan struct{} // closed when the process has exited
	code   int           // exit code, once done
}

// smallDiskArgs keep a test broker's files small (a test's own args come
// after them and win): 8 MiB segments, 1 MiB indexes, 2 MiB reservation
// steps.
var smallDiskArgs = []string{"--log.segment.bytes=8388608", "--log.index.size.max.bytes=1048576",
	"--offsets.topic.segment.bytes=8388608", "--log.segment.preallocate.step.bytes=2097152"}

// startBroker starts weir serve on 127.0.0.1 and waits until it accepts
// connections. On a host without io_uring, --io=uring skips the test.
func startBroker(t *testing.T, o brokerOpts) *broker {
	t.Helper()
	if o.logDir == "" {
		o.logDir = t.TempDir()
	}
	if o.port == 0 {
		o.port = freePort(t)
	}
	if o.host == "" {
		o.host = "127.0.0.1"
	}
	b := &broker{t: t, port: o.port, addr: net.JoinHostPort(o.host, strconv.Itoa(o.port)), logDir: o.logDir,
		stderr: &syncBuffer{}, done: make(chan struct{})}
	args := append([]string{"serve", "--listeners=PLAINTEXT://" + b.addr, "--log.dirs=" + o.logDir,
		"--node.id=1", "--io=" + o.io, "--shards=2"}, smallDiskArgs...)
	args = append(args, o.args...)
	argv := append(append(append([]string{}, o.wrap...), weirBin), args...)
	b.cmd = exec.Command(argv[0], argv[1:]...)
	b.cmd.Stderr = b.stderr
	if len(o.env) > 0 {
		b.cmd.Env = append(os.Environ(), o.env...)
	}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		b.cmd.Wait()
		b.code = b.cmd.ProcessState.ExitCode()
		close(b.done)
	}()
	t.Cleanup(func() { b.stop() })
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-b.done:
			if strings.Contains(b.stderr.String(), "io_uring unavailable") {
				t.Skipf("io_uring unavailable here: %s", b.stderr)
			}
			t.Fatalf("weir exited with %d before serving:\n%s", b.code, b.stderr)
		default:
		}
		if strings.Contains(b.stderr.String(), "weir serving") {
			if c, err := net.DialTimeout("tcp", b.addr, time.Second); err == nil {
				c.Close()
				return b
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("weir not serving %s after %v:\n%s", b.addr, readyTimeout, b.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pid is weir's own process id: under a wrapper, the wrapper's child.
func (b *broker) pid() int {
	p := b.cmd.Process.Pid
	// A wrapper that execs weir in its place (ip netns exec) is weir.
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p)); b.cmd.Path == weirBin || exe == weirBin {
		return p
	}
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p, p))
		if f := strings.Fields(string(data)); len(f) > 0 {
			child, _ := strconv.Atoi(f[0])
			return child
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.t.Fatalf("no child of wrapper %d", p)
	return 0
}

// stop sends SIGTERM to weir and waits; past stopTimeout it takes a
// goroutine dump (SIGQUIT), kills the process and fails the test. It returns the exit code and how long the
// exit took.
func (b *broker) stop() (code int, took time.Duration) {
	select {
	case <-b.done:
		return b.code, 0
	default:
	}
	start := time.Now()
	syscall.Kill(b.pid(), syscall.SIGTERM)
	select {
	case <-b.done:
		return b.code, time.Since(start)
	case <-time.After(stopTimeout):
		// SIGQUIT makes the Go runtime print every goroutine, then exit.
		syscall.Kill(b.pid(), syscall.SIGQUIT)
		select {
		case <-b.done:
		case <-time.After(2 * time.Second):
			syscall.Kill(b.pid(), syscall.SIGKILL)
			b.cmd.Process.Kill()
			<-b.done
		}
		b.t.Errorf("weir ignored SIGTERM for %v; killed:\n%s", stopTimeout, b.stderr)
		return b.code, time.Since(start)
	}
}

// runWeir runs the binary to completion (bounded) and returns its exit
// code and stderr.
func runWeir(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, _, stderr := runBounded(t, readyTimeout, "", args...)
	return code, stderr
}

// runBounded runs weir with args and stdin and returns its exit code,
// stdout and stderr; past timeout it kills it and fails the test.
func runBounded(t *testing.T, timeout time.Duration, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(weirBin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("weir %q still running after %v:\nstdout: %s\nstderr: %s", args, timeout, out.String(), errb.String())
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// freePort picks a free port below the kernel's ephemeral range (32768+
// by default): tests restart brokers on the same port after SIGKILL, and a
// port from the ephemeral range can meanwhile become the local port of
// another test's client connection ("address already in use").
func freePort(t *testing.T) int {
	low, high := 20000, 32767
	if data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(data)); len(f) == 2 {
			if lo, err := strconv.Atoi(f[0]); err == nil && lo-1 < high {
				high = lo - 1
			}
		}
	}
	for i := 0; i < 200 && high > low; i++ {
		port := low + rand.IntN(high-low+1)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			ln.Close()
			return port
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// clusterIDOnDisk reads cluster.id from a log dir's meta.properties.
func clusterIDOnDisk(t *testing.T, logDir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(logDir, "meta.properties"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "cluster.id="); ok {
			return v
		}
	}
	t.Fatalf("no cluster.id in meta.properties:\n%s", data)
	return ""
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
