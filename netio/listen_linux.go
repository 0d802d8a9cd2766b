package netio

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// listenBacklog is the accept queue we ask for; the kernel clamps it to
// net.core.somaxconn, so a larger somaxconn is used when set.
const listenBacklog = 4096

// listenReusePort returns a blocking TCP listening socket bound to addr
// with SO_REUSEADDR and SO_REUSEPORT, so that listeners on one port form a
// reuseport group. It uses socket(2) because Go's net.Listen makes MPTCP
// listeners whose accepted sockets fail SEND_ZC. The socket stays blocking:
// io_uring accepts on it. A host of "" or "::" makes a dual-stack socket.
func listenReusePort(addr string) (fd int, err error) {
	sa, family, dual, err := listenSockaddr(addr)
	if err != nil {
		return -1, err
	}
	s, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil && family == unix.AF_INET6 && dual && err == unix.EAFNOSUPPORT {
		// No IPv6 on this host: serve the wildcard over IPv4 only.
		family, sa = unix.AF_INET, &unix.SockaddrInet4{Port: sa.(*unix.SockaddrInet6).Port}
		dual = false
		s, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	}
	if err != nil {
		return -1, fmt.Errorf("netio: socket for %s: %w", addr, err)
	}
	defer func() {
		if err != nil {
			unix.Close(s)
		}
	}()
	if err = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return -1, fmt.Errorf("netio: SO_REUSEADDR on %s: %w", addr, err)
	}
	if err = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return -1, fmt.Errorf("netio: SO_REUSEPORT on %s: %w", addr, err)
	}
	if dual {
		// Explicit, so the net.ipv6.bindv6only sysctl can't make it v6-only.
		if err = unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
			return -1, fmt.Errorf("netio: IPV6_V6ONLY=0 on %s: %w", addr, err)
		}
	}
	if err = unix.Bind(s, sa); err != nil {
		return -1, fmt.Errorf("netio: bind %s: %w", addr, err)
	}
	if err = unix.Listen(s, max(listenBacklog, listenSomaxconn())); err != nil {
		return -1, fmt.Errorf("netio: listen %s: %w", addr, err)
	}
	return s, nil
}

// listenSockaddr resolves addr ("host:port") into a sockaddr. dual reports a
// wildcard host that should accept both IPv4 and IPv6.
func listenSockaddr(addr string) (sa unix.Sockaddr, family int, dual bool, err error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, 0, false, fmt.Errorf("netio: listen address %q: %w", addr, err)
	}
	switch {
	case ta.IP == nil || (ta.IP.IsUnspecified() && ta.IP.To4() == nil):
		return &unix.SockaddrInet6{Port: ta.Port}, unix.AF_INET6, true, nil
	case ta.IP.To4() != nil:
		s := &unix.SockaddrInet4{Port: ta.Port}
		copy(s.Addr[:], ta.IP.To4())
		return s, unix.AF_INET, false, nil
	default:
		s := &unix.SockaddrInet6{Port: ta.Port}
		copy(s.Addr[:], ta.IP.To16())
		if ta.Zone != "" {
			if s.ZoneId, err = listenZoneIndex(ta.Zone); err != nil {
				return nil, 0, false, fmt.Errorf("netio: listen address %q: %w", addr, err)
			}
		}
		return s, unix.AF_INET6, false, nil
	}
}

func listenZoneIndex(zone string) (uint32, error) {
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n), nil
	}
	ifi, err := net.InterfaceByName(zone)
	if err != nil {
		return 0, err
	}
	return uint32(ifi.Index), nil
}

// listenSomaxconn reads net.core.somaxconn; 0 when unreadable.
func listenSomaxconn() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// boundAddr returns the address fd is bound to, e.g. the port picked for
// port 0.
func boundAddr(fd int) (*net.TCPAddr, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, fmt.Errorf("netio: getsockname: %w", err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(append([]byte(nil), sa.Addr[:]...)), Port: sa.Port}, nil
	case *unix.SockaddrInet6:
		a := &net.TCPAddr{IP: net.IP(append([]byte(nil), sa.Addr[:]...)), Port: sa.Port}
		if sa.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				a.Zone = ifi.Name
			} else {
				a.Zone = strconv.FormatUint(uint64(sa.ZoneId), 10)
			}
		}
		return a, nil
	}
	return nil, fmt.Errorf("netio: fd %d is not an IPv4/IPv6 socket (%T)", fd, sa)
}

// pinToCPU binds the calling OS thread to cpu. The caller must hold
// runtime.LockOSThread, or the pin lands on whatever thread runs next; a
// pinned thread should die with its goroutine (exit while still locked)
// rather than return to the runtime's pool.
func pinToCPU(cpu int) error {
	var set unix.CPUSet
	if cpu < 0 || cpu >= len(set)*64 {
		return fmt.Errorf("netio: pin thread to CPU %d: no such CPU", cpu)
	}
	set.Set(cpu)
	// pid 0 means the calling thread, not the whole process.
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("netio: pin thread to CPU %d: %w", cpu, err)
	}
	return nil
}

// startCPUs is the process's affinity mask at start, taken in init, before
// any thread was pinned: afterwards the mask of the calling thread (or of
// the main thread, which a locked goroutine may also have pinned) can be a
// single CPU.
var startCPUs, startCPUsErr = affinityCPUs()

func affinityCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, err
	}
	var cpus []int
	for c := 0; c < len(set)*64; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// usableCPUs returns the CPU ids this process may run on, ascending, from
// its affinity mask (which cgroup cpusets and taskset also narrow). It
// never returns an empty slice: if the mask can't be read it falls back to
// CPUs 0..NumCPU-1.
func usableCPUs() []int {
	if startCPUsErr != nil || len(startCPUs) == 0 {
		n := runtime.NumCPU()
		cpus := make([]int, n)
		for i := range cpus {
			cpus[i] = i
		}
		return cpus
	}
	return append([]int(nil), startCPUs...)
}
