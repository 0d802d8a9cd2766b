package netio

import (
	"container/heap"
	"sync/atomic"
	"time"
)

// Timer states: a timer fires or is stopped, whichever comes first.
const (
	timerPending int32 = iota
	timerFired
	timerStopped
)

// loopTimer is a uring shard's timer: posted to the shard, kept in its
// heap and fired by its loop.
type loopTimer struct {
	when  time.Time
	fn    func()
	state atomic.Int32
}

// Stop drops fn at once: the loop keeps a stopped timer in its heap until
// its deadline, and fn may hold much (a parked fetch). The loop reads fn
// only after winning the same CAS, so the two never meet.
func (t *loopTimer) Stop() bool {
	if !t.state.CompareAndSwap(timerPending, timerStopped) {
		return false
	}
	t.fn = nil
	return true
}

// timerHeap orders a shard's timers by deadline. A stopped timer stays
// until its deadline, when the loop drops it: Stop is called from any
// goroutine and the heap belongs to the loop.
type timerHeap []*loopTimer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].when.Before(h[j].when) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(*loopTimer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}

// due pops and runs every timer whose deadline is not after now, skipping
// stopped ones; it returns the earliest deadline left (zero if none).
func (h *timerHeap) due(now time.Time) time.Time {
	for h.Len() > 0 {
		t := (*h)[0]
		if t.when.After(now) {
			return t.when
		}
		heap.Pop(h)
		if t.state.CompareAndSwap(timerPending, timerFired) {
			t.fn()
		}
	}
	return time.Time{}
}

// stdTimer is the std backend's timer: a Go timer that posts fn to its
// worker when it fires.
type stdTimer struct {
	t     *time.Timer
	state atomic.Int32
}

func (t *stdTimer) Stop() bool {
	if !t.state.CompareAndSwap(timerPending, timerStopped) {
		return false
	}
	t.t.Stop()
	return true
}
