package netio

import (
	"math/bits"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// frameMemory is a runtime's memory for request frames that are gathered
// across receives, shared by all its connections:
//
//   - a budget (Kafka's queued.max.request.bytes): a frame reserves its
//     declared size before it is gathered and gives it back when it is
//     served, or when the handler releases it (Conn.KeepFrame). A frame
//     that does not fit waits, and its connection is not read meanwhile
//     (muted, as Kafka's selector mutes channels when its memory pool is
//     empty). One frame always fits when nothing is reserved, so a
//     budget below the largest frame slows big requests but never stops
//     them.
//   - big buffers (frames over connBufMax) from anonymous mappings, so
//     that their memory goes back to the system when they are unmapped,
//     not when the Go heap next shrinks. Untouched pages cost nothing, so
//     a size prefix alone does not make the broker use memory. A few are
//     cached for the next frames (cacheMaxBytes in all, none over
//     cacheBufMax), which keeps steady produce traffic free of page
//     faults.
//
// A nil *frameMemory reserves nothing and allocates from the heap.
type frameMemory struct {
	max int64 // <= 0: no budget

	mu      sync.Mutex
	used    int64
	waiters []func()
	cache   [maxBucket + 1][][]byte
	cached  int64

	reserved atomic.Int64 // = used, for Stats
	mapped   atomic.Int64 // bytes of big buffers mapped, cached included
}

const (
	connBufMax    = 64 << 10 // frames up to this size gather in the connection's own buffer
	cacheBufMax   = 8 << 20
	cacheMaxBytes = 32 << 20
	minBucket     = 17 // 128 KiB: big buffers are mapped in powers of two from here
	maxBucket     = 31
)

func newFrameMemory(max int64) *frameMemory { return &frameMemory{max: max} }

// Gather buffers of small frames (up to connBufMax) are the connection's
// own and reused frame after frame, until a handler keeps one
// (Conn.KeepFrame: a produce whose batches its shard hands to another);
// the connection then needs a new one. These pools recycle them, by power
// of two from ownMinBucket: without them every kept produce was a fresh,
// zeroed Go allocation (a tenth of the broker's CPU at 20,000 small
// produces a second).
const ownMinBucket = 12 // 4 KiB

var ownPools [bits.UintSize]sync.Pool

// getOwn returns a gather buffer for n bytes (len 0).
func getOwn(n int) []byte {
	b := max(bits.Len(uint(n-1)), ownMinBucket)
	if v, ok := ownPools[b].Get().(*[]byte); ok {
		return (*v)[:0]
	}
	return make([]byte, 0, 1<<b)
}

// putOwn takes back a gather buffer from getOwn; nothing may use it after.
func putOwn(buf []byte) {
	c := cap(buf)
	if c < 1<<ownMinBucket || c > connBufMax || c&(c-1) != 0 {
		return
	}
	buf = buf[:0]
	ownPools[bits.Len(uint(c-1))].Put(&buf)
}

// reserve takes n bytes of the budget. When they do not fit it returns
// false and calls wake (once, from whichever goroutine releases memory)
// when some is given back: the caller then tries again.
func (m *frameMemory) reserve(n int, wake func()) bool {
	if m == nil {
		return true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.max > 0 && m.used > 0 && m.used+int64(n) > m.max {
		if wake != nil {
			m.waiters = append(m.waiters, wake)
		}
		return false
	}
	m.used += int64(n)
	m.reserved.Store(m.used)
	return true
}

// release gives n bytes back and wakes everyone waiting for memory.
func (m *frameMemory) release(n int) {
	if m == nil || n == 0 {
		return
	}
	m.mu.Lock()
	m.used -= int64(n)
	m.reserved.Store(m.used)
	waiters := m.waiters
	m.waiters = nil
	m.mu.Unlock()
	for _, wake := range waiters {
		wake()
	}
}

// bucket is the power of two that holds n bytes.
func bucket(n int) int { return max(bits.Len(uint(n-1)), minBucket) }

// get returns a buffer of at least n bytes (len 0): a cached one or a
// new mapping. On a nil memory, or when mapping fails, it is Go memory.
func (m *frameMemory) get(n int) []byte {
	if m == nil {
		return make([]byte, 0, n)
	}
	b := bucket(n)
	m.mu.Lock()
	if l := len(m.cache[b]); l > 0 {
		buf := m.cache[b][l-1]
		m.cache[b] = m.cache[b][:l-1]
		m.cached -= int64(cap(buf))
		m.mu.Unlock()
		return buf[:0]
	}
	m.mu.Unlock()
	size := 1 << b
	buf, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return make([]byte, 0, n)
	}
	m.mapped.Add(int64(size))
	return buf[:0]
}

// put takes back a buffer from get: cached when it is small enough and
// the cache has room, else unmapped. Nothing may use it afterwards.
func (m *frameMemory) put(buf []byte) {
	if m == nil {
		return
	}
	c := cap(buf)
	if c < 1<<minBucket || c&(c-1) != 0 {
		return // Go memory (get's fallback): the GC has it
	}
	buf = buf[:c]
	if c <= cacheBufMax {
		m.mu.Lock()
		if m.cached+int64(c) <= cacheMaxBytes {
			b := bucket(c)
			m.cache[b] = append(m.cache[b], buf)
			m.cached += int64(c)
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
	}
	if unix.Munmap(buf) == nil {
		m.mapped.Add(-int64(c))
	}
}

// close unmaps the cached buffers (the runtime is closing).
func (m *frameMemory) close() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for b := range m.cache {
		for _, buf := range m.cache[b] {
			if unix.Munmap(buf) == nil {
				m.mapped.Add(-int64(cap(buf)))
			}
		}
		m.cache[b] = nil
	}
	m.cached = 0
}
