package ring

import (
	"errors"
	"fmt"

	"github.com/pawelgaczynski/giouring"
	"golang.org/x/sys/unix"
)

// Options configure New.
type Options struct {
	// Entries is the SQ size, a power of two up to 32768; 0 means 1024. The
	// CQ is twice as large: giouring's setup offers no other size.
	Entries uint32
}

const (
	defaultEntries = 1024
	maxEntries     = 32768
)

// setupLadder is tried in order; New steps down on EINVAL (an older kernel).
// TASKRUN_FLAG makes the kernel raise IORING_SQ_TASKRUN when completions wait
// as task work (also with DEFER_TASKRUN); ring cannot read that flag, but
// giouring's Submit does, which is how Enter knows it must enter although idle.
var setupLadder = []uint32{
	giouring.SetupSingleIssuer | giouring.SetupDeferTaskrun | giouring.SetupCoopTaskrun |
		giouring.SetupTaskrunFlag | giouring.SetupSubmitAll,
	giouring.SetupSingleIssuer | giouring.SetupCoopTaskrun | giouring.SetupTaskrunFlag |
		giouring.SetupSubmitAll,
	giouring.SetupCoopTaskrun | giouring.SetupTaskrunFlag | giouring.SetupSubmitAll,
	giouring.SetupSubmitAll,
	0,
}

// needFeatures: completions are never dropped (NODROP), timespecs and other
// submit-time arguments are read at submission (SUBMIT_STABLE), and makeRoom
// can fill held-back slots with NOPs that post no CQE (CQE_SKIP).
const needFeatures = giouring.FeatNoDrop | giouring.FeatSubmitStable | giouring.FeatCQESkip

// Ring is one io_uring. Everything but Fd is for the thread that created it.
type Ring struct {
	gr       *giouring.Ring
	features Features // setup flags in effect; Probe fills the rest

	sqEntries, cqEntries uint32
	sqes                 []giouring.SubmissionQueueEntry // the SQE array, learnt from the first GetSQE
	tail                 uint32                          // SQEs handed out: giouring's private SQE tail, mirrored
	chainOpen            bool                            // the last prepared SQE has IOSQE_IO_LINK
	chainStart           uint32                          // tail value of the open chain's first SQE
	held                 []giouring.SubmissionQueueEntry // an open chain makeRoom moved aside

	handlers  [256]Handler
	onCQE     func(*giouring.CompletionQueueEvent) // r.handle, made once so ForEachCQE allocates nothing
	seen      uint32                               // CQEs the current walk handed to handlers
	timespecs []unix.Timespec                      // per SQ slot, for PrepTimeout; read by the kernel at submit
	bufRings  []*BufRing
	overflows uint64
	enters    uint64 // calls into giouring that enter the kernel, for tests
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
	var err error
	for _, flags := range setupLadder {
		var r *Ring
		if r, err = newRing(entries, flags); err == nil {
			return r, nil
		}
		if !errors.Is(err, unix.EINVAL) {
			break
		}
	}
	return nil, err
}

// newRing has giouring set up and map the ring. QueueInitParams is
// QueueInit with the Params in ring's hands, so that the kernel's answer
// (features, sizes) can be read back.
func newRing(entries, flags uint32) (*Ring, error) {
	var gp giouring.Params
	p := paramsOf(&gp)
	p.flags = flags
	gr := giouring.NewRing()
	if err := gr.QueueInitParams(entries, &gp); err != nil {
		return nil, fmt.Errorf("io_uring_setup(entries %d, flags %#x): %w", entries, flags, err)
	}
	if p.features&needFeatures != needFeatures {
		gr.QueueExit()
		return nil, fmt.Errorf("ring: kernel lacks IORING_FEAT_NODROP/SUBMIT_STABLE/CQE_SKIP (features %#x)",
			p.features)
	}
	r := &Ring{gr: gr, sqEntries: p.sqEntries, cqEntries: p.cqEntries}
	r.features = Features{
		SingleIssuer: flags&giouring.SetupSingleIssuer != 0,
		DeferTaskrun: flags&giouring.SetupDeferTaskrun != 0,
		CoopTaskrun:  flags&giouring.SetupCoopTaskrun != 0,
	}
	r.onCQE = r.handle
	r.timespecs = make([]unix.Timespec, r.sqEntries)
	return r, nil
}

// Features reports the setup flags New obtained. Probe fills the rest.
func (r *Ring) Features() Features { return r.features }

// Fd is the ring's descriptor: the target of another ring's PrepMsgRing.
func (r *Ring) Fd() int { return r.gr.RingFd() }

// Overflows counts the times Dispatch found the CQ overflowed and had the
// kernel flush its backlog. Nothing was lost; a CQ that is too small or a
// loop that dispatches too rarely shows here.
func (r *Ring) Overflows() uint64 { return r.overflows }

// Close closes the ring and unmaps it and its buffer rings. The kernel
// cancels what is in flight, but operations already running in io-wq
// workers (blocking file I/O, splice) may still touch their buffers after
// Close returns: reap those before freeing their memory. giouring's
// QueueExit reports no error, so neither does Close.
func (r *Ring) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.gr.QueueExit() // unmaps the SQ/CQ rings and SQEs, closes the fd
	r.sqes = nil
	for _, b := range r.bufRings {
		b.unmap() // the kernel pinned the ring's pages; unmapping after close is safe
	}
	r.bufRings = nil
	return nil
}
