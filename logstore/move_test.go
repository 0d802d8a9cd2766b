package logstore

import (
	"bytes"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// moveRig is two log dirs of one broker and a log that an owner goroutine
// appends to, as the engine's owner shard does, while it runs the
// functions posted to it (the switch) between appends. A model keeps
// every batch written, by base offset, as appended.
type moveRig struct {
	t        *testing.T
	paths    [2]string
	dirs     [2]*Dir
	cfg      Config
	tp       TopicPartition
	l        *Log
	posts    chan func()
	stop     chan struct{}
	stopped  chan struct{}
	model    sync.Map // base offset -> []byte
	appended atomic.Int64
}

func newMoveRig(t *testing.T) *moveRig {
	r := &moveRig{t: t, cfg: testConfig(8 << 10), tp: TopicPartition{"moving", 3}}
	r.cfg.FileDeleteDelayMs = 50
	for i := range r.paths {
		r.paths[i] = t.TempDir()
	}
	r.open()
	l, err := r.dirs[0].CreateLog(r.tp, r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetTopicID([16]byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	r.l = l
	return r
}

// open opens both log dirs (a start) and settles leftover moves.
func (r *moveRig) open() {
	r.t.Helper()
	for i, p := range r.paths {
		d, err := OpenDir(p, Options{Logger: quietLogger()}, func(TopicPartition) Config { return r.cfg })
		if err != nil {
			r.t.Fatal(err)
		}
		r.dirs[i] = d
	}
	if err := FinishMoves(r.dirs[:]); err != nil {
		r.t.Fatal(err)
	}
}

func (r *moveRig) close() {
	r.t.Helper()
	for _, d := range r.dirs {
		if err := d.Close(); err != nil {
			r.t.Fatal(err)
		}
	}
}

// appendOne appends a batch of 1-3 records, at leaderEpoch n/150, moves
// the high watermark to the end and keeps the batch in the model. Every
// 97th append also deletes records up to some offset.
func (r *moveRig) appendOne(n int) {
	b := makeBatch(batchSpec{records: 1 + n%3, valueSize: 100 + n%200, ts: int64(1000 + n), fill: byte(n)})
	epoch := int32(n / 150)
	res, err := r.l.Append(b, epoch)
	if err != nil {
		r.t.Error(err)
		return
	}
	r.model.Store(res.FirstOffset, bytes.Clone(b))
	r.l.SetHighWatermark(r.l.LogEndOffset())
	r.appended.Add(1)
	if n%97 == 96 {
		if _, err := r.l.DeleteRecords(r.l.HighWatermark() / 10); err != nil {
			r.t.Error(err)
		}
	}
}

// runOwner appends until stopped, running what is posted between appends.
func (r *moveRig) runOwner(from int) {
	r.posts, r.stop, r.stopped = make(chan func()), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.stopped)
		for n := from; ; n++ {
			select {
			case fn := <-r.posts:
				fn()
			case <-r.stop:
				return
			default:
			}
			r.appendOne(n)
			if n%8 == 0 {
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
}

func (r *moveRig) stopOwner() {
	close(r.stop)
	<-r.stopped
}

// onOwner runs fn on the owner goroutine and waits for it.
func (r *moveRig) onOwner(fn func()) {
	done := make(chan struct{})
	r.posts <- func() { fn(); close(done) }
	<-done
}

// readers read random offsets of r.l until stopped, checking each batch
// against the model.
func (r *moveRig) readers(n int, stop chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			for {
				select {
				case <-stop:
					return
				default:
				}
				start, hw := r.l.LogStartOffset(), r.l.HighWatermark()
				if hw <= start {
					continue
				}
				s, err := r.l.Read(start+rng.Int63n(hw-start), 4096, hw)
				if err != nil {
					if !errors.Is(err, ErrOffsetOutOfRange) {
						r.t.Error(err)
					}
					continue
				}
				for _, b := range splitBatches(r.t, readSlice(r.t, s)) {
					r.checkBatch(b)
				}
			}
		}(int64(i))
	}
	return &wg
}

func (r *moveRig) checkBatch(b Batch) {
	want, ok := r.model.Load(b.BaseOffset())
	if !ok || !bytes.Equal(want.([]byte), b) {
		r.t.Errorf("batch at %d: not the one appended there (known %v)", b.BaseOffset(), ok)
	}
}

// checkAll reads the whole log of l and checks every batch, in order,
// without gaps from the log start's batch to the end.
func (r *moveRig) checkAll(l *Log) {
	r.t.Helper()
	off, end := l.LogStartOffset(), l.LogEndOffset()
	for off < end {
		s, err := l.Read(off, 64<<10, end)
		if err != nil {
			r.t.Fatalf("read %d: %v", off, err)
		}
		bs := splitBatches(r.t, readSlice(r.t, s))
		if len(bs) == 0 {
			r.t.Fatalf("nothing at %d of [%d, %d)", off, l.LogStartOffset(), end)
		}
		for _, b := range bs {
			if b.LastOffset() < off || (b.BaseOffset() > off) {
				r.t.Fatalf("batch [%d, %d] read at %d", b.BaseOffset(), b.LastOffset(), off)
			}
			r.checkBatch(b)
			off = b.LastOffset() + 1
		}
	}
}

// move runs a move of r.l to the second log dir as the engine does:
// catch up, flush, then the switch on the owner until it is not busy.
func (r *moveRig) move(between func()) {
	r.t.Helper()
	m, err := r.dirs[0].StartMove(r.tp, r.dirs[1])
	if err != nil {
		r.t.Fatal(err)
	}
	for {
		reached, _, err := m.CatchUp(32 << 10)
		if err != nil {
			r.t.Fatal(err)
		}
		if reached {
			break
		}
	}
	if err := m.Flush(); err != nil {
		r.t.Fatal(err)
	}
	for {
		var err error
		r.onOwner(func() { err = m.Switch(between) })
		if errors.Is(err, ErrMoveBusy) {
			continue
		}
		if err != nil {
			r.t.Fatal(err)
		}
		return
	}
}

// A log moves to another log dir while an owner appends (with leader
// epoch changes and DeleteRecords) and readers read it: every batch reads
// back as appended, before, during and after the switch, and after a
// restart; the directory, leader epochs, topic id and offsets come along.
func TestMoveUnderAppends(t *testing.T) {
	r := newMoveRig(t)
	for n := 0; n < 400; n++ {
		r.appendOne(n)
	}
	r.runOwner(400)
	stopReads := make(chan struct{})
	reads := r.readers(3, stopReads)
	before := r.appended.Load()
	r.move(nil)
	if r.appended.Load() == before {
		t.Error("no append during the move")
	}
	time.Sleep(20 * time.Millisecond) // appends and reads on the moved log
	close(stopReads)
	reads.Wait()
	r.stopOwner()

	l := r.l
	if want := filepath.Join(r.paths[1], r.tp.String()); l.Dir() != want {
		t.Fatalf("dir %s, want %s", l.Dir(), want)
	}
	if r.dirs[0].Log(r.tp) != nil || r.dirs[1].Log(r.tp) != l || len(r.dirs[1].Futures()) != 0 {
		t.Fatalf("log dirs: %v %v %v", r.dirs[0].Log(r.tp), r.dirs[1].Log(r.tp), r.dirs[1].Futures())
	}
	if id, ok := l.TopicID(); !ok || id != ([16]byte{1, 2, 3}) {
		t.Errorf("topic id %x %v", id, ok)
	}
	id, ok, err := ReadPartitionMetadata(l.Dir())
	if err != nil || !ok || id != ([16]byte{1, 2, 3}) {
		t.Errorf("partition.metadata: %x %v %v", id, ok, err)
	}
	r.checkAll(l)
	ents, err := openEpochCache(filepath.Join(l.Dir(), leaderEpochFile))
	if err != nil || !slices.Equal(ents.e, l.LeaderEpochs()) || len(ents.e) < 3 {
		t.Errorf("leader-epoch-checkpoint %v (%v), cache %v", ents.e, err, l.LeaderEpochs())
	}
	waitGone(t, r.paths[0], regexp.MustCompile(`^moving-3`))
	// The moved log takes appends, rolls and syncs in its new place.
	for n := 0; n < 200; n++ {
		r.appendOne(100_000 + n)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	want := struct{ start, end, hw int64 }{l.LogStartOffset(), l.LogEndOffset(), l.HighWatermark()}
	epochs := l.LeaderEpochs()
	r.close()

	r.open()
	l = r.dirs[1].Log(r.tp)
	if l == nil || r.dirs[0].Log(r.tp) != nil {
		t.Fatalf("after a restart: %v in the source, %v in the destination", r.dirs[0].Logs(), r.dirs[1].Logs())
	}
	got := struct{ start, end, hw int64 }{l.LogStartOffset(), l.LogEndOffset(), l.HighWatermark()}
	if got != want || !slices.Equal(l.LeaderEpochs(), epochs) {
		t.Errorf("after a restart: offsets %+v epochs %v, want %+v %v", got, l.LeaderEpochs(), want, epochs)
	}
	r.checkAll(l)
	r.close()
}

// copyTree copies the directory from to to (a snapshot of a log dir as a
// crash would leave it: what was written, page cache included). Files
// that go meanwhile (.deleted ones, unlinked late) are left out.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, e os.DirEntry, err error) error {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A crash during the copy leaves the log and a partial future: the next
// open deletes the future, and the log is whole where it was.
func TestMoveCrashDuringCopy(t *testing.T) {
	r := newMoveRig(t)
	for n := 0; n < 600; n++ {
		r.appendOne(n)
	}
	m, err := r.dirs[0].StartMove(r.tp, r.dirs[1])
	if err != nil {
		t.Fatal(err)
	}
	if reached, behind, err := m.CatchUp(16 << 10); err != nil || reached || behind <= 0 {
		t.Fatalf("after a partial copy: reached %v, behind %d, %v", reached, behind, err)
	}
	if f := r.dirs[1].Futures(); len(f) != 1 || f[0].LogEndOffset() == 0 ||
		f[0].LogEndOffset() >= r.l.LogEndOffset() {
		t.Fatalf("futures %v", f)
	}
	if err := r.dirs[1].Checkpoint(); err != nil { // the future's offsets, as maintenance writes them
		t.Fatal(err)
	}
	crashed := [2]string{t.TempDir(), t.TempDir()}
	for i := range crashed {
		copyTree(t, r.paths[i], crashed[i])
	}
	want := r.l.LogEndOffset()
	r.close()

	r.paths = crashed
	r.open()
	defer r.close()
	l := r.dirs[0].Log(r.tp)
	if l == nil || r.dirs[1].Log(r.tp) != nil || l.LogEndOffset() != want {
		t.Fatalf("after the crash: source %v, destination %v", r.dirs[0].Logs(), r.dirs[1].Logs())
	}
	r.checkAll(l)
	waitGone(t, crashed[1], regexp.MustCompile(`^moving-3`))
}

// A crash between the switch's renames (the log's directory renamed
// `-delete`, the future not yet in place) leaves a future and no log: the
// next open finishes the move, with every batch and the offsets.
func TestMoveCrashBetweenRenames(t *testing.T) {
	r := newMoveRig(t)
	for n := 0; n < 600; n++ {
		r.appendOne(n)
	}
	if err := r.dirs[0].Checkpoint(); err != nil {
		t.Fatal(err)
	}
	crashed := [2]string{t.TempDir(), t.TempDir()}
	r.runOwner(600)
	r.move(func() {
		if err := r.dirs[1].Checkpoint(); err != nil {
			t.Error(err)
		}
		for i := range crashed {
			copyTree(t, r.paths[i], crashed[i])
		}
	})
	r.stopOwner()
	var aside []string
	ents, _ := os.ReadDir(crashed[0])
	for _, e := range ents {
		aside = append(aside, e.Name())
	}
	if !slices.ContainsFunc(aside, regexp.MustCompile(`^moving-3\.[0-9a-f]{32}-delete$`).MatchString) {
		t.Fatalf("source at the crash: %v", aside)
	}
	r.close()

	r.paths = crashed
	r.open()
	defer r.close()
	l := r.dirs[1].Log(r.tp)
	if l == nil || r.dirs[0].Log(r.tp) != nil || len(r.dirs[1].Futures()) != 0 {
		t.Fatalf("after the crash: source %v, destination %v", r.dirs[0].Logs(), r.dirs[1].Logs())
	}
	if l.LogStartOffset() == 0 || l.LogEndOffset() == 0 {
		t.Errorf("offsets [%d, %d)", l.LogStartOffset(), l.LogEndOffset())
	}
	if id, ok := l.TopicID(); !ok || id != ([16]byte{1, 2, 3}) {
		t.Errorf("topic id %x %v", id, ok)
	}
	r.checkAll(l)
	waitGone(t, crashed[0], regexp.MustCompile(`^moving-3`))
}

// Deleting the log aborts its move: the future goes first, the move's
// steps answer ErrMoveEnded. A compaction pass under way makes the switch
// answer ErrMoveBusy.
func TestMoveAbortedByDelete(t *testing.T) {
	r := newMoveRig(t)
	defer r.close()
	for n := 0; n < 300; n++ {
		r.appendOne(n)
	}
	m, err := r.dirs[0].StartMove(r.tp, r.dirs[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.dirs[0].StartMove(r.tp, r.dirs[1]); err == nil {
		t.Error("a second move of the same log started")
	}
	if _, _, err := m.CatchUp(8 << 10); err != nil {
		t.Fatal(err)
	}
	r.l.compact.run.Lock()
	if err := m.Switch(nil); !errors.Is(err, ErrMoveBusy) {
		t.Errorf("switch during a compaction: %v", err)
	}
	r.l.compact.run.Unlock()
	if err := r.dirs[0].DeleteLog(r.tp); err != nil {
		t.Fatal(err)
	}
	if f := r.dirs[1].Futures(); len(f) != 0 {
		t.Errorf("futures after the delete: %v", f)
	}
	if _, _, err := m.CatchUp(8 << 10); !errors.Is(err, ErrMoveEnded) {
		t.Errorf("catch up after the delete: %v", err)
	}
	if err := m.Switch(nil); !errors.Is(err, ErrMoveEnded) {
		t.Errorf("switch after the delete: %v", err)
	}
	waitGone(t, r.paths[1], regexp.MustCompile(`^moving-3`))
	waitGone(t, r.paths[0], regexp.MustCompile(`^moving-3`))
}

// FindLog finds a log in one of the log dirs at every moment of a move,
// while the switch takes it from one to the other.
func TestFindLogDuringSwitch(t *testing.T) {
	r := newMoveRig(t)
	defer r.close()
	for n := 0; n < 200; n++ {
		r.appendOne(n)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			// The log dirs in both orders: a switch goes one way.
			for _, dirs := range [][]*Dir{{r.dirs[0], r.dirs[1]}, {r.dirs[1], r.dirs[0]}} {
				if d, l := FindLog(dirs, r.tp); d == nil || l != r.l {
					t.Errorf("FindLog: %v %v", d, l)
					return
				}
			}
		}
	}()
	r.runOwner(200)
	r.move(nil)
	r.stopOwner()
	close(stop)
	wg.Wait()
	if d, _ := FindLog(r.dirs[:], r.tp); d != r.dirs[1] {
		t.Errorf("after the move: in %v", d)
	}
}
