package engine

import (
	"errors"
	"net"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/netio"
)

// fakeServer is a netio.Server that listens nowhere.
type fakeServer struct {
	addr   net.Addr
	rt     netio.Runtime
	closed bool
}

func (s *fakeServer) Addr() net.Addr         { return s.addr }
func (s *fakeServer) Runtime() netio.Runtime { return s.rt }
func (s *fakeServer) Close() error           { s.closed = true; return nil }

type listenFunc = func(netio.Runtime, netio.ListenConfig, netio.Handler) (netio.Server, error)

func openWith(t *testing.T, listen listenFunc, kv ...string) (*Broker, error) {
	t.Helper()
	c := config.New(config.Kafka)
	for _, p := range append(append([]string{"node.id=1", "log.dirs=" + t.TempDir()}, smallLogs...), kv...) {
		k, v, _ := cut(p)
		if err := c.Set(k, v, config.SourceFlag); err != nil {
			t.Fatal(err)
		}
	}
	return Open(Options{Config: c, IO: "std", Shards: 3, Logger: discardLogger(), Listen: listen})
}

func TestStartListensOnEveryListener(t *testing.T) {
	var cfgs []netio.ListenConfig
	var servers []*fakeServer
	var runtimes []netio.Runtime
	listen := func(rt netio.Runtime, cfg netio.ListenConfig, h netio.Handler) (netio.Server, error) {
		cfgs = append(cfgs, cfg)
		runtimes = append(runtimes, rt)
		port := 40000 + len(cfgs)
		s := &fakeServer{addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}, rt: rt}
		servers = append(servers, s)
		return s, nil
	}
	b, err := openWith(t, listen, "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
		"controller.listener.names=CONTROLLER", "socket.request.max.bytes=4096")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	if len(cfgs) != 2 || cfgs[0].Addr != "127.0.0.1:0" || cfgs[0].MaxFrameBytes != 4096 {
		t.Fatalf("netio configs %+v", cfgs)
	}
	// Both listeners hand their connections to the broker's one runtime.
	if runtimes[0] != b.Runtime() || runtimes[1] != b.Runtime() ||
		b.Runtime().Backend() != netio.IOStd || b.Runtime().Shards() != 3 {
		t.Fatalf("listeners on runtimes %v and %v, broker's %v (%s, %d shards)",
			runtimes[0], runtimes[1], b.Runtime(), b.Runtime().Backend(), b.Runtime().Shards())
	}
	// Port 0 is advertised as the port bound.
	if got := b.Advertised("PLAINTEXT"); got != "127.0.0.1:40001" {
		t.Errorf("PLAINTEXT advertised as %s", got)
	}
	if got := b.Advertised("CONTROLLER"); got != "127.0.0.1:40002" {
		t.Errorf("CONTROLLER advertised as %s", got)
	}
	b.Close()
	if !servers[0].closed || !servers[1].closed {
		t.Errorf("servers not closed")
	}
}

func TestStartFailureClosesStarted(t *testing.T) {
	var started []*fakeServer
	listen := func(rt netio.Runtime, cfg netio.ListenConfig, h netio.Handler) (netio.Server, error) {
		if len(started) == 1 {
			return nil, errors.New("boom")
		}
		s := &fakeServer{addr: &net.TCPAddr{Port: 1}}
		started = append(started, s)
		return s, nil
	}
	b, err := openWith(t, listen, "listeners=A://127.0.0.1:0,B://127.0.0.1:0",
		"listener.security.protocol.map=A:PLAINTEXT,B:PLAINTEXT")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Start(); err == nil || !strings.Contains(err.Error(), "listener B://127.0.0.1:0: boom") {
		t.Fatalf("Start: %v", err)
	}
	if !started[0].closed {
		t.Errorf("listener A left open")
	}
}

// A port another process holds fails clearly, even though netio binds
// with SO_REUSEPORT.
func TestStartPortInUse(t *testing.T) {
	for _, reuseport := range []bool{false, true} {
		ln := listenTCP(t, reuseport)
		port := ln.Addr().(*net.TCPAddr).Port
		b, err := openWith(t, nil, "listeners=PLAINTEXT://127.0.0.1:"+itoa(int32(port)))
		if err != nil {
			t.Fatal(err)
		}
		err = b.Start()
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("reuseport %v: Start: %v, want EADDRINUSE", reuseport, err)
		}
		b.Close()
		ln.Close()
	}
}

func listenTCP(t *testing.T, reuseport bool) net.Listener {
	lc := net.ListenConfig{}
	if reuseport {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0xf /* SO_REUSEPORT */, 1)
			})
			return errors.Join(err, serr)
		}
	}
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// Two brokers can't share a log dir.
func TestLogDirLocked(t *testing.T) {
	dir := t.TempDir()
	open := func() (*Broker, error) {
		c := config.New(config.Kafka)
		c.Set("node.id", "1", config.SourceFlag)
		c.Set("log.dirs", dir, config.SourceFlag)
		return Open(Options{Config: c, Logger: discardLogger()})
	}
	b, err := open()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := open(); err == nil || !strings.Contains(err.Error(), "in use by another broker") {
		t.Fatalf("second Open: %v", err)
	}
	b.Close()
	b2, err := open()
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	if b2.ClusterID() != b.ClusterID() {
		t.Errorf("cluster id changed: %s -> %s", b.ClusterID(), b2.ClusterID())
	}
	b2.Close()
}

// config's --io choices are netio's backend names.
func TestIOBackendsMatchNetio(t *testing.T) {
	if want := []string{netio.IOAuto, netio.IOUring, netio.IOStd}; !slices.Equal(config.IOBackends, want) {
		t.Fatalf("config.IOBackends %q, netio %q", config.IOBackends, want)
	}
}
