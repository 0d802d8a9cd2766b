package logstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// Producer-state snapshots are Kafka's `<offset>.snapshot` files
// (ProducerStateManager, file version 1): the idempotent producers' state
// of every batch below offset, so that opening a partition reads only the
// batch headers after the newest one. The engine owns that state; the log
// stores the files, keeps them consistent with truncation and retention,
// and finds the newest usable one.

const (
	snapshotSuffix = ".snapshot"
	// snapshotVersion is Kafka's PRODUCER_SNAPSHOT_VERSION.
	snapshotVersion = 1
	// snapshotCRCEnd: the CRC covers the bytes after version and crc.
	snapshotCRCEnd     = 2 + 4
	snapshotHeaderSize = snapshotCRCEnd + 4 // and the entry count
	snapshotEntrySize  = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8
	// maxProducerSnapshots is how many snapshots a log keeps: the newest
	// serves an open; older ones serve a follower's truncation below it.
	// Kafka keeps one per segment, which a short tail scan does not need.
	maxProducerSnapshots = 3
)

var errCorruptSnapshot = errors.New("corrupt producer snapshot")

// snapshotIO bounds the snapshot files written or removed at once by all
// logs: a clean stop asks every partition for one, and a goroutine in
// fsync holds an OS thread (the runtime stops at 10,000). Fsyncs issued
// together are committed together anyway.
var snapshotIO = make(chan struct{}, atOnce)

// ProducerSnapshotEntry is one producer's entry in a snapshot, Kafka's
// layout: its newest batch (sequences and offsets), epoch and timestamp.
type ProducerSnapshotEntry struct {
	ProducerID   int64
	Epoch        int16
	LastSequence int32
	LastOffset   int64 // -1: no batch (Kafka: only a transaction marker)
	// OffsetDelta is LastOffset minus the batch's first offset (and its
	// last sequence minus its first).
	OffsetDelta int32
	Timestamp   int64 // max timestamp of the newest batch, for expiry
	// CoordinatorEpoch and CurrentTxnFirstOffset are for transactions;
	// -1 without them.
	CoordinatorEpoch      int32
	CurrentTxnFirstOffset int64
}

// EncodeProducerSnapshot is the contents of a snapshot file: version
// int16, crc uint32 (CRC-32C of everything after it), then the entries
// as an int32 count and fixed-size big-endian structs.
func EncodeProducerSnapshot(entries []ProducerSnapshotEntry) []byte {
	b := make([]byte, snapshotHeaderSize, snapshotHeaderSize+len(entries)*snapshotEntrySize)
	binary.BigEndian.PutUint16(b, snapshotVersion)
	binary.BigEndian.PutUint32(b[snapshotCRCEnd:], uint32(len(entries)))
	for _, e := range entries {
		b = binary.BigEndian.AppendUint64(b, uint64(e.ProducerID))
		b = binary.BigEndian.AppendUint16(b, uint16(e.Epoch))
		b = binary.BigEndian.AppendUint32(b, uint32(e.LastSequence))
		b = binary.BigEndian.AppendUint64(b, uint64(e.LastOffset))
		b = binary.BigEndian.AppendUint32(b, uint32(e.OffsetDelta))
		b = binary.BigEndian.AppendUint64(b, uint64(e.Timestamp))
		b = binary.BigEndian.AppendUint32(b, uint32(e.CoordinatorEpoch))
		b = binary.BigEndian.AppendUint64(b, uint64(e.CurrentTxnFirstOffset))
	}
	binary.BigEndian.PutUint32(b[2:], crc32.Checksum(b[snapshotCRCEnd:], castagnoli))
	return b
}

// DecodeProducerSnapshot reads what EncodeProducerSnapshot (or Kafka)
// wrote. A short, torn or altered file fails (errCorruptSnapshot).
func DecodeProducerSnapshot(b []byte) ([]ProducerSnapshotEntry, error) {
	if len(b) < snapshotHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes", errCorruptSnapshot, len(b))
	}
	if v := int16(binary.BigEndian.Uint16(b)); v != snapshotVersion {
		return nil, fmt.Errorf("%w: version %d", errCorruptSnapshot, v)
	}
	if want, got := binary.BigEndian.Uint32(b[2:]), crc32.Checksum(b[snapshotCRCEnd:], castagnoli); want != got {
		return nil, fmt.Errorf("%w: crc %08x, computed %08x", errCorruptSnapshot, want, got)
	}
	n := int64(int32(binary.BigEndian.Uint32(b[snapshotCRCEnd:])))
	if n < 0 || n*snapshotEntrySize != int64(len(b)-snapshotHeaderSize) {
		return nil, fmt.Errorf("%w: %d entries in %d bytes", errCorruptSnapshot, n, len(b))
	}
	out := make([]ProducerSnapshotEntry, n)
	p := b[snapshotHeaderSize:]
	for i := range out {
		out[i] = ProducerSnapshotEntry{
			ProducerID:            int64(binary.BigEndian.Uint64(p)),
			Epoch:                 int16(binary.BigEndian.Uint16(p[8:])),
			LastSequence:          int32(binary.BigEndian.Uint32(p[10:])),
			LastOffset:            int64(binary.BigEndian.Uint64(p[14:])),
			OffsetDelta:           int32(binary.BigEndian.Uint32(p[22:])),
			Timestamp:             int64(binary.BigEndian.Uint64(p[26:])),
			CoordinatorEpoch:      int32(binary.BigEndian.Uint32(p[34:])),
			CurrentTxnFirstOffset: int64(binary.BigEndian.Uint64(p[38:])),
		}
		p = p[snapshotEntrySize:]
	}
	return out, nil
}

// SaveProducerSnapshot has the producer state of every batch below offset
// written as a snapshot, later, off the caller's goroutine: the owner
// calls it when an append rolled a segment (offset: the new segment's
// base) and before a clean close (the log end). The log owns entries from
// then on. An offset outside [log start, log end], or one already
// snapshotted, is ignored; so is everything once the log is closed, and
// no state at the log start (what a scan of nothing gives: an idle empty
// partition leaves no file).
func (l *Log) SaveProducerSnapshot(offset int64, entries []ProducerSnapshotEntry) {
	start := l.logStart.Load()
	if offset < start || offset > l.leo.Load() || offset == start && len(entries) == 0 || l.Err() != nil {
		return
	}
	l.snaps.save(offset, entries)
}

// LatestProducerSnapshot is the newest readable snapshot with an offset
// in [log start, log end]: its offset and entries (the caller must not
// change them). A snapshot that fails to decode is logged and deleted, and
// the next older one tried. ok is false when none is left: the state must
// be rebuilt from the log start.
func (l *Log) LatestProducerSnapshot() (offset int64, entries []ProducerSnapshotEntry, ok bool) {
	return l.snaps.latest(l.logStart.Load(), l.leo.Load())
}

// producerSnaps is a log's snapshot files. Which exist is decided at once,
// on whatever goroutine changes the log (have); the files are written and
// removed by one goroutine that carries out the queued ops in order, so a
// removal never overtakes the write it undoes and the owner's loop never
// waits for a disk.
type producerSnaps struct {
	logger *slog.Logger

	mu   sync.Mutex
	dir  string
	gen  int     // bumped when dir changes: ops begun in the old one do not count
	have []int64 // snapshot offsets, ascending, as they are once ops are done
	// pending are the writes not yet done, by offset: a snapshot is read
	// from memory until its file is there.
	pending map[int64]*snapOp
	ops     []*snapOp // queued, not begun
	running bool      // a worker is carrying ops out
	closed  bool      // no more ops: the log is closed
	wg      sync.WaitGroup
}

// snapOp writes the snapshot at offset, or removes its file.
type snapOp struct {
	offset  int64
	remove  bool
	entries []ProducerSnapshotEntry
}

func snapshotName(offset int64) string { return segmentName(offset, snapshotSuffix) }

// open readies s for the files found in dir, dropping those past the log
// end (recovery or a truncation cut the batches they cover) and the
// older ones below the log start.
func (s *producerSnaps) open(dir string, logger *slog.Logger, found []int64, start, end int64) {
	s.dir, s.logger, s.pending = dir, logger, map[int64]*snapOp{}
	s.have = slices.Sorted(slices.Values(found))
	s.dropAbove(end)
	s.dropBelow(start)
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.have) > maxProducerSnapshots {
		s.removeLocked(s.have[0])
	}
}

func (s *producerSnaps) save(offset int64, entries []ProducerSnapshotEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	i, found := slices.BinarySearch(s.have, offset)
	if found {
		return // the same batches, so the same state
	}
	s.have = slices.Insert(s.have, i, offset)
	op := &snapOp{offset: offset, entries: entries}
	s.pending[offset] = op
	s.queueLocked(op)
	for len(s.have) > maxProducerSnapshots {
		s.removeLocked(s.have[0])
	}
}

// dropAbove removes the snapshots past offset (truncation: their batches
// are gone); offset -1 removes them all.
func (s *producerSnaps) dropAbove(offset int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.have) > 0 && s.have[len(s.have)-1] > offset {
		s.removeLocked(s.have[len(s.have)-1])
	}
}

// dropBelow removes the snapshots below the log start offset start, but
// for the newest.
func (s *producerSnaps) dropBelow(start int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.have) > 1 && s.have[0] < start {
		s.removeLocked(s.have[0])
	}
}

// removeLocked forgets the snapshot at offset: a write not begun is
// dropped, a file (or a write under way) removed.
func (s *producerSnaps) removeLocked(offset int64) {
	if i, ok := slices.BinarySearch(s.have, offset); ok {
		s.have = slices.Delete(s.have, i, i+1)
	}
	if op := s.pending[offset]; op != nil {
		delete(s.pending, offset)
		if i := slices.Index(s.ops, op); i >= 0 {
			s.ops = slices.Delete(s.ops, i, i+1)
			return
		}
	}
	s.queueLocked(&snapOp{offset: offset, remove: true})
}

func (s *producerSnaps) queueLocked(op *snapOp) {
	if s.closed {
		return
	}
	s.ops = append(s.ops, op)
	if !s.running {
		s.running = true
		s.wg.Add(1)
		go s.run()
	}
}

// run carries out the queued ops, then exits.
func (s *producerSnaps) run() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		if len(s.ops) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		op := s.ops[0]
		s.ops = s.ops[1:]
		dir, gen := s.dir, s.gen
		s.mu.Unlock()

		path := filepath.Join(dir, snapshotName(op.offset))
		var err error
		snapshotIO <- struct{}{}
		if op.remove {
			if err = os.Remove(path); errors.Is(err, os.ErrNotExist) {
				err = nil
			}
		} else {
			err = WriteFileAtomic(path, EncodeProducerSnapshot(op.entries))
		}
		<-snapshotIO

		s.mu.Lock()
		stale := gen != s.gen
		if s.pending[op.offset] == op {
			delete(s.pending, op.offset)
			if err != nil || stale {
				// Not written where the log is: the set must not say so.
				if i, ok := slices.BinarySearch(s.have, op.offset); ok {
					s.have = slices.Delete(s.have, i, i+1)
				}
			}
		}
		s.mu.Unlock()
		if err != nil && !stale {
			s.logger.Warn("logstore: producer snapshot", "file", path, "err", err)
		}
	}
}

// latest implements Log.LatestProducerSnapshot.
func (s *producerSnaps) latest(start, end int64) (int64, []ProducerSnapshotEntry, bool) {
	s.mu.Lock()
	cands := slices.Clone(s.have)
	dir := s.dir
	s.mu.Unlock()
	for i := len(cands) - 1; i >= 0; i-- {
		off := cands[i]
		if off > end {
			continue
		}
		if off < start {
			break
		}
		s.mu.Lock()
		op := s.pending[off]
		s.mu.Unlock()
		if op != nil {
			return off, op.entries, true
		}
		path := filepath.Join(dir, snapshotName(off))
		data, err := os.ReadFile(path)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) { // else removed meanwhile
				s.logger.Warn("logstore: cannot read producer snapshot", "file", path, "err", err)
			}
			continue
		}
		entries, err := DecodeProducerSnapshot(data)
		if err != nil {
			s.logger.Warn("logstore: deleting unreadable producer snapshot", "file", path, "err", err)
			s.mu.Lock()
			if s.dir == dir && s.pending[off] == nil && slices.Contains(s.have, off) {
				s.removeLocked(off)
			}
			s.mu.Unlock()
			continue
		}
		return off, entries, true
	}
	return 0, nil, false
}

// close waits for the queued ops (a clean close keeps its snapshots);
// later saves are ignored.
func (s *producerSnaps) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
}

// abandon drops the queued ops, the log's directory being deleted, and
// waits for the one under way, which must not write into the directory
// while it is removed.
func (s *producerSnaps) abandon() {
	s.mu.Lock()
	s.closed = true
	s.ops, s.pending = nil, map[int64]*snapOp{}
	s.mu.Unlock()
	s.wg.Wait()
}

// copyLatestTo writes the newest snapshot in [start, end] into dir, for
// a moved log's future (move.go); it answers its offset, or -1. It first
// waits for the ops under way, which must not meet the directory's rename
// (the caller holds the log's mu, so no op is queued meanwhile).
func (s *producerSnaps) copyLatestTo(dir string, start, end int64) (int64, error) {
	s.wg.Wait()
	off, entries, ok := s.latest(start, end)
	if !ok {
		return -1, nil
	}
	if err := WriteFileAtomic(filepath.Join(dir, snapshotName(off)), EncodeProducerSnapshot(entries)); err != nil {
		return -1, err
	}
	return off, nil
}

// relocate points s at dir, a moved log's new directory, which holds only
// the snapshot at kept (-1: none). Ops of the old directory are dropped.
func (s *producerSnaps) relocate(dir string, kept int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dir = dir
	s.gen++
	s.ops, s.pending, s.have = nil, map[int64]*snapOp{}, nil
	if kept >= 0 {
		s.have = []int64{kept}
	}
}
