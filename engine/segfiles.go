package engine

import (
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/netio"
)

// segFiles keeps one netio.File per segment that fetches send from, so a
// segment is mapped (uring) once for its life rather than once per fetch.
// Each File reads a dup of the segment's descriptor: logstore owns and
// closes its own. The cache's reference goes when the segment's files
// close; fetches in flight hold their own until their bytes have left.
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
	fd, err := unix.Dup(int(seg.File().Fd()))
	if err != nil {
		return nil, fmt.Errorf("dup segment %s: %w", seg.File().Name(), err)
	}
	unix.CloseOnExec(fd)
	f := netio.NewFile(os.NewFile(uintptr(fd), seg.File().Name()))
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
