package ring

import (
	"fmt"
	"time"
	"unsafe"

	"github.com/pawelgaczynski/giouring"
	"golang.org/x/sys/unix"
)

// SQE preparation. Every Prep takes a zeroed giouring SQE and sets each
// field the operation reads itself; none of giouring's Prepare* helpers is
// used (doc.go says why).
// SQEs go to the kernel at the next Enter, or earlier when the SQ fills.
//
// Memory passed as unsafe.Pointer must stay where it is and alive until the
// operation completes: the Go heap (kept referenced) or an mmap, never a
// goroutine stack, which moves.

// PrepNop completes at once with res 0.
func (r *Ring) PrepNop(ud UserData) { r.prep(giouring.OpNop, -1, false, ud) }

// PrepAcceptMultishot accepts connections on the listening fd until it fails
// or is cancelled; each CQE's res is a new fd, with F_MORE while armed. The
// new sockets are CLOEXEC and blocking: io_uring polls them itself, and a
// blocking socket keeps SPLICE out of an EAGAIN spin in io-wq.
func (r *Ring) PrepAcceptMultishot(fd int, ud UserData) {
	s := r.prep(giouring.OpAccept, fd, false, ud)
	s.IoPrio = giouring.AcceptMultishot
	s.OpcodeFlags = unix.SOCK_CLOEXEC
}

// PrepRecvMultishot receives into buffers the kernel picks from the
// provided-buffer group (a BufRing), one CQE per receive with F_BUFFER and
// F_MORE while armed. It ends (no F_MORE) on EOF (res 0), on errors, and
// with -ENOBUFS when the group is empty, at once if it is empty when armed.
func (r *Ring) PrepRecvMultishot(fd int, group uint16, ud UserData) {
	s := r.prep(giouring.OpRecv, fd, false, ud)
	s.IoPrio = giouring.RecvMultishot
	s.Flags |= giouring.SqeBufferSelect
	s.BufIG = group
}

// PrepRecv receives up to n bytes into p.
func (r *Ring) PrepRecv(fd int, p unsafe.Pointer, n int, ud UserData) {
	r.PrepRecvFlags(fd, p, n, 0, ud)
}

// PrepRecvFlags is PrepRecv with recv(2) msgFlags: MSG_WAITALL makes the
// kernel keep receiving until all n bytes are in (or the stream ends).
func (r *Ring) PrepRecvFlags(fd int, p unsafe.Pointer, n int, msgFlags uint32, ud UserData) {
	s := r.prep(giouring.OpRecv, fd, false, ud)
	s.Addr, s.Len = uint64(uintptr(p)), uint32(n)
	s.OpcodeFlags = msgFlags
}

// PrepSend sends n bytes from p with the send(2) msgFlags (MSG_WAITALL makes
// the kernel retry short sends; MSG_NOSIGNAL avoids SIGPIPE). link chains
// the next SQE after this one: one linked chain per socket keeps bytes in
// order, several independent sends in flight on a socket can reorder.
func (r *Ring) PrepSend(fd int, p unsafe.Pointer, n int, msgFlags uint32, link bool, ud UserData) {
	s := r.prep(giouring.OpSend, fd, link, ud)
	s.Addr, s.Len = uint64(uintptr(p)), uint32(n)
	s.OpcodeFlags = msgFlags
}

// PrepRead reads n bytes at off (^uint64(0): the file position) into p.
func (r *Ring) PrepRead(fd int, p unsafe.Pointer, n int, off uint64, ud UserData) {
	s := r.prep(giouring.OpRead, fd, false, ud)
	s.Addr, s.Len, s.Off = uint64(uintptr(p)), uint32(n), off
}

// PrepWrite writes n bytes from p at off (^uint64(0): the file position).
func (r *Ring) PrepWrite(fd int, p unsafe.Pointer, n int, off uint64, ud UserData) {
	s := r.prep(giouring.OpWrite, fd, false, ud)
	s.Addr, s.Len, s.Off = uint64(uintptr(p)), uint32(n), off
}

// PrepFsync is fsync(2), or fdatasync(2) with datasync.
func (r *Ring) PrepFsync(fd int, datasync bool, ud UserData) {
	s := r.prep(giouring.OpFsync, fd, false, ud)
	if datasync {
		s.OpcodeFlags = giouring.FsyncDatasync
	}
}

// PrepSplice moves n bytes from fdIn to fdOut, one of them a pipe; an offset
// of -1 means none (pipes, sockets). It always runs in an io-wq worker, so
// the socket end must be blocking. A short splice breaks a link.
func (r *Ring) PrepSplice(fdIn int, offIn int64, fdOut int, offOut int64, n int, flags uint32,
	link bool, ud UserData) {
	s := r.prep(giouring.OpSplice, fdOut, link, ud)
	s.Off = uint64(offOut)
	s.Addr = uint64(offIn) // splice_off_in
	s.SpliceFdIn = int32(fdIn)
	s.Len = uint32(n)
	s.OpcodeFlags = flags
}

// PrepPollAdd completes once fd has one of the poll(2) events; res is the
// events that fired.
func (r *Ring) PrepPollAdd(fd int, events uint32, link bool, ud UserData) {
	s := r.prep(giouring.OpPollAdd, fd, link, ud)
	s.OpcodeFlags = events // poll32_events; little-endian hosts only, as is Weir
}

// PrepMsgRing posts a CQE with user_data data and res res into the ring
// whose fd is targetRingFd, waking it if it waits. This ring gets its own
// CQE (ud, res 0 or -errno).
func (r *Ring) PrepMsgRing(targetRingFd int, res int32, data uint64, ud UserData) {
	s := r.prep(giouring.OpMsgRing, targetRingFd, false, ud)
	s.Addr = uint64(giouring.MsgData)
	s.Len = uint32(res)
	s.Off = data
}

// PrepCancel cancels the first operation in flight with user data target.
// Its own res is 0, -ENOENT (none) or -EALREADY (running; it may complete).
func (r *Ring) PrepCancel(target UserData, ud UserData) {
	s := r.prep(giouring.OpAsyncCancel, -1, false, ud)
	s.Addr = uint64(target)
}

// PrepCancelFd cancels an operation on fd, or with all every one of them;
// res is then how many were cancelled, or -ENOENT.
func (r *Ring) PrepCancelFd(fd int, all bool, ud UserData) {
	s := r.prep(giouring.OpAsyncCancel, fd, false, ud)
	s.OpcodeFlags = giouring.AsyncCancelFd
	if all {
		s.OpcodeFlags |= giouring.AsyncCancelAll
	}
}

// PrepClose closes fd.
func (r *Ring) PrepClose(fd int, ud UserData) { r.prep(giouring.OpClose, fd, false, ud) }

// PrepShutdown is shutdown(2) with how (unix.SHUT_RD, SHUT_WR, SHUT_RDWR).
func (r *Ring) PrepShutdown(fd int, how int, ud UserData) {
	s := r.prep(giouring.OpShutdown, fd, false, ud)
	s.Len = uint32(how)
}

// PrepTimeout is a timer for the loop: it completes with -ETIME after d, or
// -ECANCELED if PrepCancel got it first. The
// timespec lives in the ring, one per SQ slot; the kernel copies it at
// submission (IORING_FEAT_SUBMIT_STABLE), before the slot is reused.
func (r *Ring) PrepTimeout(d time.Duration, ud UserData) {
	if d < 0 {
		panic(fmt.Sprintf("ring: negative timeout %v", d))
	}
	s := r.prep(giouring.OpTimeout, -1, false, ud)
	ts := &r.timespecs[(r.tail-1)&(r.sqEntries-1)]
	*ts = unix.NsecToTimespec(d.Nanoseconds())
	s.Addr = uint64(uintptr(unsafe.Pointer(ts)))
	s.Len = 1
}
