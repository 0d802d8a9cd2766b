package logstore

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxRelOffset is the largest offset - base a segment may hold: index
// entries store it as u32, Kafka keeps it an int32.
const maxRelOffset = math.MaxInt32

// Log is one partition's log: its segments, offsets and leader epochs. See
// the package doc for who may call what concurrently.
type Log struct {
	// dir is the `<topic>-<partition>` directory. A move's switch
	// (move.go) changes it, holding mu and compact.run; other goroutines
	// read dirName.
	dir       string
	dirName   atomic.Pointer[string]
	topic     string
	partition int32
	cfg       Config
	opts      Options
	logger    *slog.Logger
	epochs    *epochCache

	// Published state, read by any goroutine.
	segs     atomic.Pointer[[]*Segment] // immutable snapshot, ascending base
	leo      atomic.Int64
	logStart atomic.Int64
	hw       atomic.Int64
	flushes  flushTracker
	failed   atomic.Pointer[error]
	// closedForWaits: Close has answered every WhenDurable wait; later
	// ones are answered at once. Guarded by flushes.mu.
	closedForWaits bool

	mu         sync.Mutex // serializes the mutating methods
	closed     bool
	unflushed  int64     // records appended since the last flush
	lastFlush  time.Time // for flush.ms
	infos      []batchInfo
	step       reserveStep // the next disk reservation step
	lastAppend time.Time   // for releaseIdleLocked
	// modified: segments were written, rolled or truncated since open;
	// a log that was not needs no fsync at close.
	modified    bool
	noFallocate bool         // the file system cannot reserve blocks
	compact     compactState // owner only, under mu
	topicID     atomic.Pointer[[16]byte]
	// move is the log's move to another log dir under way (move.go), or
	// nil. Under mu.
	move *Move
	// snaps are the producer-state snapshot files (producer_snapshot.go).
	snaps producerSnaps
}

// OpenState is what the log dir remembers of a log between runs.
type OpenState struct {
	// Clean: the last run closed the log (the clean-shutdown marker was
	// there); no segment is rescanned unless its indexes are bad.
	Clean bool
	// RecoveryPoint: every byte below it was durable; after an unclean stop
	// the segment holding it and all later ones are rescanned. 0 rescans all.
	RecoveryPoint int64
	// LogStartOffset, from log-start-offset-checkpoint; -1 when unknown.
	LogStartOffset int64
	// HighWatermark, from replication-offset-checkpoint; clamped to the end.
	HighWatermark int64
}

// Open opens (creating when missing) the log in dir, a `<topic>-<partition>`
// directory. After an unclean stop it rescans the segments from the
// recovery point, cuts the log at the first torn or corrupt batch, and logs
// what it cut.
func Open(dir, topic string, partition int32, cfg Config, opts Options, st OpenState) (*Log, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("open log %s: %w", dir, err)
	}
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	l := &Log{
		dir: dir, topic: topic, partition: partition, cfg: cfg, opts: opts,
		logger:    opts.Logger.With("topic", topic, "partition", partition),
		lastFlush: opts.Now(),
	}
	l.dirName.Store(&dir)
	if err := l.load(st); err != nil {
		l.releaseAll()
		return nil, fmt.Errorf("open log %s: %w", dir, err)
	}
	return l, nil
}

// load finds the segments, recovers what needs it, and sets the offsets.
func (l *Log) load(st OpenState) error {
	bases, snaps, err := l.scanDir()
	if err != nil {
		return err
	}
	segs, err := l.loadSegments(bases, st)
	if err != nil {
		return err
	}
	if len(segs) == 0 {
		s, err := createSegment(l.dir, max(st.LogStartOffset, 0), &l.cfg, l.opts.Now(), l.logger)
		if err != nil {
			return err
		}
		segs = []*Segment{s}
		if err := syncPath(l.dir); err != nil {
			return err
		}
	}
	l.segs.Store(&segs)
	last := segs[len(segs)-1]
	if err := last.activate(); err != nil {
		return err
	}
	leo := last.next.Load()
	l.leo.Store(leo)
	l.logStart.Store(min(max(st.LogStartOffset, segs[0].base), leo))
	l.hw.Store(min(max(st.HighWatermark, 0), leo))
	l.flushes.set(leo)
	if l.epochs, err = openEpochCache(filepath.Join(l.dir, leaderEpochFile)); err != nil {
		return err
	}
	if err := l.epochs.truncateFromEnd(leo); err != nil {
		return err
	}
	if err := l.epochs.truncateFromStart(l.logStart.Load()); err != nil {
		return err
	}
	l.snaps.open(l.dir, l.logger, snaps, l.logStart.Load(), leo)
	if id, ok, err := ReadPartitionMetadata(l.dir); err != nil {
		l.logger.Warn("logstore: ignoring unreadable partition.metadata", "err", err)
	} else if ok {
		l.topicID.Store(&id)
	}
	return nil
}

// scanDir lists the segment base offsets and the producer snapshots in the
// directory and removes what an earlier run left half done: .deleted
// files, orphan indexes, temp files.
func (l *Log) scanDir() (bases, snaps []int64, err error) {
	if err := l.completeSwaps(); err != nil {
		return nil, nil, err
	}
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, nil, err
	}
	logs := map[int64]bool{}
	var orphans []string
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, deletedSuffix), strings.HasSuffix(name, tmpSuffix):
			orphans = append(orphans, name)
		case strings.HasSuffix(name, logSuffix):
			if b, ok := parseBase(name, logSuffix); ok {
				logs[b] = true
			}
		case strings.HasSuffix(name, snapshotSuffix):
			if o, ok := parseBase(name, snapshotSuffix); ok {
				snaps = append(snaps, o)
			}
		}
	}
	for _, e := range ents {
		name := e.Name()
		for _, suf := range []string{indexSuffix, timeIndexSuffix} {
			if b, ok := parseBase(name, suf); ok && !logs[b] {
				orphans = append(orphans, name)
			}
		}
	}
	for _, name := range orphans {
		if err := os.Remove(filepath.Join(l.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, nil, err
		}
	}
	bases = make([]int64, 0, len(logs))
	for b := range logs {
		bases = append(bases, b)
	}
	slices.Sort(bases)
	return bases, snaps, nil
}

func parseBase(name, suffix string) (int64, bool) {
	s, ok := strings.CutSuffix(name, suffix)
	if !ok || len(s) != 20 {
		return 0, false
	}
	b, err := strconv.ParseInt(s, 10, 64)
	return b, err == nil && b >= 0
}

// loadSegments opens every segment; after an unclean stop the ones from the
// recovery point on are rescanned. A segment whose rescan meets damage (not
// just unwritten space) is cut there and every later segment is deleted, as
// Kafka does: the log must stay one run of increasing offsets.
func (l *Log) loadSegments(bases []int64, st OpenState) ([]*Segment, error) {
	var segs []*Segment
	fail := func(err error) ([]*Segment, error) {
		for _, s := range segs {
			s.Release()
		}
		return nil, err
	}
	recoverFrom := len(bases)
	if !st.Clean {
		recoverFrom = 0
		for i, b := range bases {
			if b <= st.RecoveryPoint {
				recoverFrom = i
			}
		}
	}
	for i, base := range bases {
		s, err := openSegmentFiles(l.dir, base, false, &l.cfg, l.logger)
		if err != nil {
			return fail(err)
		}
		segs = append(segs, s)
		isLast := i == len(bases)-1
		if i >= recoverFrom {
			damaged, err := l.recoverSegment(s, isLast)
			if err != nil {
				return fail(err)
			}
			if damaged && !isLast {
				if err := l.dropAfterDamage(bases[i+1:]); err != nil {
					return fail(err)
				}
				break
			}
			continue
		}
		if err := l.loadCleanSegment(s, isLast, nextBase(bases, i)); err != nil {
			l.logger.Warn("logstore: rebuilding segment indexes", "segment", base, "reason", err)
			if damaged, err := l.recoverSegment(s, isLast); err != nil {
				return fail(err)
			} else if damaged && !isLast {
				if err := l.dropAfterDamage(bases[i+1:]); err != nil {
					return fail(err)
				}
				break
			}
		}
	}
	return segs, nil
}

func nextBase(bases []int64, i int) int64 {
	if i+1 < len(bases) {
		return bases[i+1]
	}
	return math.MaxInt64
}

// loadCleanSegment trusts the .log (its length is its logical size) and loads
// the indexes, checking them; an error means: rescan it.
func (l *Log) loadCleanSegment(s *Segment, isLast bool, next int64) error {
	if s.idxMissing {
		return errors.New("index file missing")
	}
	fi, err := s.log.Stat()
	if err != nil {
		return err
	}
	s.size.Store(fi.Size())
	if err := s.idx.load(fi.Size()); err != nil {
		return err
	}
	if err := s.tidx.load(next); err != nil {
		return err
	}
	ts, off, _ := s.tidx.last()
	s.maxTs.Store(ts)
	s.offMaxTs = off
	if !isLast {
		s.next.Store(next)
		return nil
	}
	// The last segment: its end offset, max timestamp and index spacing come
	// from the batches after its last index entry.
	sc := newScanner(s, fi.Size())
	defer sc.release()
	pos, nextOff := int64(0), s.base
	if o, p, ok := s.idx.last(); ok {
		pos, nextOff = p, o+1
		s.sinceIndex = fi.Size() - p
	} else {
		s.sinceIndex = fi.Size()
	}
	for pos < fi.Size() {
		h, err := sc.at(pos)
		if err != nil {
			return err
		}
		if pos == 0 {
			s.firstTs = h.maxTs
		}
		if h.maxTs > s.maxTs.Load() {
			s.maxTs.Store(h.maxTs)
			s.offMaxTs = h.last
		}
		nextOff, pos = h.last+1, pos+h.size
	}
	s.next.Store(nextOff)
	if s.firstTs < 0 && fi.Size() > 0 {
		h, err := sc.at(0)
		if err != nil {
			return err
		}
		s.firstTs = h.maxTs
	}
	return nil
}

// recoverSegment rescans s, cuts the file at its valid end, logs the cut, and
// writes fresh indexes. damaged reports bytes that were not unwritten space.
func (l *Log) recoverSegment(s *Segment, isLast bool) (damaged bool, err error) {
	r, err := s.recover(l.cfg.IndexIntervalBytes)
	if err != nil {
		return false, err
	}
	if r.garbage {
		l.logger.Warn("logstore: recovery cut a torn or corrupt tail",
			"segment", s.log.Name(), "position", r.validEnd, "cut_bytes", r.fileSize-r.validEnd,
			"next_offset", s.next.Load(), "batches_kept", r.batches, "reason", r.reason)
	} else if r.validEnd < r.fileSize {
		l.logger.Info("logstore: recovery trimmed unwritten space",
			"segment", s.log.Name(), "position", r.validEnd, "bytes", r.fileSize-r.validEnd)
	}
	if !isLast {
		if ts := s.maxTs.Load(); ts >= 0 {
			s.tidx.maybeAppend(ts, s.offMaxTs)
		}
	}
	if r.validEnd < r.fileSize {
		// Cut for good: stale batches past the end must never come back in a
		// later recovery. No reader holds the file yet, so shrinking is safe.
		if err := s.log.Truncate(r.validEnd); err != nil {
			return false, fmt.Errorf("cut segment %s at %d: %w", s.log.Name(), r.validEnd, err)
		}
	}
	for _, f := range []func() error{
		func() error { return s.idx.trim(false) },
		func() error { return s.tidx.trim(false) },
		func() error { return PwriteIO{}.Datasync(s.log) },
	} {
		if err := f(); err != nil {
			return false, err
		}
	}
	return r.garbage, nil
}

func (l *Log) dropAfterDamage(bases []int64) error {
	for _, b := range bases {
		l.logger.Warn("logstore: deleting segment after a damaged one", "segment", segmentName(b, logSuffix))
		for _, suf := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
			if err := os.Remove(filepath.Join(l.dir, segmentName(b, suf))); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return syncPath(l.dir)
}

// Dir is the log's `<topic>-<partition>` directory (in another log dir
// once a move switched it there).
func (l *Log) Dir() string { return *l.dirName.Load() }

// Topic and Partition name the log.
func (l *Log) Topic() string    { return l.topic }
func (l *Log) Partition() int32 { return l.partition }

// Config is the log's configuration.
func (l *Log) Config() Config {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg
}

// SetConfig changes the configuration (AlterConfigs); it applies from the
// next append or maintenance on. Reservation steps apply from the next step.
func (l *Log) SetConfig(cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfg = cfg
	return nil
}

// LogEndOffset is the offset the next append gets.
func (l *Log) LogEndOffset() int64 { return l.leo.Load() }

// LogStartOffset is the first offset a read may ask for.
func (l *Log) LogStartOffset() int64 { return l.logStart.Load() }

// HighWatermark is the last value SetHighWatermark stored (clamped to the
// log end by truncation). Retention never deletes past it.
func (l *Log) HighWatermark() int64 { return l.hw.Load() }

// SetHighWatermark is for the replica (and, single-node, the engine after
// each append): offsets below it are committed. It is clamped to the log end.
func (l *Log) SetHighWatermark(hw int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hw.Store(max(0, min(hw, l.leo.Load())))
}

// RecoveryPoint is the offset below which the log is durable and its
// segments need no rescan after a crash. It is what the log dir checkpoints.
func (l *Log) RecoveryPoint() int64 {
	p := l.DurableOffset()
	for _, s := range *l.segs.Load() {
		if s.trimPending.Load() {
			return min(p, s.base) // an untrimmed segment must be rescanned
		}
	}
	return p
}

// DurableOffset is the offset below which every appended byte has been
// synced. Unlike RecoveryPoint it is not held back by a segment waiting for
// its trim: that matters for what to rescan after a crash, not for whether
// the bytes are on disk. Any goroutine may call it.
func (l *Log) DurableOffset() int64 { return min(l.flushes.point.Load(), l.leo.Load()) }

// Size is the bytes of all segments.
func (l *Log) Size() int64 {
	var n int64
	for _, s := range *l.segs.Load() {
		n += s.size.Load()
	}
	return n
}

// SegmentCount is how many segments the log has.
func (l *Log) SegmentCount() int { return len(*l.segs.Load()) }

// Err is the storage error that failed the log, or nil.
func (l *Log) Err() error {
	if e := l.failed.Load(); e != nil {
		return *e
	}
	return nil
}

func (l *Log) fail(err error) {
	err = fmt.Errorf("%w: %s-%d: %w", ErrStorage, l.topic, l.partition, err)
	if l.failed.CompareAndSwap(nil, &err) {
		l.logger.Error("logstore: log failed", "err", err)
	}
}

// usable is nil while the log may be changed.
func (l *Log) usable() error {
	if l.closed {
		return fmt.Errorf("%w: %s", ErrClosed, l.dir)
	}
	return l.Err()
}

func (l *Log) segments() []*Segment { return *l.segs.Load() }

func (l *Log) active() *Segment {
	s := l.segments()
	return s[len(s)-1]
}

func (l *Log) publish(segs []*Segment) { l.segs.Store(&segs) }

// Close trims the active segment, syncs what is not yet durable, and closes
// the files (a segment a reader still holds closes at its Release). Readers
// must be done with ranges past the log end, and every Syncer done must have
// run: call it after the engine stopped fetches and drained its ring.
func (l *Log) Close() error {
	l.snaps.close() // the snapshots asked for are written
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	err := l.closeFiles()
	l.releaseAll()
	l.mu.Unlock()
	// Outside the lock: the waits answer requests.
	l.fireDurable(true)
	return err
}

// closeForDelete closes the log without trimming or syncing its files:
// its directory is about to be deleted (Kafka does not flush a deleted log
// either), so a large unsynced partition does not delay its delete.
func (l *Log) closeForDelete() {
	l.snaps.abandon()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	l.releaseAll()
}

func (l *Log) closeFiles() error {
	if err := l.Err(); err != nil {
		return err
	}
	segs := l.segments()
	act := segs[len(segs)-1]
	if err := act.trimForClose(); err != nil {
		return err
	}
	if !l.modified {
		// As durable as when it opened (thousands of idle partitions
		// close without an fsync each).
		return nil
	}
	rp := l.RecoveryPoint()
	for _, s := range segs {
		if s.trimPending.Load() {
			if err := s.trimForClose(); err != nil {
				return err
			}
		}
		if s != act && s.next.Load() <= rp && s.base < rp {
			continue // durable already
		}
		if err := l.opts.IO.Datasync(s.log); err != nil {
			return fmt.Errorf("close: fdatasync %s: %w", s.log.Name(), err)
		}
		if err := s.idx.trim(true); err != nil {
			return fmt.Errorf("close: %w", err)
		}
		if err := s.tidx.trim(true); err != nil {
			return fmt.Errorf("close: %w", err)
		}
	}
	if err := syncPath(l.dir); err != nil {
		return err
	}
	l.flushes.set(l.leo.Load())
	return nil
}

func (l *Log) releaseAll() {
	if p := l.segs.Load(); p != nil {
		for _, s := range *p {
			s.Release()
		}
	}
}
