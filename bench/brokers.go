package bench

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// brokerProc is a broker the benchmark started as a child process, so its
// CPU can be read from /proc apart from the clients'.
type brokerProc struct {
	Target
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan struct{}
}

// startWeir runs `weir serve` on a free 127.0.0.1 port with its data
// under dir, using the given I/O backend (uring or std).
func startWeir(name, bin, ioBackend, dir string) (*brokerProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	logDir := filepath.Join(dir, name)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	return startChild(name, addr, "weir serving", bin, "serve", "--listeners=PLAINTEXT://"+addr,
		"--log.dirs="+logDir, "--node.id=1", "--io="+ioBackend,
		// Segments of 128 MiB: runs write gigabytes, and they roll as a
		// busy broker's do.
		"--log.segment.bytes=134217728", "--log.index.size.max.bytes=1048576")
}

// startKfake runs franz-go's in-memory kfake cluster (one broker) in a
// child process: `weir bench kfake --port N`.
func startKfake(bin string) (*brokerProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	return startChild("kfake", addr, "kfake serving", bin, "bench", "kfake", "--port", strconv.Itoa(port))
}

func startChild(name, addr, ready, bin string, args ...string) (*brokerProc, error) {
	b := &brokerProc{Target: Target{Name: name, Bootstrap: []string{addr}}, stderr: &lockedBuffer{},
		exited: make(chan struct{})}
	b.cmd = exec.Command(bin, args...)
	b.cmd.Stderr = b.stderr
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the benchmark
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	b.PID = b.cmd.Process.Pid
	go func() { b.cmd.Wait(); close(b.exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-b.exited:
			return nil, fmt.Errorf("%s exited before serving:\n%s", name, b.stderr)
		default:
		}
		if strings.Contains(b.stderr.String(), ready) {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				return b, nil
			}
		}
		if time.Now().After(deadline) {
			b.stop()
			return nil, fmt.Errorf("%s not serving %s after 20s:\n%s", name, addr, b.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits; after 10 s it kills.
func (b *brokerProc) stop() { b.stopWithin(10 * time.Second) }

// stopWithin sends SIGTERM and waits; after bound it kills.
func (b *brokerProc) stopWithin(bound time.Duration) {
	select {
	case <-b.exited:
		return
	default:
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(bound):
		b.cmd.Process.Kill()
		<-b.exited
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// lockedBuffer is a bytes.Buffer a child's stderr can write to while the
// benchmark reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveKfake is `weir bench kfake --port N`: an in-memory kfake broker
// until SIGTERM or SIGINT. Run in its own process, its CPU is measured as
// a broker's.
func serveKfake(port int) error {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.AllowAutoTopicCreation())
	if err != nil {
		return err
	}
	defer c.Close()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	fmt.Fprintf(os.Stderr, "kfake serving %s\n", strings.Join(c.ListenAddrs(), ","))
	<-sigs
	return nil
}
