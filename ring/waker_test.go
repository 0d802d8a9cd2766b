package ring

import (
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWakerWakesParkedLoop: a loop blocked in Enter(true) with nothing else
// in flight returns when another goroutine calls Wake, and the read's
// completion re-arms it for the next time.
func TestWakerWakesParkedLoop(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	reads := 0
	l.r.On(opWake, func(_ uint64, res int32, _ uint32) { reads++; l.w.OnRead(res) })
	l.turn()
	for round := 1; round <= 3; round++ {
		fallback := time.AfterFunc(5*time.Second, func() { // never hang the test
			unix.Write(l.w.fd, eventOne)
		})
		go func() { time.Sleep(30 * time.Millisecond); l.w.Wake() }()
		start := time.Now()
		l.w.Park()
		if err := l.r.Enter(true); err != nil {
			t.Fatal(err)
		}
		l.w.Unpark()
		waited := time.Since(start)
		fallback.Stop()
		l.r.Dispatch()
		if waited > 4*time.Second {
			t.Fatalf("round %d: Wake did not wake the loop", round)
		}
		if waited < 25*time.Millisecond || reads != round {
			t.Fatalf("round %d: returned after %v with %d reads", round, waited, reads)
		}
	}
	if w := l.w.writes.Load(); w != 3 {
		t.Fatalf("%d eventfd writes, want 3", w)
	}
}

// TestWakeWhenNotParkedIsFree: Wake on an awake loop makes no syscall, and
// of several Wakes on a parked loop only the first writes.
func TestWakeWhenNotParkedIsFree(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	for range 100 {
		l.w.Wake()
	}
	if n := l.w.writes.Load(); n != 0 {
		t.Fatalf("%d eventfd writes while unparked", n)
	}
	l.w.Park()
	l.w.Wake()
	l.w.Wake()
	if n := l.w.writes.Load(); n != 1 {
		t.Fatalf("%d eventfd writes for a parked loop, want 1", n)
	}
}

func TestWakeAfterCloseDoesNothing(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	if err := l.w.Close(); err != nil {
		t.Fatal(err)
	}
	l.w.Park()
	l.w.Wake()
	if n := l.w.writes.Load(); n != 0 {
		t.Fatalf("Wake after Close wrote %d times", n)
	}
	l.w.OnRead(8) // must not re-arm on a closed fd
	if p := l.r.Pending(); p != 1 {
		t.Fatalf("Pending %d after OnRead on a closed Waker, want 1 (the first read)", p)
	}
}

// TestWakerLosesNoWakeups: producers push and Wake while the loop follows
// the Park / check / Enter(true) protocol; every item arrives. A lost
// wake-up would leave the loop asleep with items queued (the watchdog fails
// the test).
func TestWakerLosesNoWakeups(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	var q Queue[int]
	const producers, each = 4, 2000
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				q.Push(p*each + i)
				l.w.Wake()
				if i%64 == 0 {
					time.Sleep(10 * time.Microsecond)
				}
			}
		}()
	}
	var got []int
	deadline := time.AfterFunc(10*time.Second, func() { unix.Write(l.w.fd, eventOne) })
	defer deadline.Stop()
	start := time.Now()
	for {
		if got = q.Drain(got); len(got) == producers*each {
			break
		}
		l.w.Park()
		wait := q.Len() == 0
		if err := l.r.Enter(wait); err != nil {
			t.Fatal(err)
		}
		l.w.Unpark()
		l.r.Dispatch()
		if time.Since(start) > 9*time.Second {
			t.Fatalf("got %d of %d items: a wake-up was lost", len(got), producers*each)
		}
	}
	wg.Wait()
	t.Logf("%d items, %d eventfd writes", len(got), l.w.writes.Load())
}
