package ring

import (
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Pending is the number of SQEs prepared and not yet consumed by the kernel.
func (r *Ring) Pending() int { return int(r.sqeTail - atomic.LoadUint32(r.sqHead)) }

// Enter is the loop's one io_uring_enter per turn. It submits every prepared
// SQE and always asks for events (IORING_ENTER_GETEVENTS), which runs the
// task work DEFER_TASKRUN leaves for this thread. With wait it blocks until a
// completion is ready. It makes no syscall when there is nothing to submit,
// nothing to wait for and no task work or overflow flagged by the kernel.
// An interrupted or refused (EAGAIN, EBUSY) enter returns nil: what was not
// submitted stays queued for the next turn.
func (r *Ring) Enter(wait bool) error {
	if r.err != nil {
		return r.err
	}
	atomic.StoreUint32(r.sqTail, r.sqeTail)
	submit := r.sqeTail - atomic.LoadUint32(r.sqHead)
	var minComplete uint32
	if wait && r.cqReady() == 0 {
		minComplete = 1
	}
	flagged := r.sqFlagsNow()&(sqTaskrun|sqCQOverflow) != 0
	if submit == 0 && minComplete == 0 && !flagged {
		return nil
	}
	_, err := r.enter(submit, minComplete, enterGetEvents)
	return r.enterErr(err, submit, wait)
}

func (r *Ring) enter(submit, minComplete, flags uint32) (int, error) {
	r.enters++
	return sysEnter(r.fd, submit, minComplete, flags)
}

// enterErr sorts io_uring_enter errors: transient ones are retried next turn,
// EBADR (the kernel dropped CQEs: NODROP failed to allocate) sticks.
func (r *Ring) enterErr(err error, submit uint32, wait bool) error {
	switch {
	case err == nil || transient(err):
		return nil
	case errors.Is(err, unix.EBADR):
		r.err = fmt.Errorf("ring: the kernel dropped completions (cq overflow counter %d): %w",
			atomic.LoadUint32(r.cqOverflow), err)
		return r.err
	}
	return fmt.Errorf("io_uring_enter(submit %d, wait %v): %w", submit, wait, err)
}

// transient errors leave the SQEs queued; the next enter retries them.
func transient(err error) bool {
	return errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EBUSY)
}

func (r *Ring) cqReady() uint32 { return atomic.LoadUint32(r.cqTail) - *r.cqHead }

// next hands out a zeroed SQE, making room first if the SQ is full. The
// zeroing is the point: giouring's Prepare* helpers leave rw_flags, addr3 and
// more from the slot's previous use.
func (r *Ring) next() *sqe {
	if r.sqeTail-atomic.LoadUint32(r.sqHead) == r.sqEntries {
		r.makeRoom()
	}
	s := &r.sqes[r.sqeTail&r.sqMask]
	r.sqeTail++
	*s = sqe{}
	return s
}

// makeRoom submits what is queued, except an open linked chain: a chain cut
// across two submissions becomes two chains that may run concurrently.
func (r *Ring) makeRoom() {
	head := atomic.LoadUint32(r.sqHead)
	n := r.sqeTail - head
	if r.chainOpen {
		n = r.chainStart - head
	}
	if n == 0 {
		panic(fmt.Sprintf("ring: a linked chain of %d SQEs fills the whole SQ (%d entries)",
			r.sqeTail-r.chainStart, r.sqEntries))
	}
	atomic.StoreUint32(r.sqTail, r.sqeTail)
	for tries := 0; atomic.LoadUint32(r.sqHead) == head; tries++ {
		_, err := r.enter(n, 0, 0)
		if (err != nil && !transient(err)) || tries == 1000 {
			panic(fmt.Sprintf("ring: cannot make room in a full SQ (%d queued, %d tries): %v",
				n, tries, err))
		}
	}
}

// prep takes an SQE and fills the fields every operation has.
func (r *Ring) prep(op uint8, fd int, link bool, ud UserData) *sqe {
	s := r.next()
	s.opcode = op
	s.fd = int32(fd)
	s.userData = uint64(ud)
	if !link {
		r.chainOpen = false
		return s
	}
	s.flags = sqeIOLink
	if !r.chainOpen {
		r.chainOpen = true
		r.chainStart = r.sqeTail - 1
	}
	return s
}
