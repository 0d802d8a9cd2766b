package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Syscalls that move socket bytes without io_uring.
var plainIOSyscalls = []string{"read", "write", "recvfrom", "sendto", "sendmsg", "recvmsg", "readv", "writev"}

// TestStraceUring proves that on the uring backend the socket bytes go
// through io_uring: under strace -f -c, thousands of request round trips
// cost many io_uring_enter calls and almost no read/write-family calls.
// (Fetched log ranges are not in that family: they go from the page cache
// to the socket by splice(2), on the loop when cached, netio.FileSendSplice.)
// `make verify-uring` runs it alone.
func TestStraceUring(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace not installed (make deps)")
	}
	if out, err := exec.Command(strace, "-f", "-c", "-o", os.DevNull, "true").CombinedOutput(); err != nil {
		t.Skipf("strace cannot trace here: %v %s", err, out)
	}
	const conns, perConn = 4, 750
	out := filepath.Join(t.TempDir(), "strace.txt")
	b := startBroker(t, brokerOpts{io: "uring", wrap: []string{strace, "-f", "-c", "-o", out}})
	if !strings.Contains(b.stderr.String(), "backend=uring") {
		t.Fatalf("not on uring:\n%s", b.stderr)
	}

	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialRaw(b.addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.conn.Close()
			for j := 0; j < perConn; j++ {
				req := apiVersions()
				if j%2 == 1 {
					req = metadataAll()
				}
				if _, err := c.do(req); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if code, _ := b.stop(); code != 0 {
		t.Fatalf("weir exited %d:\n%s", code, b.stderr)
	}

	calls := straceCounts(t, out)
	requests := conns * perConn
	plain := 0
	for _, name := range plainIOSyscalls {
		plain += calls[name]
	}
	enters := calls["io_uring_enter"]
	t.Logf("%d requests: io_uring_enter %d, read/write family %d %v", requests, enters, plain,
		pick(calls, plainIOSyscalls))
	if plain*20 >= requests {
		t.Errorf("%d read/write-family syscalls for %d requests (want < 5%%): socket bytes bypass io_uring",
			plain, requests)
	}
	if enters*4 < requests {
		t.Errorf("only %d io_uring_enter calls for %d requests", enters, requests)
	}
}

// straceCounts parses strace -c's table: % time, seconds, usecs/call,
// calls, [errors], syscall.
func straceCounts(t *testing.T, path string) map[string]int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	calls := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		n, err := strconv.Atoi(fields[3])
		if err != nil {
			continue // header or separator
		}
		calls[fields[len(fields)-1]] = n
	}
	if len(calls) == 0 {
		data, _ := os.ReadFile(path)
		t.Fatalf("no syscall counts in strace output:\n%s", data)
	}
	return calls
}

func pick(m map[string]int, keys []string) map[string]int {
	out := map[string]int{}
	for _, k := range keys {
		if m[k] != 0 {
			out[k] = m[k]
		}
	}
	return out
}
