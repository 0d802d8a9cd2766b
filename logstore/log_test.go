package logstore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func appendN(t *testing.T, l *Log, n, valueSize int, ts int64) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := l.Append(makeBatch(batchSpec{records: 2, valueSize: valueSize, ts: ts}), 0); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRetentionByTimeAndSize(t *testing.T) {
	clk := newFakeClock()
	cfg := testConfig(1024)
	l := openTestLog(t, t.TempDir(), cfg, Options{Now: clk.Now}, OpenState{})
	defer l.Close()
	now := clk.Now().UnixMilli()
	appendN(t, l, 10, 300, now-10_000) // old batches: several segments
	appendN(t, l, 10, 300, now)        // new ones
	l.SetHighWatermark(l.LogEndOffset())
	segs := l.SegmentCount()
	if segs < 8 {
		t.Fatalf("only %d segments", segs)
	}

	// retention.ms: the old segments go; the segment holding both old and
	// new batches and every newer one stay.
	cfg.RetentionMs = 5_000
	l.SetConfig(cfg)
	n, err := l.ApplyRetention(clk.Now())
	if err != nil || n == 0 {
		t.Fatalf("time retention deleted %d: %v", n, err)
	}
	for _, s := range l.segments()[:l.SegmentCount()-1] {
		if now-s.largestTimestamp() > cfg.RetentionMs {
			t.Fatalf("segment %d (max ts %d) kept past retention", s.base, s.largestTimestamp())
		}
	}
	if l.LogStartOffset() != l.segments()[0].base {
		t.Fatalf("log start %d, first segment %d", l.LogStartOffset(), l.segments()[0].base)
	}
	if _, err := l.Read(0, 100, l.LogEndOffset()); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read of a deleted offset: %v", err)
	}

	// retention.bytes: whole segments go until the rest fits.
	cfg.RetentionMs, cfg.RetentionBytes = -1, 2000
	l.SetConfig(cfg)
	if _, err := l.ApplyRetention(clk.Now()); err != nil {
		t.Fatal(err)
	}
	if l.Size() > 2000+l.active().size.Load() && l.SegmentCount() > 1 {
		t.Fatalf("size %d over retention.bytes", l.Size())
	}
	// Never the active segment, even with retention.bytes 0.
	cfg.RetentionBytes = 0
	l.SetConfig(cfg)
	l.ApplyRetention(clk.Now())
	if l.SegmentCount() != 1 || l.active().size.Load() == 0 {
		t.Fatalf("%d segments, active size %d", l.SegmentCount(), l.active().size.Load())
	}
}

// Retention stops at the high watermark: a segment with uncommitted offsets stays.
func TestRetentionStopsAtHighWatermark(t *testing.T) {
	cfg := testConfig(1024)
	cfg.RetentionBytes = 0
	l := openTestLog(t, t.TempDir(), cfg, Options{}, OpenState{})
	defer l.Close()
	appendN(t, l, 20, 300, 1)
	if n, _ := l.ApplyRetention(time.Now()); n != 0 {
		t.Fatalf("deleted %d segments with high watermark 0", n)
	}
	third := l.segments()[2].base
	l.SetHighWatermark(third)
	if n, _ := l.ApplyRetention(time.Now()); n != 2 || l.LogStartOffset() != third {
		t.Fatalf("deleted %d segments, start %d, want 2 and %d", n, l.LogStartOffset(), third)
	}
}

// A segment deleted while a reader holds it stays readable (renamed
// .deleted) and is unlinked at the reader's Release.
func TestDeleteDeferredWhileRead(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(1024)
	cfg.RetentionBytes = 0
	l := openTestLog(t, dir, cfg, Options{}, OpenState{})
	defer l.Close()
	appendN(t, l, 10, 300, 1)
	l.SetHighWatermark(l.LogEndOffset())
	s, err := l.Read(0, 1<<20, l.LogEndOffset())
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, s.Len)
	s.Seg.File().ReadAt(want, s.Pos)
	if _, err := l.ApplyRetention(time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(segPath(dir, 0, logSuffix)); !os.IsNotExist(err) {
		t.Fatalf("deleted segment still under its name: %v", err)
	}
	if _, err := os.Stat(segPath(dir, 0, logSuffix+deletedSuffix)); err != nil {
		t.Fatalf("no .deleted file while read: %v", err)
	}
	if got := readSlice(t, s); !bytes.Equal(got, want) { // releases
		t.Fatal("bytes changed under the reader")
	}
	if _, err := os.Stat(segPath(dir, 0, logSuffix+deletedSuffix)); !os.IsNotExist(err) {
		t.Fatalf(".deleted file left after the last release: %v", err)
	}
}

// A segment sealed while a reader holds it is trimmed at the reader's Release.
func TestTrimDeferredWhileRead(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(1 << 20)
	l := openTestLog(t, dir, cfg, Options{}, OpenState{})
	defer l.Close()
	appendN(t, l, 5, 100, 1)
	s, err := l.Read(0, 1<<20, l.LogEndOffset())
	if err != nil {
		t.Fatal(err)
	}
	size := l.Size()
	reserved := fileSize(t, segPath(dir, 0, logSuffix))
	if reserved <= size {
		t.Fatalf("segment of %d bytes has %d reserved: nothing to trim", size, reserved)
	}
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, segPath(dir, 0, logSuffix)); got != reserved {
		t.Fatalf("held segment trimmed to %d at roll", got)
	}
	if rp := l.RecoveryPoint(); rp != 0 {
		t.Fatalf("recovery point %d past an untrimmed segment", rp)
	}
	s.Release()
	if got := fileSize(t, segPath(dir, 0, logSuffix)); got != size {
		t.Fatalf("segment is %d bytes after release, want %d", got, size)
	}
	if rp := l.RecoveryPoint(); rp != l.LogEndOffset() {
		t.Fatalf("recovery point %d, want %d", rp, l.LogEndOffset())
	}
}

func TestReadLimits(t *testing.T) {
	l := openTestLog(t, t.TempDir(), testConfig(1<<20), Options{}, OpenState{})
	defer l.Close()
	var sizes []int64
	for i := 0; i < 20; i++ {
		b := makeBatch(batchSpec{records: 3, valueSize: 100})
		sizes = append(sizes, int64(len(b)))
		l.Append(b, 0)
	}
	// A batch over maxBytes still comes whole; then whole batches only.
	s, _ := l.Read(0, 10, 60)
	if s.Len != sizes[0] {
		t.Fatalf("read with maxBytes 10: %d bytes, want one batch %d", s.Len, sizes[0])
	}
	s.Release()
	s, _ = l.Read(4, sizes[0]*3+5, 60) // from inside batch 1 (offsets 3-5)
	if s.FirstOffset != 3 || s.Len != sizes[0]*3 {
		t.Fatalf("read at 4: first %d, %d bytes", s.FirstOffset, s.Len)
	}
	s.Release()
	// upTo mid-batch excludes that batch; upTo inside the first batch gives nothing.
	s, _ = l.Read(0, 1<<20, 7)
	if s.Len != sizes[0]*2 {
		t.Fatalf("read up to 7: %d bytes", s.Len)
	}
	s.Release()
	if s, _ = l.Read(0, 1<<20, 2); s.Seg != nil {
		t.Fatalf("read up to 2 returned %d bytes", s.Len)
	}
	if s, err := l.Read(60, 1<<20, 60); s.Seg != nil || err != nil {
		t.Fatalf("read at the end: %v %v", s.Seg, err)
	}
	if _, err := l.Read(61, 1<<20, 61); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read past the end: %v", err)
	}
}

func TestTruncateMidBatchAndEpochs(t *testing.T) {
	dir := t.TempDir()
	l := openTestLog(t, dir, testConfig(1024), Options{}, OpenState{})
	for e := int32(1); e <= 4; e++ {
		for i := 0; i < 3; i++ {
			if _, err := l.Append(makeBatch(batchSpec{records: 5, valueSize: 60}), e); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := []EpochEntry{{1, 0}, {2, 15}, {3, 30}, {4, 45}}
	if got := l.LeaderEpochs(); !equalEpochs(got, want) {
		t.Fatalf("epochs %v, want %v", got, want)
	}
	if ep, end := l.EndOffsetForEpoch(2); ep != 2 || end != 30 {
		t.Fatalf("end offset for epoch 2: (%d, %d)", ep, end)
	}
	if ep, end := l.EndOffsetForEpoch(9); ep != 4 || end != 60 {
		t.Fatalf("end offset for epoch 9: (%d, %d)", ep, end)
	}
	if err := l.TruncateTo(33); err != nil { // inside batch [30, 34]
		t.Fatal(err)
	}
	if l.LogEndOffset() != 33 {
		t.Fatalf("log end %d after truncate to 33", l.LogEndOffset())
	}
	if s, err := l.Read(30, 1<<20, 33); err != nil || s.Seg != nil {
		t.Fatalf("read of the cut batch: %v %v", s.Seg, err)
	}
	if got := l.LeaderEpochs(); !equalEpochs(got, want[:3]) {
		t.Fatalf("epochs after truncate %v", got)
	}
	res, err := l.Append(makeBatch(batchSpec{records: 1, valueSize: 1}), 5)
	if err != nil || res.FirstOffset != 33 {
		t.Fatalf("append after truncate: %+v %v", res, err)
	}
	l.SetHighWatermark(34)
	if start, err := l.DeleteRecords(20); err != nil || start != 20 {
		t.Fatalf("delete records: %d %v", start, err)
	}
	if _, err := l.DeleteRecords(35); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("delete records past hw: %v", err)
	}
	wantNow := []EpochEntry{{2, 20}, {3, 30}, {5, 33}}
	if got := l.LeaderEpochs(); !equalEpochs(got, wantNow) {
		t.Fatalf("epochs %v, want %v", got, wantNow)
	}
	l.Close()
	l = openTestLog(t, dir, testConfig(1024), Options{}, OpenState{Clean: true, RecoveryPoint: 34, LogStartOffset: 20})
	defer l.Close()
	if got := l.LeaderEpochs(); !equalEpochs(got, wantNow) {
		t.Fatalf("epochs after reopen %v, want %v", got, wantNow)
	}
	if err := l.TruncateFullyAndStartAt(100); err != nil {
		t.Fatal(err)
	}
	if l.LogEndOffset() != 100 || l.LogStartOffset() != 100 || len(l.LeaderEpochs()) != 0 || l.SegmentCount() != 1 {
		t.Fatalf("after full truncation: end %d start %d epochs %v", l.LogEndOffset(), l.LogStartOffset(), l.LeaderEpochs())
	}
}

func equalEpochs(a, b []EpochEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFollowerAppend(t *testing.T) {
	l := openTestLog(t, t.TempDir(), testConfig(1<<20), Options{}, OpenState{})
	defer l.Close()
	a := makeBatch(batchSpec{records: 3, valueSize: 5})
	Batch(a).setBaseOffset(0)
	Batch(a).setLeaderEpoch(4)
	b := makeBatch(batchSpec{records: 2, valueSize: 5})
	Batch(b).setBaseOffset(10) // a gap, as after compaction
	Batch(b).setLeaderEpoch(6)
	p := append(append(append([]byte{}, a...), b...), b[:20]...) // and a partial batch
	res, err := l.AppendAsFollower(p)
	if err != nil || res.FirstOffset != 0 || res.LastOffset != 11 || res.Batches != 2 {
		t.Fatalf("follower append: %+v %v", res, err)
	}
	if got := l.LeaderEpochs(); !equalEpochs(got, []EpochEntry{{4, 0}, {6, 10}}) {
		t.Fatalf("epochs %v", got)
	}
	if _, err := l.AppendAsFollower(b); !errors.Is(err, ErrOffsetsOutOfOrder) {
		t.Fatalf("append below the end: %v", err)
	}
	s, _ := l.Read(5, 1<<20, 12) // in the gap: the next batch
	if s.FirstOffset != 10 || !bytes.Equal(readSlice(t, s), b) {
		t.Fatalf("read in the gap: first %d", s.FirstOffset)
	}
}

// countingSyncer records syncs and completes them when told.
type countingSyncer struct {
	mu      sync.Mutex
	calls   int
	pending []func(error)
	async   bool
}

func (c *countingSyncer) Sync(files []*os.File, dir *os.File, done func(error)) {
	c.mu.Lock()
	c.calls++
	if c.async {
		c.pending = append(c.pending, done)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	done(nil)
}

func TestFlushPolicy(t *testing.T) {
	cfg := testConfig(1 << 20)
	cfg.FlushMessages = 1
	sy := &countingSyncer{}
	l := openTestLog(t, t.TempDir(), cfg, Options{Syncer: sy}, OpenState{})
	defer l.Close()
	for i := 0; i < 5; i++ {
		res, err := l.Append(makeBatch(batchSpec{records: 1, valueSize: 1}), 0)
		if err != nil || !res.SyncStarted {
			t.Fatalf("append %d: %+v %v", i, res, err)
		}
		if l.RecoveryPoint() != l.LogEndOffset() {
			t.Fatalf("recovery point %d, end %d", l.RecoveryPoint(), l.LogEndOffset())
		}
	}
	if sy.calls != 5 {
		t.Fatalf("%d syncs for 5 appends with flush.messages=1", sy.calls)
	}

	// flush.ms through Maintain, with the default flush.messages.
	clk := newFakeClock()
	cfg = testConfig(1 << 20)
	cfg.FlushMs = 1000
	sy = &countingSyncer{}
	l2 := openTestLog(t, t.TempDir(), cfg, Options{Syncer: sy, Now: clk.Now}, OpenState{})
	defer l2.Close()
	l2.Append(makeBatch(batchSpec{records: 1, valueSize: 1}), 0)
	l2.Maintain(clk.Now())
	if sy.calls != 0 {
		t.Fatalf("synced before flush.ms")
	}
	clk.Add(2 * time.Second)
	l2.Maintain(clk.Now())
	if sy.calls != 1 || l2.RecoveryPoint() != 1 {
		t.Fatalf("%d syncs, recovery point %d after flush.ms", sy.calls, l2.RecoveryPoint())
	}
}

// With an asynchronous Syncer the recovery point moves only over a prefix of
// completed syncs, and a sync from before a truncation moves nothing.
func TestRecoveryPointAsyncSyncs(t *testing.T) {
	cfg := testConfig(1 << 20)
	cfg.FlushMessages = 1
	sy := &countingSyncer{async: true}
	l := openTestLog(t, t.TempDir(), cfg, Options{Syncer: sy}, OpenState{})
	defer func() {
		for _, d := range sy.pending {
			d(nil)
		}
		l.Close()
	}()
	appendN(t, l, 3, 1, 1) // syncs up to 2, 4, 6
	sy.pending[2](nil)
	sy.pending[1](nil)
	if rp := l.RecoveryPoint(); rp != 0 {
		t.Fatalf("recovery point %d before the first sync completed", rp)
	}
	sy.pending[0](nil)
	if rp := l.RecoveryPoint(); rp != 6 {
		t.Fatalf("recovery point %d, want 6", rp)
	}
	appendN(t, l, 1, 1, 1) // sync up to 8, pending
	l.TruncateTo(7)
	sy.pending[3](nil)
	if rp := l.RecoveryPoint(); rp != 6 {
		t.Fatalf("recovery point %d after a pre-truncation sync", rp)
	}
	sy.pending = nil
	// A failed sync fails the log.
	appendN(t, l, 1, 1, 1)
	sy.pending[0](errors.New("EIO"))
	if _, err := l.Append(makeBatch(batchSpec{records: 1, valueSize: 1}), 0); !errors.Is(err, ErrStorage) {
		t.Fatalf("append after a failed sync: %v", err)
	}
	sy.pending = nil
}

func TestRollTriggers(t *testing.T) {
	clk := newFakeClock()
	cfg := testConfig(1 << 20)
	cfg.SegmentMs = 1000
	l := openTestLog(t, t.TempDir(), cfg, Options{Now: clk.Now}, OpenState{})
	defer l.Close()
	l.Append(makeBatch(batchSpec{records: 1, valueSize: 1, ts: -1}), 0) // no timestamps: by the clock
	clk.Add(500 * time.Millisecond)
	l.Append(makeBatch(batchSpec{records: 1, valueSize: 1, ts: -1}), 0)
	if l.SegmentCount() != 1 {
		t.Fatal("rolled before segment.ms")
	}
	clk.Add(time.Second)
	l.Append(makeBatch(batchSpec{records: 1, valueSize: 1, ts: -1}), 0)
	if l.SegmentCount() != 2 || l.active().base != 2 {
		t.Fatalf("%d segments after segment.ms", l.SegmentCount())
	}
	// By timestamps: the incoming batch against the segment's first.
	l.Roll()
	l.Append(makeBatch(batchSpec{records: 1, valueSize: 1, ts: 10_000}), 0)
	l.Append(makeBatch(batchSpec{records: 1, valueSize: 1, ts: 10_500}), 0)
	if l.SegmentCount() != 3 {
		t.Fatalf("%d segments", l.SegmentCount())
	}
	l.Append(makeBatch(batchSpec{records: 1, valueSize: 1, ts: 11_001}), 0)
	if l.SegmentCount() != 4 {
		t.Fatalf("%d segments: no roll on segment.ms by timestamp", l.SegmentCount())
	}

	// A full index rolls too.
	cfg = testConfig(1 << 20)
	cfg.IndexIntervalBytes = 0
	cfg.SegmentIndexBytes = 5 * timeEntrySize // 7 offset entries, 5 time entries
	l2 := openTestLog(t, t.TempDir(), cfg, Options{}, OpenState{})
	defer l2.Close()
	for i := 0; i < 20; i++ {
		l2.Append(makeBatch(batchSpec{records: 1, valueSize: 1, ts: int64(i)}), 0)
	}
	for _, s := range l2.segments() {
		if s.idx.len() > s.idx.maxEntries {
			t.Fatalf("segment %d index has %d entries, max %d", s.base, s.idx.len(), s.idx.maxEntries)
		}
	}
	if l2.SegmentCount() < 4 {
		t.Fatalf("%d segments: no roll on a full index", l2.SegmentCount())
	}
}

// Reads on other goroutines while the owner appends, rolls and deletes
// (run with -race): every read returns whole, valid batches.
func TestConcurrentReads(t *testing.T) {
	cfg := testConfig(8192)
	cfg.RetentionBytes = 40_000
	l := openTestLog(t, t.TempDir(), cfg, Options{}, OpenState{})
	defer l.Close()
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				start, end := l.LogStartOffset(), l.LogEndOffset()
				if end == start {
					continue
				}
				off := start + (end-start)/2
				s, err := l.Read(off, 4096, l.HighWatermark())
				if errors.Is(err, ErrOffsetOutOfRange) {
					continue
				}
				if err != nil {
					t.Errorf("read %d: %v", off, err)
					return
				}
				for p := readSlice(t, s); len(p) > 0; {
					n, err := ValidateBatch(p, 1<<20, OriginReplication)
					if err != nil {
						t.Errorf("read %d: bad batch: %v", off, err)
						return
					}
					p = p[n:]
				}
				reads.Add(1)
			}
		}()
	}
	for i := 0; i < 3000; i++ {
		if _, err := l.Append(makeBatch(batchSpec{records: 2, valueSize: 100}), 0); err != nil {
			t.Fatal(err)
		}
		l.SetHighWatermark(l.LogEndOffset())
		if i%50 == 0 {
			l.ApplyRetention(time.Now())
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d concurrent reads", reads.Load())
}

func TestDirCheckpointsAndCleanShutdown(t *testing.T) {
	path := t.TempDir()
	cfgFor := func(TopicPartition) Config { return testConfig(4096) }
	d, err := OpenDir(path, Options{Logger: quietLogger()}, cfgFor)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := d.CreateLog(TopicPartition{"orders-eu", 0}, testConfig(4096))
	b, _ := d.CreateLog(TopicPartition{"orders-eu", 1}, testConfig(4096))
	appendN(t, a, 30, 200, 1)
	appendN(t, b, 3, 10, 1)
	a.SetHighWatermark(40)
	a.DeleteRecords(25)
	if err := a.SetTopicID([16]byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(path, CleanShutdownFile)); err != nil {
		t.Fatalf("no clean shutdown marker: %v", err)
	}
	rp, _ := os.ReadFile(filepath.Join(path, RecoveryPointFile))
	if string(rp) != "0\n2\norders-eu 0 60\norders-eu 1 6\n" {
		t.Fatalf("recovery point checkpoint:\n%s", rp)
	}
	ls, _ := ReadOffsetCheckpoint(filepath.Join(path, LogStartOffsetFile))
	hw, _ := ReadOffsetCheckpoint(filepath.Join(path, ReplicationOffsetFile))
	if ls[TopicPartition{"orders-eu", 0}] != 25 || hw[TopicPartition{"orders-eu", 0}] != 40 {
		t.Fatalf("log start %v, high watermarks %v", ls, hw)
	}

	var logs logCapture
	d, err = OpenDir(path, Options{Logger: logs.logger()}, cfgFor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(path, CleanShutdownFile)); !os.IsNotExist(err) {
		t.Fatalf("marker kept after open: %v", err)
	}
	a = d.Log(TopicPartition{"orders-eu", 0})
	if a == nil || a.LogEndOffset() != 60 || a.LogStartOffset() != 25 || a.HighWatermark() != 40 {
		t.Fatalf("reopened log: %+v", a)
	}
	if id, ok := a.TopicID(); !ok || id != [16]byte{1, 2, 3} {
		t.Fatalf("topic id %x %v", id, ok)
	}
	if strings.Contains(logs.String(), "recovery") {
		t.Fatalf("clean open recovered:\n%s", logs.String())
	}
	// A crash now (no Close): the next open rescans from the recovery points.
	appendN(t, a, 2, 10, 1)
	d.Checkpoint()
	for _, l := range d.Logs() {
		l.abandon()
	}
	logs = logCapture{}
	d, err = OpenDir(path, Options{Logger: logs.logger()}, cfgFor)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := d.Log(TopicPartition{"orders-eu", 0}).LogEndOffset(); got != 64 {
		t.Fatalf("log end %d after crash, want 64", got)
	}
	if !strings.Contains(logs.String(), "logstore: recovery") {
		t.Fatalf("unclean open did not rescan:\n%s", logs.String())
	}
	if err := d.DeleteLog(TopicPartition{"orders-eu", 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(path, "orders-eu-1")); !os.IsNotExist(err) {
		t.Fatalf("deleted log dir still there: %v", err)
	}
}

func TestParsePartitionDir(t *testing.T) {
	for name, want := range map[string]TopicPartition{
		"orders-0": {"orders", 0}, "a-b-c-12": {"a-b-c", 12}, "__consumer_offsets-49": {"__consumer_offsets", 49},
	} {
		if got, ok := ParsePartitionDir(name); !ok || got != want {
			t.Fatalf("%s: %v %v", name, got, ok)
		}
	}
	for _, name := range []string{"orders", "-1", "orders-", "orders-01", "orders-x", "orders-0.abc-delete"} {
		if _, ok := ParsePartitionDir(name); ok {
			t.Fatalf("%s parsed", name)
		}
	}
}

// countingIO counts the fdatasyncs a log asks for.
type countingIO struct {
	PwriteIO
	syncs atomic.Int64
}

func (c *countingIO) Datasync(f *os.File) error {
	c.syncs.Add(1)
	return c.PwriteIO.Datasync(f)
}

// A log closed without having been written since it opened costs no
// fsync; one that was written syncs at close.
func TestCloseSyncsOnlyWhatChanged(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(1 << 20)
	io := &countingIO{}
	l := openTestLog(t, dir, cfg, Options{IO: io}, OpenState{})
	appendN(t, l, 3, 100, 1)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if io.syncs.Load() == 0 {
		t.Fatal("a written log closed without an fdatasync")
	}
	io.syncs.Store(0)
	l = openTestLog(t, dir, cfg, Options{IO: io}, OpenState{Clean: true, RecoveryPoint: l.LogEndOffset()})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n := io.syncs.Load(); n != 0 {
		t.Fatalf("an untouched log made %d fdatasyncs at close", n)
	}
}
