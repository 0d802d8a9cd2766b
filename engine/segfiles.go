package engine

import (
	"sync"

	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/netio"
)

// segFiles keeps one netio.File per segment that fetches send from, so a
// segment is mapped (uring) once for its life rather than once per fetch.
// Each File borrows the segment's own descriptor (no dup: a partition that
// was read holds one descriptor, not two): a fetch's Response holds the
// segment's reference along with the File's until its bytes have left, and
// the cache's reference goes in the segment's OnClose, which runs before
// logstore closes the descriptor.
type segFiles struct {
	mu    sync.Mutex
	files map[*logstore.Segment]*netio.File
}

// acquire returns seg's File with a reference taken for the caller.
func (c *segFiles) acquire(seg *logstore.Segment) (*netio.File, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.files[seg]; ok {
		f.Acquire()
		return f, nil
	}
	f := netio.BorrowFile(seg.File())
	if c.files == nil {
		c.files = map[*logstore.Segment]*netio.File{}
	}
	c.files[seg] = f
	f.Acquire()
	seg.OnClose(func() {
		c.mu.Lock()
		delete(c.files, seg)
		c.mu.Unlock()
		f.Release()
	})
	return f, nil
}
