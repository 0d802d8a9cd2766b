package ring

import (
	"fmt"
	"strings"
	"testing"
)

// TestNopDispatch: each completion reaches its op's handler with its id, in
// submission order, and Pending/Dispatch count right.
func TestNopDispatch(t *testing.T) {
	l := newLoop(t, Options{Entries: 64})
	a, b := l.record(opA), l.record(opB)
	l.turn()
	for i := range 20 {
		l.r.PrepNop(Pack(uint8(opA+i%2), uint64(i)))
	}
	if p := l.r.Pending(); p != 20 {
		t.Fatalf("Pending %d, want 20", p)
	}
	if err := l.r.Enter(false); err != nil {
		t.Fatal(err)
	}
	if p := l.r.Pending(); p != 0 {
		t.Fatalf("Pending %d after Enter, want 0", p)
	}
	if n := l.r.Dispatch(); n != 20 {
		t.Fatalf("Dispatch handled %d, want 20", n)
	}
	for i, evs := range [][]event{*a, *b} {
		if len(evs) != 10 {
			t.Fatalf("op %d got %d completions, want 10", opA+i, len(evs))
		}
		for j, e := range evs {
			if e.id != uint64(2*j+i) || e.res != 0 {
				t.Fatalf("op %d completion %d: %+v", opA+i, j, e)
			}
		}
	}
	if n := l.r.Dispatch(); n != 0 {
		t.Fatalf("second Dispatch handled %d", n)
	}
}

func TestDispatchPanicsOnUnregisteredOp(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	l.r.PrepNop(Pack(77, 5))
	defer func() {
		msg := fmt.Sprint(recover())
		if !strings.Contains(msg, "op 77") || !strings.Contains(msg, "id 5") {
			t.Fatalf("panic %q, want the op and id in it", msg)
		}
	}()
	l.turn()
	t.Fatal("no panic")
}

// TestCQOverflowLosesNothing: 64 nops into a CQ of 8 before any Dispatch;
// the kernel backlogs the excess and Dispatch delivers every one, in order.
// The CQ is small because the SQ is (4 entries, so a CQ of 8): giouring's
// setup cannot size the CQ apart from the SQ.
func TestCQOverflowLosesNothing(t *testing.T) {
	l := newLoop(t, Options{Entries: 4})
	evs := l.record(opA)
	l.turn() // the Waker's read is in flight
	for i := range 64 {
		l.r.PrepNop(Pack(opA, uint64(i)))
		if l.r.Pending() == 4 {
			if err := l.r.Enter(false); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := l.r.Enter(false); err != nil {
		t.Fatal(err)
	}
	if n := l.r.Dispatch(); n != 64 {
		t.Fatalf("Dispatch handled %d, want 64", n)
	}
	for i, e := range *evs {
		if e.id != uint64(i) {
			t.Fatalf("completion %d has id %d: reordered or lost", i, e.id)
		}
	}
	if l.r.Overflows() == 0 {
		t.Fatal("Overflows() = 0 after overflowing the CQ")
	}
	t.Logf("overflow flushes: %d", l.r.Overflows())
}

// TestSQFullSubmitsQueued: preparing more SQEs than the SQ holds submits
// the queued ones instead of failing.
func TestSQFullSubmitsQueued(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	evs := l.record(opA)
	for i := range 100 {
		l.r.PrepNop(Pack(opA, uint64(i)))
	}
	l.runUntil("100 nops", countIs(evs, 100))
}

// TestFullSQKeepsLinkedChainWhole: when the SQ fills in the middle of a
// linked chain, the chain is held back and submitted whole. The chain's
// first send fails (bad fd), so a whole chain cancels the rest; a cut chain
// would run them and fail with EBADF instead.
func TestFullSQKeepsLinkedChainWhole(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	nops, sends := l.record(opA), l.record(opB)
	for i := range 6 {
		l.r.PrepNop(Pack(opA, uint64(i)))
	}
	b := heapBuf(8)
	// The Waker's read and 6 nops take 7 slots, the chain's head the 8th.
	for i := range 4 {
		l.r.PrepSend(-1, ptr(b), len(b), 0, i < 3, Pack(opB, uint64(i)))
	}
	l.runUntil("chain", countIs(sends, 4))
	l.runUntil("nops", countIs(nops, 6))
	for i, e := range *sends {
		want := -int32(9) // EBADF for the head
		if i > 0 {
			want = -125 // ECANCELED
		}
		if e.res != want {
			t.Fatalf("send %d: res %d (%v), want %d", e.id, e.res, errno(e.res), want)
		}
	}
}

// TestFullSQKeepsLongerChainWhole: as above with three of the chain's SQEs
// queued when the SQ fills, so makeRoom holds back and moves several; the
// NOPs it submits in their slots post no CQE (an op-0 CQE would panic).
func TestFullSQKeepsLongerChainWhole(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	nops, sends := l.record(opA), l.record(opB)
	for i := range 4 {
		l.r.PrepNop(Pack(opA, uint64(i)))
	}
	b := heapBuf(8)
	const chain = 6 // the Waker's read and 4 nops leave 3 slots for it
	for i := range chain {
		l.r.PrepSend(-1, ptr(b), len(b), 0, i < chain-1, Pack(opB, uint64(i)))
	}
	if p := l.r.Pending(); p != chain {
		t.Fatalf("Pending %d after the SQ filled, want the %d chain SQEs", p, chain)
	}
	l.runUntil("chain", countIs(sends, chain))
	l.runUntil("nops", countIs(nops, 4))
	for i, e := range *sends {
		want := -int32(9) // EBADF for the head
		if i > 0 {
			want = -125 // ECANCELED
		}
		if e.id != uint64(i) || e.res != want {
			t.Fatalf("send %d: id %d res %d (%v), want %d", i, e.id, e.res, errno(e.res), want)
		}
	}
}

func TestFullSQChainTooLongPanics(t *testing.T) {
	l := newLoop(t, Options{Entries: 4})
	l.turn()
	b := heapBuf(8)
	defer func() {
		if msg := fmt.Sprint(recover()); !strings.Contains(msg, "linked chain") {
			t.Fatalf("panic %q", msg)
		}
		l.r.chainOpen = false
	}()
	for i := range 5 {
		l.r.PrepSend(-1, ptr(b), len(b), 0, true, Pack(opB, uint64(i)))
	}
	t.Fatal("no panic")
}

// TestDispatchAllocatesNothing: a steady nop turn (prep, enter, dispatch)
// allocates nothing.
func TestDispatchAllocatesNothing(t *testing.T) {
	l := newLoop(t, Options{Entries: 64})
	n := 0
	l.r.On(opA, func(uint64, int32, uint32) { n++ })
	l.turn()
	allocs := testing.AllocsPerRun(100, func() {
		for i := range 32 {
			l.r.PrepNop(Pack(opA, uint64(i)))
		}
		_ = l.r.Enter(false)
		l.r.Dispatch()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per turn", allocs)
	}
	if n != 101*32 {
		t.Fatalf("%d completions, want %d", n, 101*32)
	}
}
