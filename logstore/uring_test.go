package logstore

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"unsafe"

	"github.com/weirmq/weir/ring"
)

// uringIO is the io_uring FileIO: writes and fdatasyncs through a ring, on
// the thread that made it (SINGLE_ISSUER), waiting for each to complete. A
// large write goes as up to four parallel SQEs (QD4, as measured in
// notes/IOURING.md). It lives in a test because logstore imports no Weir
// package; the engine's shard, which owns the ring, carries the same few
// lines (and batches the fsyncs of many partitions: see Syncer).
type uringIO struct {
	r    *ring.Ring
	res  [uringDepth]int32
	done int
}

const (
	uringDepth   = 4
	uringChunk   = 256 << 10
	uringOpWrite = 1
	uringOpSync  = 2
)

// newUringIO makes a ring on the calling goroutine's thread, which the
// caller has locked (runtime.LockOSThread) and must use it from.
func newUringIO() (*uringIO, error) {
	r, err := ring.New(ring.Options{Entries: 64})
	if err != nil {
		return nil, err
	}
	u := &uringIO{r: r}
	r.On(uringOpWrite, u.onCQE)
	r.On(uringOpSync, u.onCQE)
	return u, nil
}

func (u *uringIO) onCQE(id uint64, res int32, _ uint32) {
	u.res[id] = res
	u.done++
}

func (u *uringIO) wait(n int) error {
	for u.done < n {
		if err := u.r.Enter(true); err != nil {
			return err
		}
		u.r.Dispatch()
	}
	return nil
}

// WriteAt writes p at off: up to uringDepth chunks in flight, then the
// fully written prefix is kept and the rest (a short write) goes again.
func (u *uringIO) WriteAt(f *os.File, p []byte, off int64) error {
	fd := int(f.Fd())
	for len(p) > 0 {
		chunk := max(uringChunk, (len(p)+uringDepth-1)/uringDepth)
		var lens [uringDepth]int
		k, o := 0, 0
		for ; o < len(p) && k < uringDepth; k++ {
			lens[k] = min(chunk, len(p)-o)
			u.r.PrepWrite(fd, unsafe.Pointer(&p[o]), lens[k], uint64(off)+uint64(o), ring.Pack(uringOpWrite, uint64(k)))
			o += lens[k]
		}
		u.done = 0
		if err := u.wait(k); err != nil {
			return err
		}
		written := 0
		for i := 0; i < k; i++ {
			if u.res[i] < 0 {
				return fmt.Errorf("io_uring write %s at %d: errno %d", f.Name(), off+int64(written), -u.res[i])
			}
			written += int(u.res[i])
			if int(u.res[i]) < lens[i] {
				break
			}
		}
		runtime.KeepAlive(p)
		if written == 0 {
			return fmt.Errorf("io_uring write %s at %d: wrote nothing", f.Name(), off)
		}
		p, off = p[written:], off+int64(written)
	}
	return nil
}

// Datasync is IORING_OP_FSYNC with IORING_FSYNC_DATASYNC.
func (u *uringIO) Datasync(f *os.File) error {
	u.r.PrepFsync(int(f.Fd()), true, ring.Pack(uringOpSync, 0))
	u.done = 0
	if err := u.wait(1); err != nil {
		return err
	}
	if u.res[0] < 0 {
		return fmt.Errorf("io_uring fdatasync %s: errno %d", f.Name(), -u.res[0])
	}
	return nil
}

func (u *uringIO) Close() error { return u.r.Close() }

// withUring runs f with a uringIO on the calling goroutine's locked thread.
func withUring(t testing.TB, f func(u *uringIO)) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	u, err := newUringIO()
	if err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	defer u.Close()
	f(u)
}

// TestUringFileIO checks chunked writes, then runs model seeds with the
// io_uring FileIO doing every write and sync, so the alternative to the
// default stays correct.
func TestUringFileIO(t *testing.T) {
	withUring(t, func(u *uringIO) {
		big := make([]byte, 3*uringChunk+123) // several chunks in flight
		for i := range big {
			big[i] = byte(i * 7)
		}
		f, err := os.Create(t.TempDir() + "/f")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := u.WriteAt(f, big, 5); err != nil {
			t.Fatal(err)
		}
		if err := u.Datasync(f); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(big))
		f.ReadAt(got, 5)
		if string(got) != string(big) {
			t.Fatal("chunked write differs")
		}
	})
	for seed := uint64(101); seed <= 103; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			withUring(t, func(u *uringIO) {
				runModelWith(t, seed, 800, Options{IO: u, Syncer: SyncNow{IO: u}})
			})
		})
	}
}

// uringGroupSyncer is the group commit the engine's shard does: Sync only
// queues; at the end of a loop turn Submit puts every queued file's
// fdatasync (and directory fsyncs) into the ring at once, one
// io_uring_enter, and calls each done when its files are durable.
type uringGroupSyncer struct {
	u      *uringIO
	queued []groupSync
}

type groupSync struct {
	files []*os.File
	dir   *os.File
	done  func(error)
}

func (g *uringGroupSyncer) Sync(files []*os.File, dir *os.File, done func(error)) {
	g.queued = append(g.queued, groupSync{files, dir, done})
}

// Submit syncs everything queued: all the SQEs go in one io_uring_enter
// when the ring has room for them.
func (g *uringGroupSyncer) Submit() error {
	type sqe struct {
		req int
		f   *os.File
		dir bool
	}
	var all []sqe
	for i, q := range g.queued {
		for _, f := range q.files {
			all = append(all, sqe{i, f, false})
		}
		if q.dir != nil {
			all = append(all, sqe{i, q.dir, true})
		}
	}
	res := make([]int32, len(all))
	n := 0
	g.u.r.On(uringOpSync, func(id uint64, r int32, _ uint32) { res[id] = r; n++ })
	defer g.u.r.On(uringOpSync, g.u.onCQE)
	for i, s := range all {
		g.u.r.PrepFsync(int(s.f.Fd()), !s.dir, ring.Pack(uringOpSync, uint64(i)))
	}
	for n < len(all) {
		if err := g.u.r.Enter(true); err != nil {
			return err
		}
		g.u.r.Dispatch()
	}
	errs := make([]error, len(g.queued))
	for i, s := range all {
		if res[i] < 0 && errs[s.req] == nil {
			errs[s.req] = fmt.Errorf("fsync %s: errno %d", s.f.Name(), -res[i])
		}
	}
	for i, q := range g.queued {
		q.done(errs[i])
	}
	g.queued = g.queued[:0]
	return nil
}

// TestUringGroupCommit: three logs with flush.messages=1 append; their syncs
// wait in the queue (recovery points stay) until one Submit makes them all
// durable, in one submission.
func TestUringGroupCommit(t *testing.T) {
	withUring(t, func(u *uringIO) {
		g := &uringGroupSyncer{u: u}
		cfg := testConfig(4096)
		cfg.FlushMessages = 1
		var logs []*Log
		for i := 0; i < 3; i++ {
			l := openTestLog(t, t.TempDir(), cfg, Options{IO: u, Syncer: g}, OpenState{})
			defer l.Close()
			logs = append(logs, l)
		}
		for round := 0; round < 5; round++ {
			for _, l := range logs {
				res, err := l.Append(makeBatch(batchSpec{records: 2, valueSize: 900}), 0)
				if err != nil || !res.SyncStarted {
					t.Fatalf("append: %+v %v", res, err)
				}
				if l.RecoveryPoint() == l.LogEndOffset() {
					t.Fatal("durable before the group commit")
				}
			}
			if len(g.queued) < len(logs) {
				t.Fatalf("%d syncs queued", len(g.queued))
			}
			if err := g.Submit(); err != nil {
				t.Fatal(err)
			}
			for _, l := range logs {
				if l.RecoveryPoint() != l.LogEndOffset() {
					t.Fatalf("recovery point %d, end %d after the group commit", l.RecoveryPoint(), l.LogEndOffset())
				}
			}
		}
	})
}
