package ring

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pawelgaczynski/giouring"
	"golang.org/x/sys/unix"
)

// Features is what setup and Probe found. New fills the setup flags; Probe
// fills everything.
type Features struct {
	SingleIssuer, DeferTaskrun, CoopTaskrun bool // setup flags obtained
	MultishotAccept, MultishotRecv          bool // tried on real sockets
	BufRing                                 bool // IORING_REGISTER_PBUF_RING worked
	MsgRing, Splice, SendZC                 bool // opcodes the kernel supports
}

// needOps are the opcodes Weir cannot run without.
var needOps = []struct {
	op   uint8
	name string
}{
	{giouring.OpNop, "NOP"}, {giouring.OpAccept, "ACCEPT"}, {giouring.OpRecv, "RECV"},
	{giouring.OpSend, "SEND"}, {giouring.OpRead, "READ"}, {giouring.OpWrite, "WRITE"},
	{giouring.OpFsync, "FSYNC"}, {giouring.OpPollAdd, "POLL_ADD"},
	{giouring.OpAsyncCancel, "ASYNC_CANCEL"}, {giouring.OpClose, "CLOSE"},
	{giouring.OpShutdown, "SHUTDOWN"}, {giouring.OpTimeout, "TIMEOUT"},
}

// Probe builds a small ring on a locked thread, asks which opcodes the
// kernel supports, tries a buffer ring, a multishot accept and a multishot
// receive on real sockets, and closes it all. The error says why io_uring
// is unusable for Weir (--io=auto then falls back to Go's net package).
func Probe() (Features, error) {
	runtime.LockOSThread() // SINGLE_ISSUER: the ring stays on this thread
	defer runtime.UnlockOSThread()
	r, err := New(Options{Entries: 8})
	if err != nil {
		return Features{}, explainSetup(err)
	}
	defer r.Close()
	f := r.Features()
	if err := r.probeOps(&f); err != nil {
		return f, err
	}
	b, err := NewBufRing(r, 0, 2, 64)
	if err != nil {
		return f, fmt.Errorf("io_uring: buffer rings unusable (kernel < 5.19?): %w", err)
	}
	f.BufRing = true
	if f.MultishotAccept, err = r.probeAccept(); err != nil {
		return f, err
	}
	if f.MultishotRecv, err = r.probeRecv(b); err != nil {
		return f, err
	}
	if !f.MultishotAccept || !f.MultishotRecv {
		return f, fmt.Errorf("io_uring: kernel %s lacks multishot accept or recv (needs >= 6.0)",
			kernelRelease())
	}
	return f, nil
}

func (r *Ring) probeOps(f *Features) error {
	p, err := r.gr.GetProbeRing() // IORING_REGISTER_PROBE for all 256 opcodes
	if err != nil {
		return fmt.Errorf("io_uring: opcode probe failed (kernel %s): %w", kernelRelease(), err)
	}
	has := p.IsSupported
	for _, o := range needOps {
		if !has(o.op) {
			return fmt.Errorf("io_uring: kernel %s lacks IORING_OP_%s", kernelRelease(), o.name)
		}
	}
	f.MsgRing, f.Splice, f.SendZC = has(giouring.OpMsgRing), has(giouring.OpSplice),
		has(giouring.OpSendZC)
	return nil
}

// explainSetup turns io_uring_setup's errno into the reason an operator needs.
func explainSetup(err error) error {
	switch {
	case errors.Is(err, unix.ENOSYS):
		return fmt.Errorf("io_uring: not in this kernel (%s): %w", kernelRelease(), err)
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		if b, e := os.ReadFile("/proc/sys/kernel/io_uring_disabled"); e == nil &&
			strings.TrimSpace(string(b)) != "0" {
			return fmt.Errorf("io_uring: disabled by sysctl kernel.io_uring_disabled=%s: %w",
				strings.TrimSpace(string(b)), err)
		}
		return fmt.Errorf("io_uring: denied, likely by a seccomp profile: %w", err)
	case errors.Is(err, unix.ENOMEM):
		return fmt.Errorf("io_uring: cannot set up a ring (RLIMIT_MEMLOCK on kernels < 5.12?): %w", err)
	}
	return fmt.Errorf("io_uring: unusable: %w", err)
}

func kernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "?"
	}
	return unix.ByteSliceToString(u.Release[:])
}

var probeSeq atomic.Uint64

// probeAccept arms a multishot accept on an abstract unix socket and
// connects to it: an old kernel rejects the flag with EINVAL.
func (r *Ring) probeAccept() (bool, error) {
	lfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("probe: socket: %w", err)
	}
	defer unix.Close(lfd)
	name := fmt.Sprintf("@weir-ring-probe-%d-%d", os.Getpid(), probeSeq.Add(1))
	if err := unix.Bind(lfd, &unix.SockaddrUnix{Name: name}); err != nil {
		return false, fmt.Errorf("probe: bind %s: %w", name, err)
	}
	if err := unix.Listen(lfd, 4); err != nil {
		return false, fmt.Errorf("probe: listen: %w", err)
	}
	r.PrepAcceptMultishot(lfd, Pack(probeOp, 0))
	cfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("probe: socket: %w", err)
	}
	defer unix.Close(cfd)
	if err := unix.Connect(cfd, &unix.SockaddrUnix{Name: name}); err != nil {
		return false, fmt.Errorf("probe: connect %s: %w", name, err)
	}
	res, flags, err := r.probeWait()
	if res >= 0 {
		unix.Close(int(res))
	}
	return err == nil && res >= 0 && More(flags), err
}

// probeRecv arms a multishot receive on a socketpair and sends a byte.
func (r *Ring) probeRecv(b *BufRing) (bool, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("probe: socketpair: %w", err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	r.PrepRecvMultishot(fds[0], b.Group(), Pack(probeOp, 0))
	if _, err := unix.Write(fds[1], []byte{1}); err != nil {
		return false, fmt.Errorf("probe: write: %w", err)
	}
	res, flags, err := r.probeWait()
	_, buffered := BufferID(flags)
	return err == nil && res == 1 && buffered && More(flags), err
}

const probeOp, probeTimerOp = 1, 2

// probeWait waits up to a second for one completion of probeOp.
func (r *Ring) probeWait() (res int32, flags uint32, err error) {
	got, fired := false, false
	r.On(probeOp, func(_ uint64, rs int32, fl uint32) {
		if !got {
			got, res, flags = true, rs, fl
		}
	})
	timer := probeSeq.Add(1) // an earlier wait's timer must not end this one
	r.On(probeTimerOp, func(id uint64, _ int32, _ uint32) { fired = fired || id == timer })
	r.PrepTimeout(time.Second, Pack(probeTimerOp, timer))
	for !got && !fired {
		if err := r.Enter(true); err != nil {
			return 0, 0, fmt.Errorf("probe: %w", err)
		}
		r.Dispatch()
	}
	if !got {
		return 0, 0, errors.New("probe: no completion within a second")
	}
	return res, flags, nil
}
