package ring

import (
	"sync"
	"sync/atomic"
)

// Queue is a multi-producer, single-consumer queue: any goroutine pushes,
// the loop drains. The zero value is ready. A mutex around an append is
// simpler than a lock-free list and allocates nothing per item; the two
// slices swap on Drain, so a steady state allocates nothing at all.
type Queue[T any] struct {
	mu    sync.Mutex
	items []T
	spare []T // the consumer's: the slice the last Drain emptied
	n     atomic.Int64
}

// Push appends v. Follow it with Waker.Wake to wake a parked loop.
func (q *Queue[T]) Push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.n.Store(int64(len(q.items)))
	q.mu.Unlock()
}

// Drain appends everything queued to dst, in push order, and returns it.
// Only one goroutine at a time may drain.
func (q *Queue[T]) Drain(dst []T) []T {
	if q.n.Load() == 0 {
		return dst
	}
	q.mu.Lock()
	batch := q.items
	q.items = q.spare[:0]
	q.n.Store(0)
	q.mu.Unlock()
	dst = append(dst, batch...)
	clear(batch) // drop references so the GC can free what items pointed to
	q.spare = batch[:0]
	return dst
}

// Len is the number queued, without locking.
func (q *Queue[T]) Len() int { return int(q.n.Load()) }
