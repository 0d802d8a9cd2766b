package netio

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// listenGroup makes n listeners on one port of host (port 0 for the first,
// then that port), closed at cleanup.
func listenGroup(t *testing.T, host string, n int) (fds []int, addr *net.TCPAddr) {
	t.Helper()
	port := 0
	for i := 0; i < n; i++ {
		fd, err := listenReusePort(net.JoinHostPort(host, fmt.Sprint(port)))
		if err != nil {
			t.Fatalf("listener %d of %d: %v", i, n, err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		if i == 0 {
			if addr, err = boundAddr(fd); err != nil {
				t.Fatal(err)
			}
			port = addr.Port
		}
		fds = append(fds, fd)
	}
	return fds, addr
}

// currentCPU is sched_getcpu(3): the CPU the calling thread runs on now.
func currentCPU() int {
	var cpu uint32
	if _, _, e := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0); e != 0 {
		return -1
	}
	return int(cpu)
}

// testDialer opens connections and keeps them open until closed, so the
// server side can be drained first.
type testDialer struct {
	mu  sync.Mutex
	fds []int
}

func (d *testDialer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, fd := range d.fds {
		unix.Close(fd)
	}
	d.fds = nil
}

// dial opens count blocking connections to to and returns their local
// ports. With cpu >= 0 it runs on a fresh OS thread pinned to cpu; that
// thread exits with the goroutine (it stays locked) so no pinned thread
// returns to the runtime's pool.
func (d *testDialer) dial(to *net.TCPAddr, cpu, count int) ([]int, error) {
	type result struct {
		ports []int
		err   error
	}
	ch := make(chan result, 1)
	go func() {
		var r result
		defer func() { ch <- r }()
		if cpu >= 0 {
			runtime.LockOSThread() // never unlocked: the thread dies with us
			if r.err = pinToCPU(cpu); r.err != nil {
				return
			}
		}
		family, sa := unix.AF_INET, unix.Sockaddr(nil)
		if ip4 := to.IP.To4(); ip4 != nil {
			s := &unix.SockaddrInet4{Port: to.Port}
			copy(s.Addr[:], ip4)
			sa = s
		} else {
			s := &unix.SockaddrInet6{Port: to.Port}
			copy(s.Addr[:], to.IP.To16())
			family, sa = unix.AF_INET6, s
		}
		for i := 0; i < count; i++ {
			if cpu >= 0 {
				if got := currentCPU(); got != cpu {
					r.err = fmt.Errorf("pinned to CPU %d but running on %d", cpu, got)
					return
				}
			}
			fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				r.err = err
				return
			}
			d.mu.Lock()
			d.fds = append(d.fds, fd)
			d.mu.Unlock()
			// Close with RST: no TIME_WAIT pile-up across test runs.
			_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
			if err := unix.Connect(fd, sa); err != nil {
				r.err = fmt.Errorf("connect %v: %w", to, err)
				return
			}
			local, err := unix.Getsockname(fd)
			if err != nil {
				r.err = err
				return
			}
			r.ports = append(r.ports, sockaddrPort(local))
		}
	}()
	r := <-ch
	return r.ports, r.err
}

func sockaddrPort(sa unix.Sockaddr) int {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return sa.Port
	case *unix.SockaddrInet6:
		return sa.Port
	}
	return -1
}

// acceptPending accepts want connections across the listeners fds and returns,
// per listener, the peer (client) ports it accepted. The listeners are
// blocking, so it polls before each accept.
func acceptPending(t *testing.T, fds []int, want int) [][]int {
	t.Helper()
	got := make([][]int, len(fds))
	pfds := make([]unix.PollFd, len(fds))
	for i, fd := range fds {
		pfds[i] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	}
	n := 0
	deadline := time.Now().Add(5 * time.Second)
	for n < want {
		if time.Now().After(deadline) {
			t.Fatalf("accepted %d of %d connections", n, want)
		}
		if _, err := unix.Poll(pfds, 100); err != nil && !errors.Is(err, unix.EINTR) {
			t.Fatal(err)
		}
		for i := range pfds {
			if pfds[i].Revents&unix.POLLIN == 0 {
				continue
			}
			cfd, peer, err := unix.Accept4(fds[i], unix.SOCK_CLOEXEC)
			if err != nil {
				t.Fatalf("accept on listener %d: %v", i, err)
			}
			unix.Close(cfd)
			got[i] = append(got[i], sockaddrPort(peer))
			n++
		}
	}
	return got
}

func TestListenReusePortGroupAllAccept(t *testing.T) {
	const n, conns = 4, 200
	fds, addr := listenGroup(t, "127.0.0.1", n)
	if addr.Port == 0 {
		t.Fatal("port 0 was not replaced by a bound port")
	}
	var d testDialer
	defer d.close()
	if _, err := d.dial(addr, -1, conns); err != nil {
		t.Fatal(err)
	}
	got := acceptPending(t, fds, conns)
	for i, ports := range got {
		t.Logf("listener %d accepted %d of %d", i, len(ports), conns)
		// The hash over 4-tuples leaves one of 4 listeners empty with
		// probability ~4*(3/4)^200, i.e. never.
		if len(ports) == 0 {
			t.Errorf("listener %d of the group accepted nothing", i)
		}
	}
}

func TestListenSocketShape(t *testing.T) {
	fd, err := listenReusePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_NONBLOCK != 0 {
		t.Errorf("listener should be blocking for io_uring: flags %#x, %v", fl, err)
	}
	if fdfl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || fdfl&unix.FD_CLOEXEC == 0 {
		t.Errorf("listener should be close-on-exec: %#x, %v", fdfl, err)
	}
	// Plain TCP, not MPTCP (whose accepted sockets fail SEND_ZC).
	if p, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PROTOCOL); err != nil || p != unix.IPPROTO_TCP {
		t.Errorf("SO_PROTOCOL = %d, %v; want IPPROTO_TCP", p, err)
	}
	for _, o := range []struct {
		opt  int
		name string
	}{{unix.SO_REUSEADDR, "SO_REUSEADDR"}, {unix.SO_REUSEPORT, "SO_REUSEPORT"}, {unix.SO_ACCEPTCONN, "SO_ACCEPTCONN"}} {
		if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, o.opt); err != nil || v != 1 {
			t.Errorf("%s = %d, %v; want 1", o.name, v, err)
		}
	}
	a, err := boundAddr(fd)
	if err != nil || !a.IP.Equal(net.IPv4(127, 0, 0, 1)) || a.Port == 0 {
		t.Errorf("boundAddr = %v, %v", a, err)
	}
}

func TestListenIPv6AndDualStack(t *testing.T) {
	if fd, err := listenReusePort("[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	} else {
		a, err := boundAddr(fd)
		unix.Close(fd)
		if err != nil || !a.IP.Equal(net.IPv6loopback) || a.Port == 0 {
			t.Fatalf("boundAddr = %v, %v", a, err)
		}
	}
	for _, host := range []string{"::1", ""} {
		fds, addr := listenGroup(t, host, 2)
		var d testDialer
		want := 0
		targets := []net.IP{net.IPv6loopback}
		if host == "" { // wildcard: dual-stack, IPv4 lands here too
			targets = append(targets, net.IPv4(127, 0, 0, 1))
		}
		for _, ip := range targets {
			if _, err := d.dial(&net.TCPAddr{IP: ip, Port: addr.Port}, -1, 20); err != nil {
				t.Fatalf("host %q, dial %v: %v", host, ip, err)
			}
			want += 20
		}
		acceptPending(t, fds, want)
		d.close()
	}
}

func TestListenAddrInUseWithoutReusePort(t *testing.T) {
	// A socket without SO_REUSEPORT holds the port: joining must fail.
	plain, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(plain)
	if err := unix.Bind(plain, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(plain, 16); err != nil {
		t.Fatal(err)
	}
	a, err := boundAddr(plain)
	if err != nil {
		t.Fatal(err)
	}
	before := openFDs(t)
	for i := 0; i < 10; i++ {
		if fd, err := listenReusePort(a.String()); err == nil {
			unix.Close(fd)
			t.Fatalf("listenReusePort(%v) joined a port held without SO_REUSEPORT", a)
		} else if !errors.Is(err, unix.EADDRINUSE) {
			t.Fatalf("want EADDRINUSE, got %v", err)
		}
	}
	if after := openFDs(t); after != before {
		t.Errorf("failed listens leaked sockets: %d fds open before, %d after", before, after)
	}

	// And the other way round: a reuseport group admits no plain socket.
	fd, err := listenReusePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	ga, _ := boundAddr(fd)
	other, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(other)
	if err := unix.Bind(other, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: ga.Port}); !errors.Is(err, unix.EADDRINUSE) {
		t.Fatalf("plain bind onto a reuseport group's port: want EADDRINUSE, got %v", err)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestListenBadAddress(t *testing.T) {
	for _, addr := range []string{"nonsense", "127.0.0.1:99999", "[::1"} {
		if fd, err := listenReusePort(addr); err == nil {
			unix.Close(fd)
			t.Errorf("listenReusePort(%q) succeeded", addr)
		}
	}
}

func TestListenPinToCPU(t *testing.T) {
	cpus := usableCPUs()
	if len(cpus) == 0 {
		t.Fatal("usableCPUs is empty")
	}
	if len(cpus) != runtime.NumCPU() {
		t.Errorf("usableCPUs = %v but runtime.NumCPU() = %d", cpus, runtime.NumCPU())
	}
	for _, cpu := range cpus {
		errc := make(chan error, 1)
		go func() {
			runtime.LockOSThread() // the pinned thread exits with this goroutine
			if err := pinToCPU(cpu); err != nil {
				errc <- err
				return
			}
			var set unix.CPUSet
			if err := unix.SchedGetaffinity(0, &set); err != nil {
				errc <- err
				return
			}
			if set.Count() != 1 || !set.IsSet(cpu) || currentCPU() != cpu {
				errc <- fmt.Errorf("pinned to %d: mask count %d, running on %d", cpu, set.Count(), currentCPU())
				return
			}
			errc <- nil
		}()
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	// Pinning threads must not narrow what usableCPUs reports.
	if got := usableCPUs(); len(got) != len(cpus) {
		t.Errorf("usableCPUs after pinning = %v, before %v", got, cpus)
	}
	if err := pinToCPU(-1); err == nil {
		// CPUSet.Set ignores out-of-range ids, leaving an empty mask.
		t.Error("pinToCPU(-1) succeeded")
	}
}
