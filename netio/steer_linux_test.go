package netio

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// attachOrSkip attaches steering with shard i on shardCPU[i], skipping the
// test where eBPF can't load (no CAP_BPF, seccomp, old kernel). A verifier
// rejection fails instead: it means the program is wrong.
func attachOrSkip(t *testing.T, fds []int, shardCPU []int) *steering {
	t.Helper()
	s, err := attachSteering(fds, shardCPU)
	if err != nil {
		var ve *ebpf.VerifierError
		switch {
		case errors.As(err, &ve):
			t.Fatalf("%+v", err)
		case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES),
			errors.Is(err, ebpf.ErrNotSupported), errors.Is(err, unix.ENOSYS):
			t.Skipf("eBPF steering unavailable here: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// steerCPUs picks two usable CPUs, for the shards of a group of 2, or
// skips.
func steerCPUs(t *testing.T) [2]int {
	t.Helper()
	cpus := usableCPUs()
	if len(cpus) < 2 {
		t.Skipf("need two usable CPUs, have %v", cpus)
	}
	return [2]int{cpus[0], cpus[1]}
}

// needCPUs skips unless all of cpus are usable.
func needCPUs(t *testing.T, cpus ...int) {
	t.Helper()
	usable := map[int]bool{}
	for _, c := range usableCPUs() {
		usable[c] = true
	}
	for _, c := range cpus {
		if !usable[c] {
			t.Skipf("need CPUs %v usable, have %v", cpus, usableCPUs())
		}
	}
}

// dialPinned opens perCPU connections from a thread pinned to each of cpus,
// concurrently, and maps each client port to its CPU.
func dialPinned(t *testing.T, d *testDialer, to *net.TCPAddr, cpus []int, perCPU int) map[int]int {
	t.Helper()
	var mu sync.Mutex
	portCPU := map[int]int{}
	var wg sync.WaitGroup
	errs := make([]error, len(cpus))
	for i, cpu := range cpus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ports, err := d.dial(to, cpu, perCPU)
			errs[i] = err
			mu.Lock()
			for _, p := range ports {
				portCPU[p] = cpu
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return portCPU
}

// splitByCPU counts, for each CPU, its connections accepted per listener.
func splitByCPU(accepted [][]int, portCPU map[int]int) map[int][]int {
	out := map[int][]int{}
	for l, ports := range accepted {
		for _, p := range ports {
			cpu := portCPU[p]
			if out[cpu] == nil {
				out[cpu] = make([]int, len(accepted))
			}
			out[cpu][l]++
		}
	}
	return out
}

const steerConnsPerCPU = 300

func TestSteerByConnectingCPU(t *testing.T) {
	cpus := steerCPUs(t)
	fds, addr := listenGroup(t, "127.0.0.1", 2)
	attachOrSkip(t, fds, cpus[:])

	var d testDialer
	defer d.close()
	portCPU := dialPinned(t, &d, addr, cpus[:], steerConnsPerCPU)
	bySrc := splitByCPU(acceptPending(t, fds, len(portCPU)), portCPU)
	for want, cpu := range cpus {
		t.Logf("from CPU %d: per listener %v (want all on %d)", cpu, bySrc[cpu], want)
		// On loopback the SYN is queued to the sending CPU's backlog and
		// processed in its softirq (no RPS on lo), so the program runs on
		// the connecting CPU every time: expect exact placement.
		if got := bySrc[cpu][want]; got != steerConnsPerCPU {
			t.Errorf("CPU %d: %d of %d connections on listener %d", cpu, got, steerConnsPerCPU, want)
		}
	}
}

func TestSteerDualStackGroup(t *testing.T) {
	cpus := steerCPUs(t)
	fd, err := listenReusePort("[::]:0")
	if err != nil {
		t.Skipf("no IPv6: %v", err)
	}
	unix.Close(fd)
	fds, addr := listenGroup(t, "", 2)
	attachOrSkip(t, fds, cpus[:])
	var d testDialer
	defer d.close()
	// IPv4 into a dual-stack (AF_INET6) group, and IPv6.
	for _, ip := range []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback} {
		portCPU := dialPinned(t, &d, &net.TCPAddr{IP: ip, Port: addr.Port}, cpus[:], 50)
		bySrc := splitByCPU(acceptPending(t, fds, len(portCPU)), portCPU)
		for want, cpu := range cpus {
			if got := bySrc[cpu][want]; got != 50 {
				t.Errorf("%v from CPU %d: per listener %v, want all 50 on %d", ip, cpu, bySrc[cpu], want)
			}
		}
	}
}

func TestSteerWithoutProgramHashSpreads(t *testing.T) {
	cpus := steerCPUs(t)
	fds, addr := listenGroup(t, "127.0.0.1", 2)
	var d testDialer
	defer d.close()
	portCPU := dialPinned(t, &d, addr, cpus[:], steerConnsPerCPU)
	accepted := acceptPending(t, fds, len(portCPU))
	bySrc := splitByCPU(accepted, portCPU)
	for _, cpu := range cpus {
		t.Logf("no program, from CPU %d: per listener %v", cpu, bySrc[cpu])
	}
	// The hash of the 4-tuple ignores the CPU; both listeners get some
	// (all 600 on one has probability 2^-599).
	for l, ports := range accepted {
		if len(ports) == 0 {
			t.Errorf("listener %d got nothing from the kernel's hash", l)
		}
	}
}

func TestSteerMapAndGroupWideAttach(t *testing.T) {
	fds, _ := listenGroup(t, "127.0.0.1", 3)
	s := attachOrSkip(t, fds, []int{0, 0, 0})
	for i, fd := range fds {
		var cookie uint64
		if err := s.socks.Lookup(uint32(i), &cookie); err != nil {
			t.Fatalf("lookup key %d: %v", i, err)
		}
		if want, _ := unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_COOKIE); cookie != want {
			t.Errorf("key %d holds socket cookie %d, want fds[%d]'s %d", i, cookie, i, want)
		}
	}
	// Attached through fds[0], yet detachable through fds[2]: the program
	// belongs to the group, so one setsockopt covers every listener.
	if err := unix.SetsockoptInt(fds[2], unix.SOL_SOCKET, unix.SO_DETACH_REUSEPORT_BPF, 0); err != nil {
		t.Fatalf("detach through another listener of the group: %v", err)
	}
	if err := s.Close(); err != nil { // finds nothing attached: not an error
		t.Fatal(err)
	}
	// Close empties the map, so the sockets can go into a new one at once.
	s2, err := attachSteering(fds, []int{0, 0, 0})
	if err != nil {
		t.Fatalf("attach again right after Close: %v", err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestSteerCloseDetaches(t *testing.T) {
	cpus := steerCPUs(t)
	fds, addr := listenGroup(t, "127.0.0.1", 2)
	s := attachOrSkip(t, fds, cpus[:])
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DETACH_REUSEPORT_BPF, 0); !errors.Is(err, unix.ENOENT) {
			t.Fatalf("after Close, detach on fd %d: want ENOENT (nothing attached), got %v", fd, err)
		}
	}
	// Still accepting, and from one CPU the hash now spreads over both.
	var d testDialer
	defer d.close()
	portCPU := dialPinned(t, &d, addr, cpus[:1], 200)
	bySrc := splitByCPU(acceptPending(t, fds, len(portCPU)), portCPU)
	t.Logf("after Close, from CPU %d: per listener %v", cpus[0], bySrc[cpus[0]])
	for l, n := range bySrc[cpus[0]] {
		if n == 0 {
			t.Errorf("after Close, listener %d got nothing: still steered?", l)
		}
	}
}

func TestSteerClosedListenerFallsBackToHash(t *testing.T) {
	cpus := steerCPUs(t)
	// Made by hand, not listenGroup: fds[1] is closed mid-test and its
	// number must not be closed again at cleanup.
	fds := make([]int, 2)
	port := 0
	for i := range fds {
		fd, err := listenReusePort(fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		fds[i] = fd
		a, _ := boundAddr(fd)
		port = a.Port
	}
	defer unix.Close(fds[0])
	addr, _ := boundAddr(fds[0])
	s := attachOrSkip(t, fds, cpus[:])
	// The kernel drops a closed socket from the map; the select for its key
	// then fails and SK_PASS hands the connection to the hash, which picks
	// among the listeners left, rather than refusing it.
	closedCPU := cpus[1] // maps to fds[1]
	unix.Close(fds[1])
	var cookie uint64
	if err := s.socks.Lookup(uint32(1), &cookie); !errors.Is(err, ebpf.ErrKeyNotExist) {
		t.Errorf("closed listener still in the map: cookie %d, %v", cookie, err)
	}
	var d testDialer
	defer d.close()
	portCPU := dialPinned(t, &d, addr, []int{closedCPU}, 50)
	got := acceptPending(t, fds[:1], len(portCPU))
	if len(got[0]) != 50 {
		t.Errorf("listener 0 accepted %d of 50", len(got[0]))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSteerRejectsNonGroup(t *testing.T) {
	if _, err := attachSteering(nil, nil); err == nil {
		t.Error("attachSteering(nil) succeeded")
	}
	a, _ := listenGroup(t, "127.0.0.1", 1)
	b, _ := listenGroup(t, "127.0.0.1", 1)
	if s, err := attachSteering([]int{a[0], b[0]}, []int{0, 0}); err == nil {
		s.Close()
		t.Error("attachSteering over two ports succeeded")
	} else {
		t.Log(err)
	}
	plain, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(plain)
	if s, err := attachSteering([]int{plain}, []int{0}); err == nil {
		s.Close()
		t.Error("attachSteering on a non-listening socket succeeded")
	}
	if s, err := attachSteering(a, []int{0, 1}); err == nil {
		s.Close()
		t.Error("attachSteering with more shard CPUs than listeners succeeded")
	}
	if s, err := attachSteering(a, []int{-1}); err == nil {
		s.Close()
		t.Error("attachSteering with CPU -1 succeeded")
	}
	if s, err := attachSteering(a, []int{1 << 20}); err == nil {
		s.Close()
		t.Error("attachSteering with an impossible CPU succeeded")
	}
}

// Shards pinned in the reverse of CPU order: the listener is the one whose
// shard is on the connecting CPU, not cpu % n.
func TestSteerReversedShardCPUs(t *testing.T) {
	needCPUs(t, 0, 1)
	fds, addr := listenGroup(t, "127.0.0.1", 2)
	attachOrSkip(t, fds, []int{1, 0})
	var d testDialer
	defer d.close()
	portCPU := dialPinned(t, &d, addr, []int{0, 1}, steerConnsPerCPU)
	bySrc := splitByCPU(acceptPending(t, fds, len(portCPU)), portCPU)
	for cpu, want := range map[int]int{0: 1, 1: 0} {
		t.Logf("from CPU %d: per listener %v (want all on %d)", cpu, bySrc[cpu], want)
		if got := bySrc[cpu][want]; got != steerConnsPerCPU {
			t.Errorf("CPU %d: %d of %d connections on listener %d", cpu, got, steerConnsPerCPU, want)
		}
	}
}

// One shard on CPU 0: CPU 1 has none, and its connections go to the one
// listener through the program (the CPU map), not refused or lost.
func TestSteerSingleListenerTakesAllCPUs(t *testing.T) {
	needCPUs(t, 0, 1)
	fds, addr := listenGroup(t, "127.0.0.1", 1)
	s := attachOrSkip(t, fds, []int{0})
	for _, cpu := range []uint32{0, 1} {
		var key uint32
		if err := s.cpus.Lookup(cpu, &key); err != nil || key != 0 {
			t.Errorf("CPU map: CPU %d -> %d, %v; want listener 0", cpu, key, err)
		}
	}
	var d testDialer
	defer d.close()
	portCPU := dialPinned(t, &d, addr, []int{0, 1}, 100)
	got := acceptPending(t, fds, len(portCPU))
	if len(got[0]) != 200 {
		t.Errorf("listener 0 accepted %d of 200", len(got[0]))
	}
}

func TestSteerTable(t *testing.T) {
	noSMT := func(cpu int) []int { return []int{cpu} }
	for _, tc := range []struct {
		name     string
		possible int
		shardCPU []int
		siblings func(int) []int
		want     []uint32
	}{
		// Affinity {1,3}: CPU 1 -> shard 0 and CPU 3 -> shard 1 (cpu % 2
		// would put both on shard 1); 0 and 2 spread round robin.
		{"affinity 1,3", 4, []int{1, 3}, noSMT, []uint32{0, 0, 1, 1}},
		{"reversed", 2, []int{1, 0}, noSMT, []uint32{1, 0}},
		{"one shard", 4, []int{2}, nil, []uint32{0, 0, 0, 0}},
		// Fewer shards than CPUs: the rest round robin.
		{"fewer shards", 6, []int{0, 1}, nil, []uint32{0, 1, 0, 1, 0, 1}},
		// More shards than CPUs: a CPU goes to its first shard.
		{"more shards", 2, []int{0, 1, 0, 1}, nil, []uint32{0, 1}},
		// SMT pairs (0,2) and (1,3): a shard on 0 and 1 each; 2 and 3
		// join their sibling's shard.
		{"siblings", 4, []int{0, 1}, func(c int) []int { return []int{c % 2, c%2 + 2} }, []uint32{0, 1, 0, 1}},
		// A sibling outside possible is ignored.
		{"bad sibling", 2, []int{0}, func(int) []int { return []int{-1, 7} }, []uint32{0, 0}},
	} {
		got := steerTable(tc.possible, tc.shardCPU, tc.siblings)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: steerTable(%d, %v) = %v, want %v", tc.name, tc.possible, tc.shardCPU, got, tc.want)
		}
	}
}

func TestSteerParseCPUList(t *testing.T) {
	for in, want := range map[string][]int{
		"0":           {0},
		"0-1":         {0, 1},
		"0,4":         {0, 4},
		"0-2,8,10-11": {0, 1, 2, 8, 10, 11},
		"":            nil,
		"x":           nil,
		"3-1":         nil,
		"1-":          nil,
	} {
		if got := parseCPUList(in); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("parseCPUList(%q) = %v, want %v", in, got, want)
		}
	}
}
