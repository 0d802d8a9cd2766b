package ring

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Waker lets any goroutine wake a loop blocked in Enter(true): an eventfd
// whose 8-byte read is always pending in the ring. Wake writes the eventfd
// only when the loop has parked, so a busy loop costs producers one atomic
// load. BenchmarkWake: a sleeping loop wakes as fast as a thread blocked in
// read(2) would (the VM's floor, ~10-25 µs p50 here); a Go channel into a
// locked goroutine took ~100-120 µs; a loop caught parking sees the work
// without any syscall (<1 µs).
type Waker struct {
	r      *Ring
	fd     int
	ud     UserData
	buf    *uint64 // the read's target; heap, referenced here until Close
	parked atomic.Int32
	writes atomic.Uint64 // eventfd writes, for tests

	mu     sync.Mutex // keeps a Wake's write off an fd that Close released
	closed bool
}

var eventOne = binary.NativeEndian.AppendUint64(nil, 1)

// NewWaker creates the eventfd and prepares its first read with user data
// ud; the loop routes that op's completions to OnRead.
func NewWaker(r *Ring, ud UserData) (*Waker, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	w := &Waker{r: r, fd: fd, ud: ud, buf: new(uint64)}
	w.arm()
	return w, nil
}

func (w *Waker) arm() { w.r.PrepRead(w.fd, unsafe.Pointer(w.buf), 8, ^uint64(0), w.ud) }

// Park tells wakers the loop is about to block. Check for work after Park,
// before blocking: a Wake that came earlier found the loop unparked.
func (w *Waker) Park() { w.parked.Store(1) }

// Unpark tells wakers the loop is awake: Wake needs no syscall.
func (w *Waker) Unpark() { w.parked.Store(0) }

// Wake wakes the loop if it is parked. Safe from any goroutine, also after
// Close (then it does nothing).
func (w *Waker) Wake() {
	if w.parked.Load() == 0 || !w.parked.CompareAndSwap(1, 0) {
		return
	}
	w.mu.Lock()
	if !w.closed {
		w.writes.Add(1)
		// Only EAGAIN (counter at its maximum) can fail here, and then the
		// loop has a wake-up pending anyway.
		_, _ = unix.Write(w.fd, eventOne)
	}
	w.mu.Unlock()
}

// OnRead is the loop's handler for the read's completion: it prepares the
// next read. The loop is awake now; Unpark already happened or follows.
func (w *Waker) OnRead(res int32) {
	w.mu.Lock()
	closed := w.closed
	w.mu.Unlock()
	if closed {
		return
	}
	switch {
	case res == 8, res == -int32(unix.EINTR), res == -int32(unix.EAGAIN),
		res == -int32(unix.ECANCELED):
		w.arm()
	default:
		panic(fmt.Sprintf("ring: waker eventfd %d read: res %d", w.fd, res))
	}
}

// Close closes the eventfd; no Wake writes after it returns. The pending
// read is cancelled when the ring closes: close the ring before dropping w.
func (w *Waker) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	return unix.Close(w.fd)
}
