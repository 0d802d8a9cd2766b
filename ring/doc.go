// Package ring is the only package in Weir that talks io_uring. It owns the
// ring's setup and shared memory, SQE preparation for every operation Weir
// uses, completion dispatch, provided-buffer rings, the eventfd Waker that
// wakes a sleeping loop, and the MPSC Queue other goroutines post work on.
//
// Only I/O packages import ring: netio (sockets) and logstore (files).
// engine, replica and the tools see frames and files, never SQEs. ring
// imports nothing of Weir's, only golang.org/x/sys.
//
// # Threads
//
// A Ring belongs to one OS thread: the one that called New after
// runtime.LockOSThread (and, for a shard, SchedSetaffinity). New asks for
// SINGLE_ISSUER|DEFER_TASKRUN|COOP_TASKRUN|TASKRUN_FLAG|SUBMIT_ALL and steps
// down on EINVAL (Features says what it got). With SINGLE_ISSUER another
// thread's enter fails with EEXIST, and with DEFER_TASKRUN completions are
// only produced when the owner thread enters with GETEVENTS. Only Ring.Fd,
// Waker.Wake and Queue.Push/Len are for other goroutines.
//
// # The loop
//
// One turn of a shard loop, with one io_uring_enter:
//
//	for {
//		msgs = inbox.Drain(msgs[:0])  // 1. posted work; may Prep SQEs
//		...                           //    start sends, bufs.Publish(), re-arm recvs
//		w.Park()                      // 2. from here a Wake writes the eventfd
//		if inbox.Len() > 0 {          //    work that came before Park
//			w.Unpark()
//			r.Enter(false)            //    submit, don't sleep
//		} else {
//			r.Enter(true)             //    submit and sleep until a CQE
//		}
//		w.Unpark()
//		r.Dispatch()                  // 3. handlers per op; may Prep SQEs
//	}
//
// Producers do inbox.Push(v); w.Wake(). Both sides use sequentially
// consistent atomics, so either the loop sees the item after Park or the
// producer sees the loop parked and writes the eventfd, whose read is always
// pending in the ring: no wake-up is lost, and a busy loop costs producers
// no syscall. Between rings of different shards, PrepMsgRing posts a CQE
// straight into the other ring.
//
// # User data
//
// Every SQE's user_data is a UserData; Dispatch calls the Handler registered
// with On for its op, without allocating:
//
//	 63      56 55                                                 0
//	+----------+----------------------------------------------------+
//	|    op    |                 id (conn, request, ...)            |
//	+----------+----------------------------------------------------+
//
// Each package that uses a Ring picks its own op numbers; the ring has no
// reserved ops (Probe uses its own ring).
//
// # Memory
//
// The SQ/CQ rings, SQEs, buffer rings and their buffers are mmaps. Memory
// passed to a Prep as unsafe.Pointer must not move or be freed until the
// operation completes: Go heap objects kept referenced (Go's GC does not
// move heap objects) or mmaps, never goroutine stacks. Timespecs for
// PrepTimeout live in the Ring, one per SQ slot.
//
// # Completions are never lost
//
// The kernel must have IORING_FEAT_NODROP: a CQE that finds the CQ full
// goes to a kernel backlog and IORING_SQ_CQ_OVERFLOW is set. Dispatch then
// enters with GETEVENTS to flush the backlog and counts it in Overflows. If
// the kernel itself fails to allocate the backlog entry it drops the CQE and
// reports EBADR, which Enter returns: the loop must stop.
//
// # Why not giouring
//
// giouring (v0.0.0-20230826085535-69588b89acb9, the only version served) was
// read and tested; ring uses none of it, for these reasons:
//   - Its Params and ring pointers are unexported, so the SQ flags
//     (IORING_SQ_TASKRUN, _CQ_OVERFLOW), the overflow counter and the CQ size
//     cannot be reached. ring does the setup and mmap itself, as liburing
//     does, in about a hundred lines (abi.go, ring.go).
//   - prepareRW does not clear rw_flags/addr3: a reused SQE keeps the last
//     op's flags (a write after a DATASYNC fsync fails with EINVAL). ring
//     zeroes every SQE before filling it (TestSQEReuseDoesNotLeakFlags).
//   - PrepareSendZC sends the slice header; PrepareTimeout passes the address
//     of a pointer and never fires; link-timeout and timeout update/remove
//     point into dead stack frames; PrepareMsgRingFd sets a pointer where 1
//     belongs; PrepareSendto/PrepareConnect take a pointer to an interface;
//     path preps pass slice headers.
//   - RegisterFiles* pass 64-bit fds where the kernel reads 32-bit ones and
//     swallow errors; RegisterFilesUpdateTag uses the wrong opcode.
//   - FreeBufRing leaks its mmap; buffer ring tail updates are not atomic;
//     PeekBatchCQE computes its end before clamping.
//   - It pulls syscall.munmap by go:linkname, which Go >= 1.23 links only
//     with -ldflags=-checklinkname=0.
package ring
