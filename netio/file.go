package netio

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// How the uring backend sends file ranges (Config.FileSend).
const (
	// FileSendSplice (the default): splice(2) file -> pipe -> socket, the
	// page cache's pages going to the socket by reference. Chunks whose
	// pages are cached (cachestat(2)) are spliced on the shard loop, the
	// socket non-blocking (a full one waits for POLLOUT through the ring);
	// a chunk that must be read from the disk moves into the pipe by
	// IORING_OP_SPLICE in io-wq, so the loop never waits on the disk.
	// Under weir bench consume: 0.35 broker cpu-s/GB (std's sendfile
	// 0.35-0.37); with every chunk through io-wq it was 0.41-0.44, and
	// 0.95-1.02 for mmap (bench/FINDINGS.md).
	FileSendSplice = "splice"
	// FileSendMmap: io_uring SEND from a read-only mapping of the file.
	// The kernel copies the bytes into socket buffers; with an in-process
	// client (netio's benchmark) it moved more bytes per second, but it
	// costs the broker twice the CPU per byte.
	FileSendMmap = "mmap"
)

// File is a read-only file whose ranges a Response can send without the
// bytes entering the Go heap. It is reference counted: the creator holds one
// reference, every in-flight Response part takes another, and the file is
// unmapped and closed when the last one is released, so a mapping never
// disappears under a send.
type File struct {
	f        *os.File
	borrowed bool // the creator closes f (after the last Release), not File
	refs     atomic.Int64

	mu       sync.Mutex
	mappings [][]byte // newest last; older ones stay until the file is released
}

// OpenFile opens path read-only for sending.
func OpenFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return NewFile(f), nil
}

// NewFile wraps f; the File owns it from now on.
func NewFile(f *os.File) *File {
	nf := &File{f: f}
	nf.refs.Store(1)
	return nf
}

// BorrowFile wraps f without owning it: the last Release unmaps it but
// leaves f open; its owner must keep f open until then. It saves a
// descriptor per file against NewFile on a dup of f.
func BorrowFile(f *os.File) *File {
	nf := NewFile(f)
	nf.borrowed = true
	return nf
}

// Fd is the file's descriptor, valid while a reference is held.
func (f *File) Fd() int { return int(f.f.Fd()) }

// Acquire takes a reference.
func (f *File) Acquire() {
	if f.refs.Add(1) <= 1 {
		panic("netio: Acquire on a released File")
	}
}

// Release drops a reference; the last one unmaps and closes the file.
func (f *File) Release() {
	n := f.refs.Add(-1)
	if n > 0 {
		return
	}
	if n < 0 {
		panic(fmt.Sprintf("netio: File released too often (refs %d)", n))
	}
	f.mu.Lock()
	for _, m := range f.mappings {
		_ = unix.Munmap(m)
	}
	f.mappings = nil
	f.mu.Unlock()
	if !f.borrowed {
		_ = f.f.Close()
	}
}

// mapped returns a read-only mapping that covers [0, end). A file that grew
// past the newest mapping gets a new, larger one; the old stays valid for
// sends still using it.
func (f *File) mapped(end int64) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.mappings); n > 0 && int64(len(f.mappings[n-1])) >= end {
		return f.mappings[n-1], nil
	}
	st, err := f.f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size < end {
		return nil, fmt.Errorf("netio: range ends at %d past the end of %s (%d bytes)", end, f.f.Name(), size)
	}
	m, err := unix.Mmap(int(f.f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", f.f.Name(), err)
	}
	f.mappings = append(f.mappings, m)
	return m, nil
}
