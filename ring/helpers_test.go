package ring

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func ptr(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }

// heapBuf returns a buffer on the Go heap: the kernel may write into it
// after the call that prepared the SQE, so it must not be on a stack.
//
//go:noinline
func heapBuf(n int) []byte { return make([]byte, n) }

func closeOnCleanup(t testing.TB, fds ...int) {
	t.Cleanup(func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	})
}

// listener makes a blocking TCP listener on 127.0.0.1 with socket(2), as
// netio does (Go's net.Listen makes MPTCP listeners).
func listener(t testing.TB) (int, *unix.SockaddrInet4) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 64); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fd, sa.(*unix.SockaddrInet4)
}

func dial(t testing.TB, addr *unix.SockaddrInet4) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, fd)
	if err := unix.Connect(fd, addr); err != nil {
		t.Fatal(err)
	}
	return fd
}

// tcpPair is a connected pair of blocking loopback TCP sockets.
func tcpPair(t testing.TB) (client, server int) {
	t.Helper()
	lfd, addr := listener(t)
	client = dial(t, addr)
	server, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, server)
	return client, server
}

func socketPair(t testing.TB) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, fds[0], fds[1])
	return fds[0], fds[1]
}

func pipe(t testing.TB) (r, w int) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, p[0], p[1])
	return p[0], p[1]
}

func tempFile(t testing.TB, content []byte) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "ring")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.Write(content); err != nil {
		t.Fatal(err)
	}
	return f
}

// readAll reads n bytes from a blocking fd.
func readAll(fd int, n int) ([]byte, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, 64<<10)
	for len(out) < n {
		k, err := unix.Read(fd, buf[:min(len(buf), n-len(out))])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return out, err
		}
		if k == 0 {
			return out, nil
		}
		out = append(out, buf[:k]...)
	}
	return out, nil
}

// pattern fills n bytes that differ by position and seed.
func pattern(n int, seed byte) []byte {
	b := heapBuf(n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}
