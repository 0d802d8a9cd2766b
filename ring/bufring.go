package ring

import (
	"fmt"
	"slices"
	"sync/atomic"
	"unsafe"

	"github.com/pawelgaczynski/giouring"
	"golang.org/x/sys/unix"
)

// BufRing is a provided-buffer ring (IORING_REGISTER_PBUF_RING): count
// buffers of size bytes that multishot receives of its group fill. The ring
// and the buffers are anonymous mmaps, so the Go GC never sees or moves them.
// A buffer named by a CQE belongs to the loop until Recycle and Publish hand
// it back. Only the ring's thread may use a BufRing.
type BufRing struct {
	r           *Ring
	group       uint16
	count, size int
	mask        uint16
	ringMem     []byte                // count io_uring_buf entries
	bufMem      []byte                // count*size bytes
	entries     []giouring.BufAndRing // the tail overlays entries[0]'s resv
	tail        uint16                // local tail; the kernel sees it on Publish
	closed      bool
}

// NewBufRing registers group on r with count buffers (a power of two up to
// 32768) of size bytes each, all handed to the kernel.
func NewBufRing(r *Ring, group uint16, count int, size int) (*BufRing, error) {
	if count <= 0 || count > 32768 || count&(count-1) != 0 {
		return nil, fmt.Errorf("ring: buffer ring count %d is not a power of two <= 32768", count)
	}
	if size <= 0 || size > 1<<30 {
		return nil, fmt.Errorf("ring: buffer size %d out of range", size)
	}
	b := &BufRing{r: r, group: group, count: count, size: size, mask: uint16(count - 1)}
	const prot, flags = unix.PROT_READ | unix.PROT_WRITE, unix.MAP_PRIVATE | unix.MAP_ANONYMOUS
	var err error
	if b.ringMem, err = unix.Mmap(-1, 0, count*int(unsafe.Sizeof(giouring.BufAndRing{})), prot,
		flags); err != nil {
		return nil, fmt.Errorf("mmap buffer ring: %w", err)
	}
	if b.bufMem, err = unix.Mmap(-1, 0, count*size, prot, flags|unix.MAP_POPULATE); err != nil {
		b.unmap()
		return nil, fmt.Errorf("mmap %d buffers of %d bytes: %w", count, size, err)
	}
	b.entries = unsafe.Slice((*giouring.BufAndRing)(unsafe.Pointer(&b.ringMem[0])), count)
	reg := giouring.BufReg{RingAddr: uint64(uintptr(unsafe.Pointer(&b.ringMem[0]))),
		RingEntries: uint32(count), Bgid: group}
	if _, err := r.gr.RegisterBufferRing(&reg, 0); err != nil {
		b.unmap()
		return nil, fmt.Errorf("register buffer ring (group %d, %d entries): %w", group, count, err)
	}
	for bid := range count {
		b.Recycle(uint16(bid))
	}
	b.Publish()
	r.bufRings = append(r.bufRings, b)
	return b, nil
}

// Buf is the first n bytes of buffer bid, valid until it is recycled.
func (b *BufRing) Buf(bid uint16, n int) []byte {
	if int(bid) >= b.count || n < 0 || n > b.size || b.closed {
		panic(fmt.Sprintf("ring: Buf(%d, %d) of a ring of %d x %d bytes (closed %v)",
			bid, n, b.count, b.size, b.closed))
	}
	off := int(bid) * b.size
	return b.bufMem[off : off+n : off+b.size]
}

// Recycle queues buffer bid for the kernel; Publish makes it visible. Each
// buffer must be recycled once per CQE that named it, never more.
func (b *BufRing) Recycle(bid uint16) {
	if int(bid) >= b.count || b.closed {
		panic(fmt.Sprintf("ring: Recycle(%d) of a ring of %d buffers (closed %v)",
			bid, b.count, b.closed))
	}
	e := &b.entries[b.tail&b.mask]
	// Field by field: a whole-struct store would clobber the tail in entries[0].
	e.Addr = uint64(uintptr(unsafe.Pointer(&b.bufMem[int(bid)*b.size])))
	e.Len = uint32(b.size)
	e.Bid = bid
	b.tail++
}

// Publish stores the tail with release order (the entries written before it
// are visible first). Go has no 16-bit atomic store, so it stores the 32-bit
// word of entries[0].bid and the tail; only this side ever writes either.
func (b *BufRing) Publish() {
	word := (*uint32)(unsafe.Pointer(&b.entries[0].Bid))
	atomic.StoreUint32(word, uint32(b.tail)<<16|uint32(b.entries[0].Bid))
}

// Size is the bytes per buffer.
func (b *BufRing) Size() int { return b.size }

// Count is the number of buffers.
func (b *BufRing) Count() int { return b.count }

// Group is the buffer group id receives select from.
func (b *BufRing) Group() uint16 { return b.group }

// Close unregisters the group and unmaps its memory (giouring's FreeBufRing
// leaks the mapping). Receives still armed on the group end with -ENOBUFS.
// After Ring.Close it only unmaps.
func (b *BufRing) Close() error {
	if b.closed {
		return nil
	}
	var err error
	if !b.r.closed {
		_, err = b.r.gr.UnregisterBufferRing(int(b.group))
		b.r.bufRings = slices.DeleteFunc(b.r.bufRings, func(x *BufRing) bool { return x == b })
	}
	b.unmap()
	if err != nil {
		return fmt.Errorf("unregister buffer ring (group %d): %w", b.group, err)
	}
	return nil
}

func (b *BufRing) unmap() {
	b.closed = true
	if b.ringMem != nil {
		_ = unix.Munmap(b.ringMem)
	}
	if b.bufMem != nil {
		_ = unix.Munmap(b.bufMem)
	}
	b.ringMem, b.bufMem, b.entries = nil, nil, nil
}
