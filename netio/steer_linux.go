package netio

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// steering is an eBPF sk_reuseport program attached to a reuseport group
// of listeners. For each new connection it picks the listener of the shard
// on the CPU that processed the SYN, which for loopback and for NICs
// steered by RSS/RPS/aRFS is where the connection's packets keep arriving.
//
// fds[i] sits at key i of a REUSEPORT_SOCKARRAY; an ARRAY indexed by CPU
// number (every possible CPU) holds the key of the listener for that CPU
// (see steerTable). The program returns SK_PASS whether or not the lookup
// and the select worked, so a missing entry (a closed listener) falls back
// to the kernel's hash over the group rather than refusing the connection.
type steering struct {
	prog    *ebpf.Program
	socks   *ebpf.Map
	cpus    *ebpf.Map // CPU -> key in socks
	fds     []int
	cookies []uint64 // SO_COOKIE of fds[i], to spot a closed and reused fd number in Close

	once     sync.Once
	closeErr error
}

// skPass is the sk_reuseport verdict that lets the connection through
// (SK_DROP, 0, would refuse it).
const skPass = 1

// attachSteering loads the steering program for the listeners fds, which
// must already be listening in one reuseport group (listenReusePort on one
// address), and attaches it to the group. shardCPU[i] is the CPU that the
// shard accepting on fds[i] is pinned to: connections whose SYN is
// processed there go to fds[i], and those processed on a CPU without a
// shard are spread over the listeners (steerTable). Listeners added to the
// group later are reached only through the hash fallback. On error nothing
// stays attached, and the error says why loading failed (privilege,
// verifier).
func attachSteering(fds []int, shardCPU []int) (_ *steering, err error) {
	if len(fds) == 0 {
		return nil, errors.New("netio: steering needs at least one listener")
	}
	if len(shardCPU) != len(fds) {
		return nil, fmt.Errorf("netio: steering: %d listeners but %d shard CPUs", len(fds), len(shardCPU))
	}
	possible, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("netio: steering: count possible CPUs: %w", err)
	}
	for i, c := range shardCPU {
		if c < 0 || c >= possible {
			return nil, fmt.Errorf("netio: steering: shard %d's CPU %d is not a possible CPU (0-%d)", i, c, possible-1)
		}
	}
	s := &steering{fds: append([]int(nil), fds...), cookies: make([]uint64, len(fds))}
	if err := s.checkGroup(); err != nil {
		return nil, err
	}
	// Needed on kernels before 5.11, which charge BPF memory to
	// RLIMIT_MEMLOCK; a no-op after. Its error matters only if loading
	// then fails on such a kernel, so it is reported with that failure.
	memlockErr := rlimit.RemoveMemlock()
	defer func() {
		if err != nil {
			s.release()
			if memlockErr != nil && !kernelAtLeast(5, 11) {
				err = fmt.Errorf("%w (raising RLIMIT_MEMLOCK, which this kernel charges BPF memory to, failed too: %v)", err, memlockErr)
			}
		}
	}()

	s.socks, err = ebpf.NewMap(&ebpf.MapSpec{
		Name:       "weir_steer",
		Type:       ebpf.ReusePortSockArray,
		KeySize:    4,
		ValueSize:  8, // 8 so that a lookup returns the socket's cookie
		MaxEntries: uint32(len(fds)),
	})
	if err != nil {
		return nil, steerLoadError("create REUSEPORT_SOCKARRAY map", err)
	}
	for i, fd := range fds {
		if err = s.socks.Update(uint32(i), uint64(fd), ebpf.UpdateAny); err != nil {
			// EBUSY: the socket is already in another sockarray (a
			// steering not yet closed).
			return nil, fmt.Errorf("netio: put listener fd %d at key %d of the steering map: %w", fd, i, err)
		}
	}

	s.cpus, err = ebpf.NewMap(&ebpf.MapSpec{
		Name:       "weir_steer_cpu",
		Type:       ebpf.Array,
		KeySize:    4,
		ValueSize:  4,
		MaxEntries: uint32(possible),
	})
	if err != nil {
		return nil, steerLoadError("create CPU map", err)
	}
	for c, l := range steerTable(possible, shardCPU, threadSiblings) {
		if err = s.cpus.Update(uint32(c), l, ebpf.UpdateAny); err != nil {
			return nil, fmt.Errorf("netio: map CPU %d to listener key %d in the steering CPU map: %w", c, l, err)
		}
	}

	s.prog, err = ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "weir_steer",
		Type:         ebpf.SkReuseport,
		License:      "GPL", // no GPL-only helper is used; any string would load
		Instructions: steeringInstructions(s.socks.FD(), s.cpus.FD()),
	})
	if err != nil {
		return nil, steerLoadError("load sk_reuseport program", err)
	}
	// The program belongs to the group, not to the socket: one setsockopt
	// covers every listener in it.
	if err = unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_EBPF, s.prog.FD()); err != nil {
		return nil, fmt.Errorf("netio: SO_ATTACH_REUSEPORT_EBPF on fd %d: %w", fds[0], err)
	}
	return s, nil
}

// steeringInstructions is, in C:
//
//	__u32 cpu = bpf_get_smp_processor_id();
//	__u32 *key = bpf_map_lookup_elem(&cpus, &cpu);
//	if (key) {
//		__u32 k = *key;
//		bpf_sk_select_reuseport(ctx, &socks, &k, 0);
//	}
//	return SK_PASS;
func steeringInstructions(socksFD, cpusFD int) asm.Instructions {
	return asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1), // ctx survives the calls in R6
		asm.FnGetSmpProcessorId.Call(),
		asm.StoreMem(asm.RFP, -4, asm.R0, asm.Word),
		asm.LoadMapPtr(asm.R1, cpusFD),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "pass"), // no entry: the kernel's hash picks
		asm.LoadMem(asm.R0, asm.R0, 0, asm.Word),
		asm.StoreMem(asm.RFP, -8, asm.R0, asm.Word),
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.LoadMapPtr(asm.R2, socksFD),
		asm.Mov.Reg(asm.R3, asm.RFP),
		asm.Add.Imm(asm.R3, -8),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnSkSelectReuseport.Call(),
		asm.Mov.Imm(asm.R0, skPass).WithSymbol("pass"), // even on failure: the kernel's hash picks
		asm.Return(),
	}
}

// steerTable maps each of the possible CPUs to a listener key. A CPU with
// a shard maps to it (to the first, if several shards share the CPU). A
// CPU without one maps to the shard on one of its SMT siblings (which
// shares its caches), if any, as reported by siblings (nil: unknown);
// otherwise to the shards in turn, so those CPUs spread evenly.
func steerTable(possible int, shardCPU []int, siblings func(cpu int) []int) []uint32 {
	owner := make([]int, possible)
	for c := range owner {
		owner[c] = -1
	}
	for i, c := range shardCPU {
		if c >= 0 && c < possible && owner[c] < 0 {
			owner[c] = i
		}
	}
	table := make([]uint32, possible)
	next := 0
cpus:
	for c := range table {
		if owner[c] >= 0 {
			table[c] = uint32(owner[c])
			continue
		}
		if siblings != nil {
			for _, sib := range siblings(c) {
				if sib >= 0 && sib < possible && owner[sib] >= 0 {
					table[c] = uint32(owner[sib])
					continue cpus
				}
			}
		}
		table[c] = uint32(next % len(shardCPU))
		next++
	}
	return table
}

// threadSiblings lists the SMT siblings of cpu (including cpu) from sysfs,
// or nil if they can't be read (offline CPU, no sysfs).
func threadSiblings(cpu int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", cpu))
	if err != nil {
		return nil
	}
	return parseCPUList(strings.TrimSpace(string(b)))
}

// parseCPUList parses the kernel's CPU list format ("0-3,8,10-11"), or
// returns nil if s is malformed.
func parseCPUList(s string) []int {
	var cpus []int
	if s == "" {
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil
			}
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus
}

// checkGroup catches fds that can't form one group before the kernel does
// so less legibly (a map update EINVAL, or selects failing with EXDEV at
// run time, which would silently fall back to the hash).
func (s *steering) checkGroup() error {
	var first unix.Sockaddr
	for i, fd := range s.fds {
		if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || v == 0 {
			return fmt.Errorf("netio: steering: fd %d is not a listening socket (%v)", fd, err)
		}
		if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT); err != nil || v == 0 {
			return fmt.Errorf("netio: steering: fd %d lacks SO_REUSEPORT (%v)", fd, err)
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return fmt.Errorf("netio: steering: getsockname fd %d: %w", fd, err)
		}
		if i == 0 {
			first = sa
		} else if !sameListenSockaddr(first, sa) {
			return fmt.Errorf("netio: steering: fd %d is bound elsewhere than fd %d, so not in its reuseport group", fd, s.fds[0])
		}
		if s.cookies[i], err = unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_COOKIE); err != nil {
			return fmt.Errorf("netio: steering: SO_COOKIE fd %d: %w", fd, err)
		}
	}
	return nil
}

func sameListenSockaddr(a, b unix.Sockaddr) bool {
	switch a := a.(type) {
	case *unix.SockaddrInet4:
		b, ok := b.(*unix.SockaddrInet4)
		return ok && *a == *b
	case *unix.SockaddrInet6:
		b, ok := b.(*unix.SockaddrInet6)
		return ok && *a == *b
	}
	return false
}

// kernelAtLeast reports whether the running kernel is major.minor or newer
// (true if its release can't be read: assume a current kernel).
func kernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return true
	}
	var ma, mi int
	if n, _ := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &ma, &mi); n != 2 {
		return true
	}
	return ma > major || (ma == major && mi >= minor)
}

// steerLoadError explains a failed map creation or program load.
func steerLoadError(what string, err error) error {
	var ve *ebpf.VerifierError
	switch {
	case errors.As(err, &ve):
		return fmt.Errorf("netio: %s: rejected by the verifier: %w", what, err)
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("netio: %s: not permitted: needs root or CAP_BPF (CAP_SYS_ADMIN before Linux 5.8), and bpf(2) not blocked by seccomp: %w", what, err)
	case errors.Is(err, ebpf.ErrNotSupported), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EINVAL):
		return fmt.Errorf("netio: %s: not supported by this kernel (sk_reuseport eBPF needs Linux 4.19+): %w", what, err)
	}
	return fmt.Errorf("netio: %s: %w", what, err)
}

// Close detaches the program from the group and frees it and the maps. Call
// it before closing the listeners; if they are already closed the group,
// and the program with it, went away then. It is safe to call twice.
func (s *steering) Close() error {
	s.once.Do(func() { s.closeErr = s.detach(); s.release() })
	return s.closeErr
}

// detach removes the group's program through any listener still open. A
// fd whose cookie changed was closed and its number reused: not ours.
func (s *steering) detach() error {
	var err error
	for i, fd := range s.fds {
		if c, cerr := unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_COOKIE); cerr != nil || c != s.cookies[i] {
			continue
		}
		switch e := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DETACH_REUSEPORT_BPF, 0); e {
		case nil, unix.ENOENT: // ENOENT: nothing attached any more
			return nil
		default:
			err = fmt.Errorf("netio: SO_DETACH_REUSEPORT_BPF on fd %d: %w", fd, e)
		}
	}
	return err
}

// release empties the sockarray, then closes the maps and the program.
// Emptying is explicit because each socket in a sockarray is marked busy
// (sk_user_data) until its entry goes, and the map itself is freed
// asynchronously after its last reference drops: without it, a new
// attachSteering on the same listeners right after Close could fail with
// EBUSY.
func (s *steering) release() {
	if s.socks != nil {
		for i := range s.fds {
			_ = s.socks.Delete(uint32(i))
		}
		s.socks.Close()
		s.socks = nil
	}
	if s.cpus != nil {
		s.cpus.Close()
		s.cpus = nil
	}
	if s.prog != nil {
		s.prog.Close()
		s.prog = nil
	}
}
