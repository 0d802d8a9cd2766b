package ring

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Options configure New.
type Options struct {
	// Entries is the SQ size, a power of two up to 32768; 0 means 1024.
	Entries uint32
	// CQEntries is the CQ size, a power of two >= Entries; 0 means 2x Entries.
	CQEntries uint32
}

const (
	defaultEntries = 1024
	maxEntries     = 32768
)

// setupLadder is tried in order; New steps down on EINVAL (an older kernel).
// TASKRUN_FLAG makes the kernel raise IORING_SQ_TASKRUN when completions wait
// as task work, which is how Enter knows it must enter although idle.
var setupLadder = []uint32{
	setupSingleIssuer | setupDeferTaskrun | setupCoopTaskrun |
		setupTaskrunFlag | setupSubmitAll,
	setupSingleIssuer | setupCoopTaskrun | setupTaskrunFlag |
		setupSubmitAll,
	setupCoopTaskrun | setupTaskrunFlag | setupSubmitAll,
	setupSubmitAll,
	0,
}

// Ring is one io_uring. Everything but Fd is for the thread that created it.
type Ring struct {
	fd       int
	flags    uint32 // setup flags in effect
	features Features

	sqMem, cqMem, sqeMem []byte // mmaps; cqMem is nil with IORING_FEAT_SINGLE_MMAP
	sqHead, sqTail       *uint32
	sqFlags              *uint32
	sqMask, sqEntries    uint32
	sqes                 []sqe
	sqeTail              uint32 // next SQE to hand out; published to *sqTail by Enter
	chainOpen            bool   // the last prepared SQE has IOSQE_IO_LINK
	chainStart           uint32 // index of the open chain's first SQE

	cqHead, cqTail, cqOverflow *uint32
	cqMask                     uint32
	cqes                       []cqe

	handlers  [256]Handler
	timespecs []unix.Timespec // per SQ slot, for PrepTimeout; read by the kernel at submit
	bufRings  []*BufRing
	overflows uint64
	enters    uint64 // io_uring_enter calls, for tests
	err       error  // sticky: completions were lost
	closed    bool
}

// New creates a ring on the calling OS thread, which must be the only one to
// use it afterwards (the caller did runtime.LockOSThread): SINGLE_ISSUER rings
// refuse other threads with EEXIST, and DEFER_TASKRUN completions only appear
// when this thread enters.
func New(opts Options) (*Ring, error) {
	entries := opts.Entries
	if entries == 0 {
		entries = defaultEntries
	}
	if entries > maxEntries || entries&(entries-1) != 0 {
		return nil, fmt.Errorf("ring: Entries %d is not a power of two <= %d", entries, maxEntries)
	}
	cq := opts.CQEntries
	if cq != 0 && (cq < entries || cq&(cq-1) != 0) {
		return nil, fmt.Errorf("ring: CQEntries %d is not a power of two >= Entries %d", cq, entries)
	}
	var err error
	for _, flags := range setupLadder {
		var r *Ring
		if r, err = newRing(entries, cq, flags); err == nil {
			return r, nil
		}
		if !errors.Is(err, unix.EINVAL) {
			break
		}
	}
	return nil, err
}

func newRing(entries, cqEntries, flags uint32) (*Ring, error) {
	p := params{flags: flags}
	if cqEntries != 0 {
		p.flags |= setupCQSize
		p.cqEntries = cqEntries
	}
	fd, err := sysSetup(entries, &p)
	if err != nil {
		return nil, fmt.Errorf("io_uring_setup(entries %d, flags %#x): %w", entries, p.flags, err)
	}
	if p.features&featNoDrop == 0 || p.features&featSubmitStable == 0 {
		unix.Close(fd)
		return nil, fmt.Errorf("ring: kernel lacks IORING_FEAT_NODROP/SUBMIT_STABLE (features %#x)",
			p.features)
	}
	r := &Ring{fd: fd, flags: p.flags}
	if err := r.mapRings(&p); err != nil {
		unix.Close(fd)
		return nil, err
	}
	r.features = Features{
		SingleIssuer: flags&setupSingleIssuer != 0,
		DeferTaskrun: flags&setupDeferTaskrun != 0,
		CoopTaskrun:  flags&setupCoopTaskrun != 0,
	}
	r.timespecs = make([]unix.Timespec, r.sqEntries)
	return r, nil
}

// mapRings maps the SQ ring, CQ ring and SQE array as liburing does.
func (r *Ring) mapRings(p *params) error {
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes) + int(p.cqEntries)*int(unsafe.Sizeof(cqe{}))
	single := p.features&featSingleMmap != 0
	if single {
		sqSize = max(sqSize, cqSize)
	}
	const prot, flags = unix.PROT_READ | unix.PROT_WRITE, unix.MAP_SHARED | unix.MAP_POPULATE
	var err error
	if r.sqMem, err = unix.Mmap(r.fd, offSQRing, sqSize, prot, flags); err != nil {
		return fmt.Errorf("mmap SQ ring: %w", err)
	}
	r.cqMem = r.sqMem
	if !single {
		if r.cqMem, err = unix.Mmap(r.fd, offCQRing, cqSize, prot, flags); err != nil {
			r.unmap()
			return fmt.Errorf("mmap CQ ring: %w", err)
		}
	}
	sqeSize := int(p.sqEntries) * int(unsafe.Sizeof(sqe{}))
	if r.sqeMem, err = unix.Mmap(r.fd, offSQEs, sqeSize, prot, flags); err != nil {
		r.unmap()
		return fmt.Errorf("mmap SQEs: %w", err)
	}
	r.setPointers(p)
	return nil
}

func (r *Ring) setPointers(p *params) {
	sq := func(off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&r.sqMem[off])) }
	cq := func(off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&r.cqMem[off])) }
	r.sqHead, r.sqTail, r.sqFlags = sq(p.sqOff.head), sq(p.sqOff.tail), sq(p.sqOff.flags)
	r.sqMask, r.sqEntries = *sq(p.sqOff.ringMask), *sq(p.sqOff.ringEntries)
	array := unsafe.Slice(sq(p.sqOff.array), r.sqEntries)
	for i := range array {
		array[i] = uint32(i) // SQE i always sits in slot i
	}
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&r.sqeMem[0])), r.sqEntries)
	r.cqHead, r.cqTail, r.cqOverflow = cq(p.cqOff.head), cq(p.cqOff.tail), cq(p.cqOff.overflow)
	r.cqMask = *cq(p.cqOff.ringMask)
	r.cqes = unsafe.Slice((*cqe)(unsafe.Pointer(&r.cqMem[p.cqOff.cqes])), *cq(p.cqOff.ringEntries))
}

func (r *Ring) unmap() {
	if r.sqeMem != nil {
		_ = unix.Munmap(r.sqeMem)
	}
	if r.cqMem != nil && &r.cqMem[0] != &r.sqMem[0] {
		_ = unix.Munmap(r.cqMem)
	}
	if r.sqMem != nil {
		_ = unix.Munmap(r.sqMem)
	}
	r.sqeMem, r.cqMem, r.sqMem = nil, nil, nil
}

// Features reports the setup flags New obtained. Probe fills the rest.
func (r *Ring) Features() Features { return r.features }

// Fd is the ring's descriptor: the target of another ring's PrepMsgRing.
func (r *Ring) Fd() int { return r.fd }

// Overflows counts the times Dispatch found the CQ overflowed and had the
// kernel flush its backlog. Nothing was lost; a CQ that is too small or a
// loop that dispatches too rarely shows here.
func (r *Ring) Overflows() uint64 { return r.overflows }

// Close closes the ring and unmaps it and its buffer rings. The kernel
// cancels what is in flight, but operations already running in io-wq
// workers (blocking file I/O, splice) may still touch their buffers after
// Close returns: reap those before freeing their memory.
func (r *Ring) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := unix.Close(r.fd)
	r.unmap()
	r.sqes, r.cqes = nil, nil
	for _, b := range r.bufRings {
		b.unmap() // the kernel pinned the ring's pages; unmapping after close is safe
	}
	r.bufRings = nil
	return err
}

// sqFlagsNow reads the kernel's SQ flags (IORING_SQ_CQ_OVERFLOW, _TASKRUN).
func (r *Ring) sqFlagsNow() uint32 { return atomic.LoadUint32(r.sqFlags) }
