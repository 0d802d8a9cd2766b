package ring

import (
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pawelgaczynski/giouring"
	"golang.org/x/sys/unix"
)

// Test op kinds. opWake routes the test loop's Waker.
const (
	opA = iota + 1
	opB
	opC
	opWake = 250
)

// event is one completion as a handler saw it.
type event struct {
	id    uint64
	res   int32
	flags uint32
}

// loop is a test shard: a ring on the test's locked thread with a Waker, so
// a watchdog timer can wake a loop whose expected completion never comes.
type loop struct {
	t      testing.TB
	r      *Ring
	w      *Waker
	events map[uint8]*[]event
}

// newLoop locks the test goroutine to its thread for good: the thread exits
// with the test, taking the ring's task state with it.
func newLoop(t testing.TB, opts Options) *loop {
	t.Helper()
	runtime.LockOSThread()
	r, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	w, err := NewWaker(r, Pack(opWake, 0))
	if err != nil {
		t.Fatal(err)
	}
	r.On(opWake, func(_ uint64, res int32, _ uint32) { w.OnRead(res) })
	l := &loop{t: t, r: r, w: w, events: map[uint8]*[]event{}}
	t.Cleanup(func() {
		_ = w.Close()
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

// record registers a handler for op that appends to the returned slice.
func (l *loop) record(op uint8) *[]event {
	evs := new([]event)
	l.events[op] = evs
	l.r.On(op, func(id uint64, res int32, flags uint32) {
		*evs = append(*evs, event{id, res, flags})
	})
	return evs
}

// runUntil turns the loop (Park, Enter(true), Unpark, Dispatch) until cond
// holds, failing the test after 5 s.
func (l *loop) runUntil(what string, cond func() bool) {
	l.t.Helper()
	var expired atomic.Bool
	watchdog := time.AfterFunc(5*time.Second, func() { expired.Store(true); l.w.Wake() })
	defer watchdog.Stop()
	for !cond() {
		l.w.Park()
		if expired.Load() {
			l.t.Fatalf("timed out waiting for %s", what)
		}
		if err := l.r.Enter(true); err != nil {
			l.t.Fatalf("Enter: %v", err)
		}
		l.w.Unpark()
		l.r.Dispatch()
	}
}

// turn submits and dispatches without waiting.
func (l *loop) turn() int {
	l.t.Helper()
	if err := l.r.Enter(false); err != nil {
		l.t.Fatalf("Enter: %v", err)
	}
	return l.r.Dispatch()
}

func countIs(evs *[]event, n int) func() bool { return func() bool { return len(*evs) >= n } }

func errno(res int32) error {
	if res >= 0 {
		return nil
	}
	return unix.Errno(-res)
}

// TestNewRejectsBadSizes. The CQEntries cases are gone with the option:
// giouring's setup cannot size the CQ (it is always 2x the SQ).
func TestNewRejectsBadSizes(t *testing.T) {
	for _, o := range []Options{{Entries: 3}, {Entries: 65536}} {
		if r, err := New(o); err == nil {
			r.Close()
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}

func TestNewGetsAllSetupFlags(t *testing.T) {
	l := newLoop(t, Options{})
	f := l.r.Features()
	if !f.SingleIssuer || !f.DeferTaskrun || !f.CoopTaskrun {
		t.Fatalf("features %+v: want SINGLE_ISSUER, DEFER_TASKRUN, COOP_TASKRUN on Linux 6.18", f)
	}
	if l.r.sqEntries != 1024 || l.r.cqEntries != 2048 {
		t.Fatalf("SQ %d, CQ %d entries: want 1024, 2048", l.r.sqEntries, l.r.cqEntries)
	}
}

// TestNewCQIsTwiceSQ replaces TestNewCQEntries: with giouring the CQ size
// cannot be chosen (its Params are unexported and QueueInit sets no
// CQSIZE), so the CQ is always twice the SQ.
func TestNewCQIsTwiceSQ(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	if l.r.sqEntries != 8 || l.r.cqEntries != 16 {
		t.Fatalf("SQ %d, CQ %d entries: want 8, 16", l.r.sqEntries, l.r.cqEntries)
	}
}

// TestNewFallsBack replaces the ladder's first rung with flags the kernel
// refuses (DEFER_TASKRUN without SINGLE_ISSUER is EINVAL) and checks New
// steps down to the next one, which then works.
func TestNewFallsBack(t *testing.T) {
	saved := setupLadder
	defer func() { setupLadder = saved }()
	setupLadder = []uint32{giouring.SetupDeferTaskrun, giouring.SetupCoopTaskrun | giouring.SetupTaskrunFlag}
	l := newLoop(t, Options{Entries: 8})
	f := l.r.Features()
	if f.DeferTaskrun || f.SingleIssuer || !f.CoopTaskrun {
		t.Fatalf("features %+v: want COOP_TASKRUN only", f)
	}
	evs := l.record(opA)
	l.r.PrepNop(Pack(opA, 1))
	l.runUntil("nop", countIs(evs, 1))
}

// TestEnterSkipsIdleSyscall: with nothing to submit, no wait and no task
// work flagged, Enter must not enter the kernel. r.enters counts ring's calls
// into giouring that always enter; on an idle ring Enter leaves the choice to
// giouring's Submit, which enters only if the kernel flagged task work or an
// overflow (TestEnterReapsFlaggedTaskWork covers that side).
func TestEnterSkipsIdleSyscall(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	l.turn() // submits the Waker's read
	before := l.r.enters
	for range 10 {
		l.turn()
	}
	if l.r.enters != before {
		t.Fatalf("%d io_uring_enter calls on an idle ring", l.r.enters-before)
	}
	l.r.PrepNop(Pack(opA, 0))
	l.record(opA)
	l.turn()
	if l.r.enters != before+1 {
		t.Fatalf("%d enters for one nop, want 1", l.r.enters-before)
	}
}

// TestEnterReapsFlaggedTaskWork: a completion that waits as DEFER_TASKRUN
// task work raises IORING_SQ_TASKRUN (TASKRUN_FLAG), and a non-waiting Enter
// with nothing to submit must still enter and run it, or a busy loop would
// not see it until it next sleeps.
func TestEnterReapsFlaggedTaskWork(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	evs := l.record(opA)
	pr, pw := pipe(t)
	buf := heapBuf(8)
	l.r.PrepRead(pr, ptr(buf), len(buf), ^uint64(0), Pack(opA, 1))
	l.turn()
	if _, err := unix.Write(pw, []byte{1}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(*evs) == 0 && time.Now().Before(deadline) {
		if l.r.Pending() != 0 {
			t.Fatalf("Pending %d on a ring with nothing prepared", l.r.Pending())
		}
		l.turn()
		time.Sleep(time.Millisecond)
	}
	if len(*evs) != 1 || (*evs)[0].res != 1 {
		t.Fatalf("read completions %+v: Enter(false) did not run the flagged task work", *evs)
	}
}

// TestEnterFromOtherThreadFails documents SINGLE_ISSUER: a ring entered
// from another thread gets EEXIST, which is why New must run on the loop's
// locked thread.
func TestEnterFromOtherThreadFails(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	errc := make(chan error)
	go func() {
		runtime.LockOSThread()
		l.r.PrepNop(Pack(opA, 0))
		errc <- l.r.Enter(false)
	}()
	if err := <-errc; !errors.Is(err, unix.EEXIST) {
		t.Fatalf("Enter from another thread: %v, want EEXIST", err)
	}
}

func TestCloseTwice(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := New(Options{Entries: 8})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
