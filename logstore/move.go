package logstore

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// A log moves to another log dir of the broker (AlterReplicaLogDirs) as
// Kafka's future replica does:
//
//  1. Dir.StartMove makes the future log, `<topic>-<partition>.<id>-future`
//     in the destination, empty, with the log's topic id. The log dir lists
//     it (Futures) and checkpoints its offsets with its own logs.
//  2. CatchUp, on any goroutine but the owner's, copies whole batches below
//     the log's high watermark (bytes that never change) from the log into
//     the future log, through Read and the follower append, which rebuilds
//     the indexes and the leader epochs; the partition keeps taking appends
//     and serving reads meanwhile. When retention or DeleteRecords moves
//     the log start past the copy, the future log starts over there.
//  3. Switch, on the owner (appends pause while it runs): copies the rest,
//     gives the future log the log's start offset, high watermark, leader
//     epochs and topic id, syncs it, then renames the log's directory
//     `<topic>-<partition>.<id>-delete` (the source log dir synced) and the
//     future's `<topic>-<partition>` (the destination synced). The Log
//     value stays the same and takes the future's segments, so whoever
//     holds it (the partition, waits, the cleaner) goes on with it; reads
//     holding the old segments keep reading their files, which are
//     unlinked with the `-delete` directory after file.delete.delay.ms.
//
// A crash leaves either the log and a future (before the first rename):
// FinishMoves deletes the future and the partition keeps its log (the
// move is lost; ask again); or a future and no log anywhere (between the
// renames): the future was complete and synced, so FinishMoves renames it
// into place and opens it. A log's delete or setting aside deletes its
// future first, so a future alone always is a finished move.
//
// Locks: a move's mu, then the log's compact.run (tried, never waited
// for), then the log's mu, then the future's mu, then the two log dirs' mu
// in path order (FindLog takes them all in that order). Nothing takes a
// move's mu under a log's mu.

// ErrMoveBusy: the switch could not start now (a compaction pass or
// another step of the move holds the log); try again later.
var ErrMoveBusy = errors.New("logstore: log busy, switch later")

// ErrMoveEnded: the move was aborted (the log deleted, closed, or the
// move given up) or has switched.
var ErrMoveEnded = errors.New("logstore: move ended")

// copyChunkBytes bounds one read of a copy.
const copyChunkBytes = 1 << 20

// Move is one log's move to another log dir. CatchUp, Flush, Switch and
// Abort run one at a time.
type Move struct {
	src, dst *Dir
	tp       TopicPartition
	l        *Log // the log, in src until the switch
	f        *Log // its future, in dst

	mu    sync.Mutex
	ended bool
	buf   []byte
}

// StartMove begins moving tp's log from d to the log dir to (see Move).
// A log moves to one log dir at a time: Abort a move to change it.
func (d *Dir) StartMove(tp TopicPartition, to *Dir) (*Move, error) {
	if to == d {
		return nil, fmt.Errorf("move log %s: already in %s", tp, d.path)
	}
	l := d.Log(tp)
	if l == nil {
		return nil, fmt.Errorf("move log %s: no such log in %s", tp, d.path)
	}
	to.mu.Lock()
	_, busy := to.futures[tp]
	switch {
	case to.closed:
		to.mu.Unlock()
		return nil, ErrClosed
	case busy || to.logs[tp] != nil || to.creating[tp]:
		to.mu.Unlock()
		return nil, fmt.Errorf("move log %s: %s already holds it", tp, to.path)
	}
	to.futures[tp] = nil // being made
	to.mu.Unlock()
	m, err := d.startMove(tp, l, to)
	if err != nil {
		to.mu.Lock()
		delete(to.futures, tp)
		to.mu.Unlock()
		return nil, fmt.Errorf("move log %s to %s: %w", tp, to.path, err)
	}
	return m, nil
}

func (d *Dir) startMove(tp TopicPartition, l *Log, to *Dir) (*Move, error) {
	cfg := l.Config()
	// The future log syncs inline, on the copying goroutine, and only when
	// told: before the switch, whatever the topic's flush settings.
	cfg.FlushMessages, cfg.FlushMs = math.MaxInt64, math.MaxInt64
	opts := to.opts
	opts.Syncer = SyncNow{IO: opts.IO}
	path := filepath.Join(to.path, asideName(tp, futureDirSuffix))
	f, err := Open(path, tp.Topic, tp.Partition, cfg, opts, OpenState{Clean: true, LogStartOffset: -1})
	if err != nil {
		return nil, err
	}
	drop := func(err error) (*Move, error) {
		f.closeForDelete()
		os.RemoveAll(path)
		return nil, err
	}
	if err := syncPath(to.path); err != nil {
		return drop(err)
	}
	if id, ok := l.TopicID(); ok {
		if err := f.SetTopicID(id); err != nil {
			return drop(err)
		}
	}
	m := &Move{src: d, dst: to, tp: tp, l: l, f: f}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return drop(ErrClosed)
	case l.move != nil:
		return drop(fmt.Errorf("already moving to %s", l.move.dst.path))
	}
	to.mu.Lock()
	defer to.mu.Unlock()
	if to.closed {
		return drop(ErrClosed)
	}
	to.futures[tp] = f
	l.move = m
	return m, nil
}

// Log is the log being moved.
func (m *Move) Log() *Log { return m.l }

// From and To are the log dirs the log moves between.
func (m *Move) From() *Dir { return m.src }
func (m *Move) To() *Dir   { return m.dst }

// CatchUp copies about maxBytes of the log below its high watermark into
// the future log. It answers whether the copy reached the high watermark
// (time to switch), and how many offsets the future log is behind the
// log's end. Any goroutine but the owner's.
func (m *Move) CatchUp(maxBytes int64) (reached bool, behind int64, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended {
		return false, 0, ErrMoveEnded
	}
	l, f := m.l, m.f
	l.mu.Lock()
	err = l.usable()
	l.mu.Unlock()
	if err != nil {
		return false, 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	reached, err = m.copyLocked(l.hw.Load(), maxBytes)
	if err != nil {
		return false, 0, err
	}
	f.hw.Store(min(l.hw.Load(), f.leo.Load()))
	return reached, l.leo.Load() - f.leo.Load(), nil
}

// Flush makes what the future log holds durable, so that the switch syncs
// only the little it copies itself.
func (m *Move) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended {
		return ErrMoveEnded
	}
	return m.f.Flush()
}

// copyLocked copies the log's batches from the future's end up to (not
// reaching) upTo, at most about budget bytes, into the future log, whose
// mu the caller holds. It answers whether it reached upTo (the batch
// holding upTo, if any, is left for later).
func (m *Move) copyLocked(upTo, budget int64) (reached bool, err error) {
	l, f := m.l, m.f
	var copied int64
	for copied < budget {
		from := f.leo.Load()
		if from >= upTo {
			return true, nil
		}
		if start := l.logStart.Load(); from < start {
			// Retention or DeleteRecords passed the copy.
			if err := f.restartAtLocked(start); err != nil {
				return false, err
			}
			continue
		}
		s, err := l.Read(from, min(copyChunkBytes, f.cfg.SegmentBytes), upTo)
		switch {
		case errors.Is(err, ErrOffsetOutOfRange) && l.logStart.Load() > from:
			continue
		case err != nil:
			return false, fmt.Errorf("copy %s from offset %d: %w", m.tp, from, err)
		case s.Len == 0:
			return true, nil // the batch holding from reaches upTo
		}
		if int64(cap(m.buf)) < s.Len {
			m.buf = make([]byte, s.Len)
		}
		buf := m.buf[:s.Len]
		_, err = s.Seg.File().ReadAt(buf, s.Pos)
		first := s.FirstOffset
		s.Release()
		if err != nil {
			return false, fmt.Errorf("%w: copy %s from offset %d: %w", ErrStorage, m.tp, from, err)
		}
		if first < from {
			// The log starts inside this batch: so does the future.
			if f.Size() > 0 {
				return false, fmt.Errorf("copy %s: batch at %d straddles the future's end %d", m.tp, first, from)
			}
			if err := f.restartAtLocked(first); err != nil {
				return false, err
			}
		}
		if err := f.appendCopyLocked(buf); err != nil {
			return false, fmt.Errorf("copy %s from offset %d: %w", m.tp, from, err)
		}
		copied += s.Len
	}
	return f.leo.Load() >= upTo, nil
}

// restartAtLocked empties the future log and starts it at offset.
func (f *Log) restartAtLocked(offset int64) error {
	if err := f.usable(); err != nil {
		return err
	}
	f.modified = true
	return f.truncateFullyLocked(offset)
}

// appendCopyLocked appends batches read from the moved log. A single
// batch over segment.bytes (the topic's was lowered since it was written)
// gets a segment of its own size.
func (f *Log) appendCopyLocked(p []byte) error {
	if n := int64(len(p)); n > f.cfg.SegmentBytes {
		saved := f.cfg.SegmentBytes
		f.cfg.SegmentBytes = n
		defer func() { f.cfg.SegmentBytes = saved }()
	}
	_, err := f.appendAsFollowerLocked(p)
	return err
}

// Switch finishes the move, on the log's owner (see Move); between, if
// set, runs between the two renames (crash tests stop there). It answers
// ErrMoveBusy when it cannot start now, ErrMoveEnded after the move
// ended; on another error before the log's directory was renamed, the
// log stays where it was and the move may be tried again or aborted.
func (m *Move) Switch(between func()) error {
	if !m.mu.TryLock() {
		return ErrMoveBusy
	}
	defer m.mu.Unlock()
	if m.ended {
		return ErrMoveEnded
	}
	l := m.l
	if !l.compact.run.TryLock() {
		return ErrMoveBusy
	}
	defer l.compact.run.Unlock()
	l.mu.Lock()
	old, err := m.switchLocked(between)
	l.mu.Unlock()
	if err != nil {
		return err
	}
	for _, s := range old {
		s.Release() // closed at their last reader's Release
	}
	l.fireDurable(false) // the future was synced to the end
	return nil
}

// switchLocked is Switch under the log's mu; it answers the old segments,
// for the caller to release.
func (m *Move) switchLocked(between func()) ([]*Segment, error) {
	l, f := m.l, m.f
	if err := l.usable(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return nil, err
	}
	if _, err := m.copyLocked(l.leo.Load(), math.MaxInt64); err != nil {
		return nil, err
	}
	if f.leo.Load() != l.leo.Load() {
		return nil, fmt.Errorf("switch %s: the future log ends at %d, the log at %d", m.tp, f.leo.Load(), l.leo.Load())
	}
	snap, err := m.prepareLocked()
	if err != nil {
		return nil, fmt.Errorf("switch %s: %w", m.tp, err)
	}
	if !m.swapMaps(true) {
		return nil, ErrMoveEnded
	}
	gone := filepath.Join(m.src.path, asideName(m.tp, deleteDirSuffix))
	if err := os.Rename(l.dir, gone); err != nil {
		m.swapMaps(false)
		return nil, fmt.Errorf("switch %s: %w", m.tp, err)
	}
	m.ended = true
	l.move = nil
	if err := syncPath(m.src.path); err != nil {
		l.logger.Warn("logstore: cannot sync a log dir after renaming a moved log -delete", "dir", m.src.path, "err", err)
	}
	if between != nil {
		between()
	}
	final := filepath.Join(m.dst.path, m.tp.String())
	if err := os.Rename(f.dir, final); err != nil {
		// Neither name is in place: the next open finishes the move
		// (FinishMoves); until then the log serves what it has.
		l.fail(fmt.Errorf("switch to %s: %w", final, err))
		return nil, l.Err()
	}
	if err := syncPath(m.dst.path); err != nil {
		l.fail(fmt.Errorf("switch to %s: %w", final, err))
	}
	old := l.adoptLocked(f, final, snap)
	m.src.removals.add(gone, time.Duration(l.cfg.FileDeleteDelayMs)*time.Millisecond)
	l.logger.Info("logstore: log moved", "from", m.src.path, "to", m.dst.path, "log_end_offset", l.leo.Load())
	return old, nil
}

// prepareLocked makes the future log the log's equal before the renames:
// its start offset, high watermark, leader epochs, topic id and newest
// producer snapshot, all synced. It answers that snapshot's offset, -1
// for none.
func (m *Move) prepareLocked() (snap int64, err error) {
	l, f := m.l, m.f
	f.hw.Store(l.hw.Load())
	if start := l.logStart.Load(); start > f.logStart.Load() {
		f.logStart.Store(start)
		f.deleteOldSegments("log start offset", func(_ *Segment, next int64) bool { return next <= start })
	}
	if err := f.epochs.replace(l.epochs.entries()); err != nil {
		return -1, err
	}
	if id, ok := l.TopicID(); ok {
		if _, has := f.TopicID(); !has {
			if err := WritePartitionMetadata(f.dir, id); err != nil {
				return -1, err
			}
			f.topicID.Store(&id)
		}
	}
	// The copy's batches are the log's, so is their producer state: the
	// moved log's next open scans from the snapshot, not the log start.
	snap, err = l.snaps.copyLatestTo(f.dir, l.logStart.Load(), l.leo.Load())
	if err != nil {
		l.logger.Warn("logstore: moved log goes without its producer snapshot", "err", err)
	}
	f.flushLocked(f.opts.Now()) // SyncNow: durable on return
	if err := syncPath(f.dir); err != nil {
		return -1, err
	}
	return snap, f.Err()
}

// swapMaps moves the log from the source's logs to the destination's in
// place of the future (or back, when in is false). Going in, it answers
// false when the log was taken from the source meanwhile (a delete) or
// either log dir closed: the switch must not happen.
func (m *Move) swapMaps(in bool) bool {
	a, b := m.src, m.dst
	if b.path < a.path {
		a, b = b, a
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if !in {
		delete(m.dst.logs, m.tp)
		m.src.logs[m.tp], m.dst.futures[m.tp] = m.l, m.f
		return true
	}
	if m.src.closed || m.dst.closed || m.src.logs[m.tp] != m.l || m.dst.futures[m.tp] != m.f {
		return false
	}
	delete(m.src.logs, m.tp)
	delete(m.dst.futures, m.tp)
	m.dst.logs[m.tp] = m.l
	return true
}

// adoptLocked gives l the storage of its future f, whose directory is now
// dir: its segments, directory and file system. l keeps its offsets, its
// waits and its leader epoch cache (whose file f already holds), and its
// producer snapshot at snap (-1: none), which f holds too. It answers l's
// old segments, for the caller to release. Both mu are held.
func (l *Log) adoptLocked(f *Log, dir string, snap int64) []*Segment {
	old := l.segments()
	segs := f.segments()
	for _, s := range segs {
		s.relocate(dir)
	}
	l.dir = dir
	l.dirName.Store(&dir)
	l.epochs.moveTo(filepath.Join(dir, leaderEpochFile))
	l.snaps.relocate(dir, snap)
	l.noFallocate = f.noFallocate
	l.unflushed, l.lastFlush, l.modified = 0, l.opts.Now(), true
	l.compact.cleanedTo = 0 // the copies are not known to be clean
	// Every byte is durable in the new files; syncs of the old ones still
	// in flight no longer move the recovery point.
	leo := l.leo.Load()
	l.flushes.reset(leo)
	l.flushes.set(leo)
	l.publish(segs)
	f.closed = true // its segments are l's now: f never releases them
	return old
}

// relocate points s at its files' new directory (a renamed future log's).
func (s *Segment) relocate(dir string) {
	s.dir = dir
	s.idx.path = filepath.Join(dir, segmentName(s.base, indexSuffix))
	s.tidx.path = filepath.Join(dir, segmentName(s.base, timeIndexSuffix))
}

// Abort gives the move up: the future log is closed, renamed `-delete`
// and removed. The log stays where it is. After a switch it does nothing.
func (m *Move) Abort() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended {
		return
	}
	m.ended = true
	m.l.mu.Lock()
	if m.l.move == m {
		m.l.move = nil
	}
	m.l.mu.Unlock()
	d := m.dst
	d.mu.Lock()
	if d.futures[m.tp] == m.f {
		delete(d.futures, m.tp)
	}
	d.mu.Unlock()
	m.f.closeForDelete()
	gone := filepath.Join(d.path, asideName(m.tp, deleteDirSuffix))
	if err := d.moveAside(m.f, gone); err != nil {
		// Left as a future, which the next open deletes.
		d.opts.Logger.Warn("logstore: cannot set an aborted move's future log aside", "dir", m.f.dir, "err", err)
		return
	}
	d.removals.add(gone, 0)
}

// abortMove aborts l's move, if any (l is being deleted or set aside).
func (l *Log) abortMove() {
	l.mu.Lock()
	m := l.move
	l.move = nil
	l.mu.Unlock()
	if m != nil {
		m.Abort()
	}
}

// FindLog finds tp's log in dirs (one broker's log dirs): the log dir
// holding it and the log, or nils. Unlike asking each log dir in turn, it
// never misses a log whose move switches meanwhile: it holds every log
// dir's mu, taken in path order as a switch takes two of them.
func FindLog(dirs []*Dir, tp TopicPartition) (*Dir, *Log) {
	sorted := slices.SortedFunc(slices.Values(dirs), func(a, b *Dir) int { return strings.Compare(a.path, b.path) })
	for _, d := range sorted {
		d.mu.Lock()
		defer d.mu.Unlock()
	}
	for _, d := range dirs {
		if l := d.logs[tp]; l != nil {
			return d, l
		}
	}
	return nil, nil
}

// Futures are the future logs of moves into this log dir, sorted by topic
// and partition.
func (d *Dir) Futures() []*Log {
	d.mu.Lock()
	defer d.mu.Unlock()
	return sortedLogs(d.futures)
}
