package logstore

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// File name suffixes; names are the base offset in 20 digits.
const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	deletedSuffix   = ".deleted"
)

func segmentName(base int64, suffix string) string { return fmt.Sprintf("%020d%s", base, suffix) }

// Segment is one .log file with its .index and .timeindex: the batches from
// its base offset up to the next segment's. A reader gets a Segment inside a
// Slice holding a reference: the file stays open (and, if deleted meanwhile,
// on disk under its .deleted name) until the reader's Release.
type Segment struct {
	base   int64
	dir    string
	log    *os.File
	idx    *offsetIndex
	tidx   *timeIndex
	logger *slog.Logger

	size  atomic.Int64 // logical end of .log: whole, valid batches below
	next  atomic.Int64 // offset after the last batch; base when empty
	maxTs atomic.Int64 // largest batch max timestamp; -1 when none

	// Owner-only state of the segment being appended to.
	offMaxTs   int64     // last offset of the batch that set maxTs
	sinceIndex int64     // log bytes since the last index entry
	firstTs    int64     // first batch's max timestamp, -1 none (segment.ms)
	created    time.Time // when the segment was made (segment.ms without timestamps)
	reserved   int64     // .log bytes backed by disk blocks (the file's length)
	// idxReserved: log bytes whose index entries have blocks reserved
	// past the index files' ends.
	idxReserved int64

	idxMissing  bool         // an index file was not there at open: rebuild
	refs        atomic.Int64 // the log's own reference plus one per reader
	deleted     atomic.Bool
	deleteDelay time.Duration

	fileMu      sync.Mutex  // file length changes: a deferred trim vs reactivation
	active      bool        // guarded by fileMu
	trimPending atomic.Bool // set and cleared under fileMu

	closeMu sync.Mutex
	onClose []func() // run when the files close; nil after
	closed  bool
}

// OnClose registers fn to run when the segment's files are closed (the
// segment was deleted or truncated away and its last reader let go, or
// the log closed). The engine drops what it keeps per segment (a mapping
// for zero-copy sends) there. fn runs at once if the files are closed.
func (s *Segment) OnClose(fn func()) {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		fn()
		return
	}
	s.onClose = append(s.onClose, fn)
	s.closeMu.Unlock()
}

// BaseOffset is the offset the segment starts at (its file name).
func (s *Segment) BaseOffset() int64 { return s.base }

// File is the .log file, valid while a reference is held. Read it with
// ReadAt, sendfile or a read-only mapping of the range a Slice gives; never
// close it, never map past the range.
func (s *Segment) File() *os.File { return s.log }

// Acquire takes another reference on a segment the caller already holds one
// on (a Slice's), e.g. one per in-flight send.
func (s *Segment) Acquire() {
	if s.refs.Add(1) <= 1 {
		panic(fmt.Sprintf("logstore: Acquire on released segment %d", s.base))
	}
}

// tryAcquire takes a reference unless the last one is already gone.
func (s *Segment) tryAcquire() bool {
	for {
		n := s.refs.Load()
		if n <= 0 {
			return false
		}
		if s.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release drops a reference. The last one closes the files and, for a
// deleted segment, unlinks them (after file.delete.delay.ms).
func (s *Segment) Release() {
	switch n := s.refs.Add(-1); {
	case n < 0:
		panic(fmt.Sprintf("logstore: segment %d released too often (refs %d)", s.base, n))
	case n == 0:
		s.closeFiles()
		if s.deleted.Load() {
			s.unlinkLater()
		}
	case n == 1 && s.trimPending.Load():
		s.deferredTrim()
	}
}

func (s *Segment) closeFiles() {
	s.closeMu.Lock()
	fns := s.onClose
	s.onClose, s.closed = nil, true
	s.closeMu.Unlock()
	for _, fn := range fns {
		fn()
	}
	if err := s.log.Close(); err != nil {
		s.logger.Warn("logstore: close segment file", "file", s.log.Name(), "err", err)
	}
}

func (s *Segment) paths(suffix string) []string {
	return []string{
		filepath.Join(s.dir, segmentName(s.base, logSuffix+suffix)),
		filepath.Join(s.dir, segmentName(s.base, indexSuffix+suffix)),
		filepath.Join(s.dir, segmentName(s.base, timeIndexSuffix+suffix)),
	}
}

// markDeleted renames the files to .deleted (so a restart never loads them)
// and drops the log's reference; the last reader's Release unlinks them.
func (s *Segment) markDeleted() error {
	from, to := s.paths(""), s.paths(deletedSuffix)
	var first error
	for i := range from {
		if err := os.Rename(from[i], to[i]); err != nil && !os.IsNotExist(err) && first == nil {
			first = fmt.Errorf("rename segment file for deletion: %w", err)
		}
	}
	s.deleted.Store(true)
	s.Release()
	return first
}

func (s *Segment) unlinkLater() {
	unlink := func() {
		for _, p := range s.paths(deletedSuffix) {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				s.logger.Warn("logstore: unlink deleted segment", "file", p, "err", err)
			}
		}
	}
	if s.deleteDelay <= 0 {
		unlink()
		return
	}
	time.AfterFunc(s.deleteDelay, unlink)
}

// openSegmentFiles opens (creating when told) a segment: its .log stays
// open; the .index and .timeindex are made empty when creating and are
// otherwise opened only to be read or written (see writeIndexFile).
func openSegmentFiles(dir string, base int64, create bool, cfg *Config, logger *slog.Logger) (*Segment, error) {
	path := func(suffix string) string { return filepath.Join(dir, segmentName(base, suffix)) }
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE | os.O_TRUNC
	}
	lf, err := os.OpenFile(path(logSuffix), flags, 0o644)
	if err != nil {
		if create {
			removeSegmentFiles(dir, base, "")
		}
		return nil, fmt.Errorf("open segment: %w", err)
	}
	missing := false
	for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
		if create {
			if err := writeIndexFile(path(suffix), nil, 0, false); err != nil {
				lf.Close()
				// A half-made segment must not be found at the next open.
				removeSegmentFiles(dir, base, "")
				return nil, fmt.Errorf("open segment: %w", err)
			}
		} else if _, err := os.Stat(path(suffix)); os.IsNotExist(err) {
			missing = true
		}
	}
	s := &Segment{
		base: base, dir: dir, log: lf, logger: logger,
		idx:         newOffsetIndex(path(indexSuffix), base, cfg.SegmentIndexBytes),
		tidx:        newTimeIndex(path(timeIndexSuffix), base, cfg.SegmentIndexBytes),
		firstTs:     -1,
		offMaxTs:    base,
		created:     time.Now(),
		deleteDelay: time.Duration(cfg.FileDeleteDelayMs) * time.Millisecond,
		idxMissing:  missing,
	}
	s.refs.Store(1)
	s.next.Store(base)
	s.maxTs.Store(-1)
	return s, nil
}

// createSegment makes a new, empty segment at base. Its disk is reserved by
// the appends that fill it (Log.reserveFor), not here: an idle partition
// holds no blocks.
func createSegment(dir string, base int64, cfg *Config, now time.Time, logger *slog.Logger) (*Segment, error) {
	s, err := openSegmentFiles(dir, base, true, cfg, logger)
	if err != nil {
		return nil, err
	}
	s.created = now
	if err := s.activate(); err != nil {
		s.Release()
		return nil, err
	}
	return s, nil
}

// activate makes s the segment appends go to (a trimmed segment that
// truncation made the last one grows back from its length).
func (s *Segment) activate() error {
	s.fileMu.Lock()
	s.active = true
	s.trimPending.Store(false)
	s.fileMu.Unlock()
	fi, err := s.log.Stat()
	if err != nil {
		return fmt.Errorf("activate segment: %w", err)
	}
	s.reserved = fi.Size()
	s.idxReserved = 0
	return nil
}

// seal ends appends to s when the log rolls: the final time index entry (the
// segment's max timestamp, which retention reads back), indexes written and
// trimmed, and the .log trimmed to its logical size, now unless a reader
// holds it (a range handed out before a truncation may reach past the new
// end; a mapping of it must not fault), else at the last reader's Release.
func (s *Segment) seal() error {
	if ts := s.maxTs.Load(); ts >= 0 {
		s.tidx.maybeAppend(ts, s.offMaxTs)
	}
	if err := s.idx.trim(false); err != nil {
		return err
	}
	if err := s.tidx.trim(false); err != nil {
		return err
	}
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	s.active = false
	if s.refs.Load() > 1 {
		s.trimPending.Store(true)
		return nil
	}
	return s.trimLog()
}

func (s *Segment) trimLog() error {
	if err := s.log.Truncate(s.size.Load()); err != nil {
		return fmt.Errorf("trim segment %s: %w", s.log.Name(), err)
	}
	return nil
}

func (s *Segment) deferredTrim() {
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	if !s.trimPending.Load() || s.active || s.deleted.Load() {
		return
	}
	if err := s.trimLog(); err != nil {
		s.logger.Warn("logstore: deferred trim", "err", err)
		return
	}
	s.trimPending.Store(false)
}

// trimForClose trims every file of an active segment to its logical size.
func (s *Segment) trimForClose() error {
	if err := s.idx.trim(false); err != nil {
		return err
	}
	if err := s.tidx.trim(false); err != nil {
		return err
	}
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	s.trimPending.Store(false)
	return s.trimLog()
}

// indexBatch accounts one batch just written at pos (or found by recovery):
// the max timestamp, and an index entry when index.interval.bytes of log have
// passed since the last one (Kafka's rule: checked before adding the batch).
func (s *Segment) indexBatch(pos, size, last, maxTs, interval int64) {
	if pos == 0 {
		s.firstTs = maxTs
	}
	if maxTs > s.maxTs.Load() {
		s.maxTs.Store(maxTs)
		s.offMaxTs = last
	}
	if s.sinceIndex > interval {
		s.idx.append(last, pos)
		s.tidx.maybeAppend(s.maxTs.Load(), s.offMaxTs)
		s.sinceIndex = 0
	}
	s.sinceIndex += size
}

// rollAge is how long the segment has been filling, for segment.ms: by the
// incoming batch's timestamp against the first batch's, or by the clock when
// batches carry no timestamps (Kafka's timeWaitedForRoll).
func (s *Segment) rollAge(now time.Time, incomingTs int64) int64 {
	if s.firstTs >= 0 && incomingTs >= 0 {
		return incomingTs - s.firstTs
	}
	return now.Sub(s.created).Milliseconds()
}

// header is what a scan needs from a batch header.
type header struct {
	base, last int64
	size       int64
	maxTs      int64
	attr       int16
}

// find returns the position and header of the first batch whose last offset
// is at least offset; found is false when every batch below size is before it.
func (s *Segment) find(sc *scanner, offset int64) (pos int64, h header, found bool, err error) {
	pos = s.idx.lookup(offset)
	for pos < sc.size {
		if h, err = sc.at(pos); err != nil {
			return 0, h, false, err
		}
		if h.last >= offset {
			return pos, h, true, nil
		}
		pos += h.size
	}
	return 0, header{}, false, nil
}

// readRange is the byte range of whole batches for a fetch at offset: from
// the batch holding offset, at least that batch, then as many more as fit in
// maxBytes, none whose last offset reaches upTo. found is false when the
// segment has no batch at or after offset. An empty range (start == end)
// means the first batch reaches upTo.
func (s *Segment) readRange(offset, maxBytes, upTo int64) (start, end int64, first header, found bool, err error) {
	sc := newScanner(s, s.size.Load())
	defer sc.release()
	start, first, found, err = s.find(sc, offset)
	if err != nil || !found {
		return 0, 0, first, found, err
	}
	if first.last >= upTo {
		return start, start, first, true, nil
	}
	end = start + first.size
	limit := sc.size
	if maxBytes < sc.size-start {
		limit = start + maxBytes
	}
	if b := s.idx.boundary(limit, upTo); b > end {
		end = b // whole batches below limit and upTo: skip their headers
	}
	for end < sc.size {
		h, err := sc.at(end)
		if err != nil {
			return 0, 0, first, false, err
		}
		if h.last >= upTo || end+h.size > limit {
			break
		}
		end += h.size
	}
	return start, end, first, true, nil
}

// truncateTo drops the batches whose last offset is at least offset, zeroing
// their bytes in place (a reader's mapping keeps its length), and makes the
// segment's next offset offset (Kafka's LEO after truncateTo).
func (s *Segment) truncateTo(offset int64) error {
	oldSize := s.size.Load()
	sc := newScanner(s, oldSize)
	defer sc.release()
	cut, _, found, err := s.find(sc, offset)
	if err != nil {
		return err
	}
	if !found {
		cut = oldSize
	}
	s.size.Store(cut)
	s.next.Store(max(offset, s.base))
	s.idx.truncateToPos(cut)
	s.tidx.truncateToOffset(offset)

	// The max timestamp: the time index's last entry covers up to the last
	// offset index entry's batch; scan the headers after it.
	ts, off, _ := s.tidx.last()
	s.maxTs.Store(ts)
	s.offMaxTs = off
	pos := int64(0)
	if _, p, ok := s.idx.last(); ok {
		pos = p
	}
	s.sinceIndex = cut - pos
	for p := pos; p < cut; {
		h, err := sc.at(p)
		if err != nil {
			return err
		}
		if h.maxTs > s.maxTs.Load() {
			s.maxTs.Store(h.maxTs)
			s.offMaxTs = h.last
		}
		p += h.size
	}
	if cut == 0 {
		s.firstTs, s.sinceIndex = -1, 0
	}
	return zeroRange(s.log, cut, oldSize)
}

// largestTimestamp is what retention.ms compares: the max timestamp, or the
// file's modification time when batches carry none (Kafka's rule).
func (s *Segment) largestTimestamp() int64 {
	if ts := s.maxTs.Load(); ts > 0 {
		return ts
	}
	fi, err := s.log.Stat()
	if err != nil {
		return math.MaxInt64 // keep what we cannot date
	}
	return fi.ModTime().UnixMilli()
}
