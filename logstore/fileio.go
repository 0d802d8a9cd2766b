package logstore

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// FileIO writes appended bytes into segment files and makes one file's data
// durable. PwriteIO (pwrite(2)) is the default: BenchmarkAppend measured it
// about 20x faster than a synchronous io_uring write for 1 KiB batches and
// 2-6x for 16 KiB (a buffered io_uring write is punted to an io-wq thread);
// at 1 MiB the two were even (io_uring split into four SQEs whose io-wq
// threads copy on both cores, which a busy broker does not have spare).
// uring_test.go holds that io_uring FileIO, built on package ring, and a
// group-commit Syncer: the engine's shard carries the same few lines.
type FileIO interface {
	// WriteAt writes all of p at off in f, or fails.
	WriteAt(f *os.File, p []byte, off int64) error
	// Datasync makes f's data durable (fdatasync(2)).
	Datasync(f *os.File) error
}

// Syncer makes files durable on the log's behalf: the rolled segment and its
// indexes on roll, the active segment when flush.messages or flush.ms says
// so. The engine implements it over its ring and submits the syncs of many
// partitions at once (group commit); SyncNow does them inline.
//
// Sync must fdatasync every file in files, then fsync dir when it is not nil
// (directory entries are metadata), then call done exactly once with the
// first error or nil. The files stay open until done has been called. done
// may be called from any goroutine; it only stores atomics. A failed sync
// fails the log (ErrStorage), as Kafka takes a log dir offline.
type Syncer interface {
	Sync(files []*os.File, dir *os.File, done func(error))
}

// PwriteIO is FileIO over pwrite(2) and fdatasync(2).
type PwriteIO struct{}

// WriteAt is os.File.WriteAt, which loops on short writes.
func (PwriteIO) WriteAt(f *os.File, p []byte, off int64) error {
	_, err := f.WriteAt(p, off)
	return err
}

// Datasync is fdatasync(2), retried on EINTR.
func (PwriteIO) Datasync(f *os.File) error {
	return retryEINTR(func() error { return unix.Fdatasync(int(f.Fd())) })
}

// SyncNow is a Syncer that syncs inline, in the caller's goroutine.
type SyncNow struct{ IO FileIO }

// Sync syncs files then dir, and calls done before returning.
func (s SyncNow) Sync(files []*os.File, dir *os.File, done func(error)) {
	io := s.IO
	if io == nil {
		io = PwriteIO{}
	}
	var first error
	for _, f := range files {
		if err := io.Datasync(f); err != nil && first == nil {
			first = fmt.Errorf("fdatasync %s: %w", f.Name(), err)
		}
	}
	if dir != nil {
		if err := syncDir(dir); err != nil && first == nil {
			first = err
		}
	}
	done(first)
}

// syncDir is fsync(2) of a directory: fdatasync may skip a directory's new
// entries, since they change no data the kernel counts as the dir's own.
func syncDir(d *os.File) error {
	if err := retryEINTR(func() error { return unix.Fsync(int(d.Fd())) }); err != nil {
		return fmt.Errorf("fsync dir %s: %w", d.Name(), err)
	}
	return nil
}

func retryEINTR(f func() error) error {
	for {
		err := f()
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// errNoFallocate: the file system cannot reserve blocks; files grow as they
// are written instead.
var errNoFallocate = errors.New("fallocate not supported")

// reserve allocates disk blocks for [from, to) of f (fallocate(2)), so that
// writes there cannot fail for want of space, neither now nor at writeback.
// Without keepSize the length becomes to and the bytes past the logical end
// read as zeros; with it the length stays (an index file's length is its
// entries).
func reserve(f *os.File, from, to int64, keepSize bool) error {
	if to <= from {
		return nil
	}
	mode := uint32(0)
	if keepSize {
		mode = unix.FALLOC_FL_KEEP_SIZE
	}
	err := retryEINTR(func() error { return unix.Fallocate(int(f.Fd()), mode, from, to-from) })
	switch {
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOSYS):
		return errNoFallocate
	case err != nil:
		return fmt.Errorf("reserve %s [%d, %d): %w", f.Name(), from, to, err)
	}
	return nil
}

// isNoSpace reports an error that freeing disk space cures (ENOSPC, EDQUOT),
// unlike EIO.
func isNoSpace(err error) bool { return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) }

// isRetryable reports an error that a later try may not meet: a full disk,
// or no file descriptor left (EMFILE, ENFILE).
func isRetryable(err error) bool {
	return isNoSpace(err) || errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE)
}

// zeroRange makes [from, to) of f read as zeros without changing its length
// (a reader may have it mapped: shrinking would fault it). It punches a hole
// and reserves the blocks again, or writes zeros where holes are unsupported.
func zeroRange(f *os.File, from, to int64) error {
	if to <= from {
		return nil
	}
	fd := int(f.Fd())
	err := retryEINTR(func() error {
		return unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, from, to-from)
	})
	if err == nil {
		_ = unix.Fallocate(fd, unix.FALLOC_FL_KEEP_SIZE, from, to-from) // re-reserve; best effort
		return nil
	}
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("punch %s [%d, %d): %w", f.Name(), from, to, err)
	}
	zeros := make([]byte, 64<<10)
	for off := from; off < to; off += int64(len(zeros)) {
		n := min(int64(len(zeros)), to-off)
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			return fmt.Errorf("zero %s [%d, %d): %w", f.Name(), from, to, err)
		}
	}
	return nil
}
