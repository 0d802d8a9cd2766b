package ring

import (
	"unsafe"

	"github.com/pawelgaczynski/giouring"
)

// The kernel ABI. giouring supplies the structs (SubmissionQueueEntry,
// CompletionQueueEvent, BufAndRing, BufReg, Probe) and the constants; what
// it keeps unexported is the setup parameters, so ring keeps a view of them.

// params is struct io_uring_params, which is what giouring.Params is, with
// the fields exported to ring. New writes only the setup flags through it
// (what giouring's QueueInit does) and reads back what the kernel answers:
// the features and the ring sizes.
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

// paramsOf is the kernel view of giouring's Params.
func paramsOf(p *giouring.Params) *params { return (*params)(unsafe.Pointer(p)) }

const sqeSize = unsafe.Sizeof(giouring.SubmissionQueueEntry{})

// Fail the build if a layout is off: ours, or giouring's where ring relies
// on it matching the kernel's.
var (
	_ [120 - unsafe.Sizeof(params{})]struct{}
	_ [unsafe.Sizeof(params{}) - 120]struct{}
	_ [120 - unsafe.Sizeof(giouring.Params{})]struct{}
	_ [unsafe.Sizeof(giouring.Params{}) - 120]struct{}
	_ [64 - sqeSize]struct{}
	_ [sqeSize - 64]struct{}
	_ [16 - unsafe.Sizeof(giouring.CompletionQueueEvent{})]struct{}
	_ [unsafe.Sizeof(giouring.CompletionQueueEvent{}) - 16]struct{}
	_ [16 - unsafe.Sizeof(giouring.BufAndRing{})]struct{}
	_ [unsafe.Sizeof(giouring.BufAndRing{}) - 16]struct{}
	// struct io_uring_buf_reg: ring_addr, ring_entries, bgid, flags, resv[3].
	_ [40 - unsafe.Sizeof(giouring.BufReg{})]struct{}
	_ [unsafe.Sizeof(giouring.BufReg{}) - 40]struct{}
	_ [8 - unsafe.Offsetof(giouring.BufReg{}.RingEntries)]struct{}
	_ [unsafe.Offsetof(giouring.BufReg{}.RingEntries) - 8]struct{}
	_ [12 - unsafe.Offsetof(giouring.BufReg{}.Bgid)]struct{}
	_ [unsafe.Offsetof(giouring.BufReg{}.Bgid) - 12]struct{}
	_ [16 - unsafe.Offsetof(giouring.BufReg{}.Resv)]struct{}
	_ [unsafe.Offsetof(giouring.BufReg{}.Resv) - 16]struct{}
)
