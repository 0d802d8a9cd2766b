package ring

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel ABI ring uses, from include/uapi/linux/io_uring.h. These
// layouts and values are the kernel's and must not change.

// sqe is struct io_uring_sqe (64 bytes).
type sqe struct {
	opcode      uint8
	flags       uint8  // IOSQE_*
	ioprio      uint16 // also accept/recv/send flags (IORING_*_MULTISHOT)
	fd          int32
	off         uint64 // also addr2, the MSG_RING user_data
	addr        uint64 // also splice_off_in
	len         uint32
	opFlags     uint32 // rw_flags, fsync_flags, msg_flags, poll32_events, ...
	userData    uint64
	bufIndex    uint16 // also buf_group
	personality uint16
	spliceFdIn  int32 // also file_index
	addr3       uint64
	_           uint64
}

// cqe is struct io_uring_cqe (16 bytes; no CQE32 rings).
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// params is struct io_uring_params.
type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqOffsets
	cqOff                                                                  cqOffsets
}

type sqOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// bufEntry is struct io_uring_buf; the ring's tail overlays entry 0's resv.
type bufEntry struct {
	addr uint64
	len  uint32
	bid  uint16
	tail uint16
}

// bufReg is struct io_uring_buf_reg.
type bufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	flags       uint16
	resv        [3]uint64
}

// probe is struct io_uring_probe with room for every opcode.
type probe struct {
	lastOp, opsLen uint8
	resv           uint16
	resv2          [3]uint32
	ops            [256]struct {
		op, resv uint8
		flags    uint16 // IO_URING_OP_SUPPORTED
		resv2    uint32
	}
}

// Fail the build if a layout is off.
var (
	_ [64 - unsafe.Sizeof(sqe{})]struct{}
	_ [unsafe.Sizeof(sqe{}) - 64]struct{}
	_ [16 - unsafe.Sizeof(cqe{})]struct{}
	_ [unsafe.Sizeof(cqe{}) - 16]struct{}
	_ [120 - unsafe.Sizeof(params{})]struct{}
	_ [unsafe.Sizeof(params{}) - 120]struct{}
	_ [16 - unsafe.Sizeof(bufEntry{})]struct{}
	_ [40 - unsafe.Sizeof(bufReg{})]struct{}
)

// Opcodes (enum io_uring_op).
const (
	opNop         = 0
	opFsync       = 3
	opPollAdd     = 6
	opTimeout     = 11
	opAccept      = 13
	opAsyncCancel = 14
	opClose       = 19
	opRead        = 22
	opWrite       = 23
	opSend        = 26
	opRecv        = 27
	opSplice      = 30
	opShutdown    = 34
	opMsgRing     = 40
	opSendZC      = 47
)

const (
	sqeIOLink       = 1 << 2 // IOSQE_IO_LINK
	sqeBufferSelect = 1 << 5 // IOSQE_BUFFER_SELECT

	setupCQSize        = 1 << 3
	setupSubmitAll     = 1 << 7
	setupCoopTaskrun   = 1 << 8
	setupTaskrunFlag   = 1 << 9
	setupSingleIssuer  = 1 << 12
	setupDeferTaskrun  = 1 << 13
	featSingleMmap     = 1 << 0
	featNoDrop         = 1 << 1
	featSubmitStable   = 1 << 2
	sqCQOverflow       = 1 << 1 // IORING_SQ_CQ_OVERFLOW
	sqTaskrun          = 1 << 2 // IORING_SQ_TASKRUN
	enterGetEvents     = 1 << 0
	cqeFBuffer         = 1 << 0
	cqeFMore           = 1 << 1
	cqeBufferShift     = 16
	fsyncDatasync      = 1 << 0
	acceptMultishot    = 1 << 0 // in sqe.ioprio
	recvMultishot      = 1 << 1 // in sqe.ioprio
	asyncCancelAll     = 1 << 0
	asyncCancelFd      = 1 << 1
	msgData            = 0 // IORING_MSG_DATA, in sqe.addr
	opSupported        = 1 << 0
	registerProbe      = 8
	registerPbufRing   = 22
	unregisterPbufRing = 23
)

// mmap offsets of the rings (IORING_OFF_*).
const (
	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000
)

func sysSetup(entries uint32, p *params) (int, error) {
	fd, _, errno := syscall.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries),
		uintptr(unsafe.Pointer(p)), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// sysEnter waits through Syscall6, not RawSyscall, so the scheduler can take
// the P and a GC stop-the-world is not held up by a sleeping shard.
func sysEnter(fd int, submit, minComplete, flags uint32) (int, error) {
	n, _, errno := syscall.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), uintptr(submit),
		uintptr(minComplete), uintptr(flags), 0, 0)
	if errno != 0 {
		return int(n), errno
	}
	return int(n), nil
}

func sysRegister(fd int, op uint32, arg unsafe.Pointer, nr uint32) error {
	_, _, errno := syscall.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(fd), uintptr(op),
		uintptr(arg), uintptr(nr), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
