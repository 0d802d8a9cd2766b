package ring

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/pawelgaczynski/giouring"
	"golang.org/x/sys/unix"
)

// Pending is the number of SQEs prepared and not yet consumed by the kernel.
func (r *Ring) Pending() int { return int(r.gr.SQReady()) }

// Enter is the loop's one io_uring_enter per turn. It submits every prepared
// SQE and always asks for events (IORING_ENTER_GETEVENTS), which runs the
// task work DEFER_TASKRUN leaves for this thread. With wait it blocks until a
// completion is ready. It makes no syscall when there is nothing to submit,
// nothing to wait for and no task work or overflow flagged by the kernel.
// An interrupted or refused (EAGAIN, EBUSY) enter returns nil: what was not
// submitted stays queued for the next turn.
//
// The enter itself is giouring's, through syscall.Syscall6 (never
// RawSyscall, so a sleeping loop does not hold up the scheduler or a GC):
// SubmitAndWait(1) to sleep, SubmitAndGetEvents to submit, and with nothing
// to submit Submit, which enters (with GETEVENTS) only when the kernel has
// raised IORING_SQ_TASKRUN or _CQ_OVERFLOW: giouring reads those flags, ring
// cannot.
func (r *Ring) Enter(wait bool) error {
	if r.err != nil {
		return r.err
	}
	submit := r.gr.SQReady()
	var err error
	switch {
	case wait && r.gr.CQReady() == 0:
		r.enters++
		_, err = r.gr.SubmitAndWait(1)
	case submit > 0:
		r.enters++
		_, err = r.gr.SubmitAndGetEvents()
	default:
		_, err = r.gr.Submit() // no syscall unless task work or an overflow is flagged
	}
	return r.enterErr(err, submit, wait)
}

// enterErr sorts io_uring_enter errors: transient ones are retried next turn,
// EBADR (the kernel dropped CQEs: NODROP failed to allocate) sticks.
func (r *Ring) enterErr(err error, submit uint32, wait bool) error {
	switch {
	case err == nil || transient(err):
		return nil
	case errors.Is(err, unix.EBADR):
		r.err = fmt.Errorf("ring: the kernel dropped completions: %w", err)
		return r.err
	}
	return fmt.Errorf("io_uring_enter(submit %d, wait %v): %w", submit, wait, err)
}

// transient errors leave the SQEs queued; the next enter retries them.
func transient(err error) bool {
	return errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EBUSY)
}

// next hands out a zeroed SQE from giouring, making room first if the SQ is
// full. The zeroing is the point: giouring's Prepare* helpers leave
// rw_flags, addr3 and more from the slot's previous use.
func (r *Ring) next() *giouring.SubmissionQueueEntry {
	s := r.gr.GetSQE()
	if s == nil {
		r.makeRoom()
		s = r.gr.GetSQE() // makeRoom leaves room for this one
	}
	if r.sqes == nil {
		// SQE i sits in slot i&mask (giouring fills the SQ array that way).
		base := unsafe.Add(unsafe.Pointer(s), -int(uintptr(r.tail&(r.sqEntries-1))*sqeSize))
		r.sqes = unsafe.Slice((*giouring.SubmissionQueueEntry)(base), r.sqEntries)
	}
	r.tail++
	*s = giouring.SubmissionQueueEntry{}
	return s
}

// makeRoom submits what is queued, except an open linked chain: a chain cut
// across two submissions becomes two chains that may run concurrently.
// giouring can only submit everything it has handed out, so the chain's
// SQEs are copied aside, their slots submitted as NOPs that post no CQE
// (IOSQE_CQE_SKIP_SUCCESS), and the chain copied back into fresh slots.
func (r *Ring) makeRoom() {
	head := r.tail - r.gr.SQReady()
	var chain uint32
	if r.chainOpen {
		if int32(r.chainStart-head) < 0 {
			// An Enter already submitted the chain's start: what is still
			// queued is the rest of it.
			r.chainStart = head
		}
		chain = r.tail - r.chainStart
		if chain == r.sqEntries {
			panic(fmt.Sprintf("ring: a linked chain of %d SQEs fills the whole SQ (%d entries)",
				chain, r.sqEntries))
		}
		r.held = r.held[:0]
		for i := r.chainStart; i != r.tail; i++ {
			s := &r.sqes[i&(r.sqEntries-1)]
			r.held = append(r.held, *s)
			*s = giouring.SubmissionQueueEntry{OpCode: giouring.OpNop, Flags: giouring.SqeCQESkipSuccess}
		}
	}
	for tries := 0; r.gr.SQSpaceLeft() <= chain; tries++ {
		r.enters++
		_, err := r.gr.Submit()
		if (err != nil && !transient(err)) || tries == 1000 {
			panic(fmt.Sprintf("ring: cannot make room in a full SQ (%d queued, %d tries): %v",
				r.gr.SQReady(), tries, err))
		}
	}
	if chain > 0 {
		r.chainStart = r.tail
		for i := range r.held {
			s := r.gr.GetSQE()
			r.tail++
			*s = r.held[i]
		}
	}
}

// prep takes an SQE and fills the fields every operation has.
func (r *Ring) prep(op uint8, fd int, link bool, ud UserData) *giouring.SubmissionQueueEntry {
	s := r.next()
	s.OpCode = op
	s.Fd = int32(fd)
	s.UserData = uint64(ud)
	if !link {
		r.chainOpen = false
		return s
	}
	s.Flags = giouring.SqeIOLink
	if !r.chainOpen {
		r.chainOpen = true
		r.chainStart = r.tail - 1
	}
	return s
}
