// Package ring is the only package in Weir that talks io_uring. It owns the
// ring's setup and shared memory, SQE preparation for every operation Weir
// uses, completion dispatch, provided-buffer rings, the eventfd Waker that
// wakes a sleeping loop, and the MPSC Queue other goroutines post work on.
//
// Only I/O packages import ring: netio (sockets) and logstore (files).
// engine, replica and the tools see frames and files, never SQEs. ring
// imports nothing of Weir's, only giouring and golang.org/x/sys.
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
// The SQ/CQ rings and SQEs (giouring maps them), buffer rings and their
// buffers (ring maps them) are mmaps. Memory passed to a Prep as
// unsafe.Pointer must not move or be freed until the operation completes: Go
// heap objects kept referenced (Go's GC does not move heap objects) or mmaps,
// never goroutine stacks. Timespecs for PrepTimeout live in the Ring, one
// per SQ slot.
//
// # Completions are never lost
//
// The kernel must have IORING_FEAT_NODROP: a CQE that finds the CQ full
// goes to a kernel backlog and IORING_SQ_CQ_OVERFLOW is set. Dispatch then
// enters with GETEVENTS to flush the backlog and counts it in Overflows. If
// the kernel itself fails to allocate the backlog entry it drops the CQE and
// reports EBADR, which Enter returns: the loop must stop.
//
// # giouring
//
// ring sits on giouring (v0.0.0-20230826085535-69588b89acb9, the only
// version served) for setup and the mmaps of the SQ/CQ rings and SQEs
// (QueueInitParams, QueueExit), SQE slots (GetSQE), entering (SubmitAndWait,
// SubmitAndGetEvents, Submit, GetEvents: all io_uring_enter through
// syscall.Syscall6, never RawSyscall), CQ walking (ForEachCQE, CQAdvance,
// CQReady, CQHasOverflow, SQReady), buffer ring registration
// (RegisterBufferRing, UnregisterBufferRing), the opcode probe
// (GetProbeRing) and RingFd. Its structs and constants are the kernel ABI
// ring uses. What ring still does itself, and why:
//   - Params' fields are unexported. ring writes the setup flags into them
//     (what QueueInit does) and reads back the features and ring sizes through
//     a kernel-layout view (abi.go), so New still refuses a kernel without
//     NODROP, SUBMIT_STABLE or CQE_SKIP. It sets no CQSIZE: the CQ is 2x the
//     SQ, and Overflows shows when that is too small.
//   - It fills every SQE itself, zeroed first, and uses none of giouring's
//     Prepare* helpers: prepareRW does not clear rw_flags/addr3 (a write after
//     a DATASYNC fsync fails with EINVAL; TestSQEReuseDoesNotLeakFlags);
//     PrepareSendZC sends the slice header; PrepareTimeout passes the address
//     of a pointer and never fires (ring keeps a timespec per SQ slot);
//     link-timeout and timeout update/remove point into dead stack frames;
//     PrepareMsgRingFd sets a pointer where 1 belongs (ring fills MSG_RING
//     itself); PrepareSendto/PrepareConnect take a pointer to an interface;
//     path preps pass slice headers.
//   - giouring can only submit every SQE it has handed out. To keep an open
//     linked chain whole when the SQ fills, makeRoom copies the chain aside,
//     submits its slots as NOPs that post no CQE (IOSQE_CQE_SKIP_SUCCESS) and
//     copies it back into fresh slots.
//   - The SQ flags word is unexported apart from CQHasOverflow. Setup asks
//     for TASKRUN_FLAG anyway: with DEFER_TASKRUN too the kernel raises
//     IORING_SQ_TASKRUN when completions wait as task work
//     (TestEnterReapsFlaggedTaskWork). With nothing to submit and no wait,
//     Enter calls giouring's Submit, which reads that flag and enters (with
//     GETEVENTS) only when it or CQ_OVERFLOW is set; every other enter passes
//     GETEVENTS.
//   - Buffer rings: ring mmaps and unmaps the ring and its buffers itself
//     (giouring's FreeBufRing leaks its mmap) and publishes the tail with one
//     atomic 32-bit store.
//   - RegisterFiles* pass 64-bit fds where the kernel reads 32-bit ones and
//     swallow errors, RegisterFilesUpdateTag uses the wrong opcode, and
//     PeekBatchCQE computes its end before clamping: ring uses none of them.
//   - QueueExit ignores close's error, so Ring.Close returns nil.
//
// giouring pulls syscall.munmap by go:linkname, which Go >= 1.23 links only
// with -ldflags=-checklinkname=0, needed again for every build and test of a
// package that imports ring. The Makefile passes it through GOFLAGS; anyone
// who passes their own -ldflags must repeat it.
package ring
