package netio

import (
	"golang.org/x/sys/unix"

	"github.com/weirmq/weir/ring"
)

// syncJob is one Server.Sync: files first, then the directory.
type syncJob struct {
	fds     []int
	dirFd   int
	done    func(error)
	pending int
	err     error
	dirDone bool
}

// startSync queues the job's fdatasyncs on the shard's ring; they leave
// with everything else at the end of the turn.
func (s *shard) startSync(j *syncJob) {
	if s.syncs == nil {
		s.syncs = map[uint64]*syncJob{}
	}
	s.syncSeq++
	id := s.syncSeq
	s.syncs[id] = j
	for _, fd := range j.fds {
		s.r.PrepFsync(fd, true, ring.Pack(opSync, id))
		j.pending++
	}
	if j.pending == 0 {
		s.syncDir(id, j)
	}
}

func (s *shard) onSync(id uint64, res int32, _ uint32) {
	j := s.syncs[id]
	if res < 0 && j.err == nil {
		j.err = unix.Errno(-res)
	}
	j.pending--
	if j.pending > 0 {
		return
	}
	if j.dirDone || j.err != nil {
		delete(s.syncs, id)
		j.done(j.err)
		return
	}
	s.syncDir(id, j)
}

// syncDir fsyncs the directory once the files are durable.
func (s *shard) syncDir(id uint64, j *syncJob) {
	j.dirDone = true
	if j.dirFd < 0 {
		delete(s.syncs, id)
		j.done(nil)
		return
	}
	s.r.PrepFsync(j.dirFd, false, ring.Pack(opSync, id))
	j.pending++
}

// syncNow is the std backend's Sync: plain fdatasync and fsync calls.
func syncNow(fds []int, dirFd int) error {
	for _, fd := range fds {
		if err := retryEINTR(func() error { return unix.Fdatasync(fd) }); err != nil {
			return err
		}
	}
	if dirFd >= 0 {
		return retryEINTR(func() error { return unix.Fsync(dirFd) })
	}
	return nil
}

func retryEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
