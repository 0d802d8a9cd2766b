package logstore

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Log compaction (cleanup.policy=compact): Kafka's LogCleaner, simplified.
//
// A pass covers the cleanable segments: the leading non-active segments
// that lie wholly below the high watermark. It maps every key to the offset
// of its last record in that range, then rewrites each segment keeping only
// the records that are the last of their key; keyless records go (Kafka's
// cleaner discards them too). Tombstones (null value) stay until a later
// pass finds them in a segment that an earlier pass already cleaned and
// whose largest timestamp is more than delete.retention.ms old. Control
// batches are kept as they are.
//
// Offsets never change: a rewritten batch keeps its base offset, last
// offset delta, timestamps, producer fields and the records' own deltas;
// it is written uncompressed (codec bits cleared) with a new CRC. A batch
// all of whose records survive is copied verbatim, compressed or not; a
// batch left without records is dropped, unless it is the last batch of its
// producer id in the pass: it stays as an empty batch (header only), so
// the producer's sequence state can still be rebuilt from the headers. A segment that loses nothing is
// not rewritten. Each rewritten segment keeps its base offset (one output
// segment per input segment; no merging of small segments yet), even when
// it ends up empty, so a read of a removed offset finds the next batch.
//
// Files: each new segment is written as <base>.log.cleaned (and
// .index.cleaned, .timeindex.cleaned), fsynced; then, in ascending base
// order, renamed to .swap (directory fsynced after each), then renamed over
// the old files. The old Segment objects are marked deleted and released
// after the new list is published: a reader holding one keeps reading the
// old (now unlinked) inode. On open, leftover .cleaned files are removed and
// .swap files are renamed into place (completeSwaps). Ascending order keeps
// a crash safe: a cleaned segment only drops what later records (or, for
// tombstones, earlier cleaned segments) justify, and those are either
// already swapped in or still the originals.
//
// What runs a pass when is the Cleaner's business (cleaner.go): it picks
// the dirtiest log, as Kafka's LogCleanerManager does, and a pass stops
// short of segments min.compaction.lag.ms keeps (firstUncleanable).
//
// Not done yet: merging small cleaned segments, a persisted cleaner
// checkpoint (after a restart the whole log counts as dirty once), aborted
// transaction removal (Weir has no transactions yet), a bounded key map
// (all keys of the cleanable segments are held in memory during a pass). Client appends to a
// compacted log are refused keyless records (checkRecords, validate.go).

const (
	cleanedSuffix = ".cleaned"
	swapSuffix    = ".swap"
)

// compactState is the memory of earlier passes.
type compactState struct {
	run sync.Mutex // one pass at a time; taken before Log.mu, never under it
	// cleanedTo: every offset below it was covered by a completed pass
	// (Kafka's cleaner checkpoint, kept in memory only). Under Log.mu.
	cleanedTo int64
}

// Compact runs one compaction pass over the cleanable segments and answers
// how many records it removed, whatever the cleanup policy; the Cleaner
// calls it for logs whose policy includes compact when the dirty ratio or
// max.compaction.lag.ms calls for it. Segments holding a record younger
// than min.compaction.lag.ms at now, and all after them, are left alone.
//
// It takes the log's mutex twice, briefly: to pick the segments (holding a
// reference on each) and to swap the cleaned ones in. Reading and rewriting
// them runs without it, so appends go on meanwhile: those segments are
// sealed and below the high watermark, so their bytes do not change. If the
// log changed them in between (retention deleted one, a truncation reached
// it, the log closed), the swap leaves those out or gives up.
func (l *Log) Compact(now time.Time) (removed int64, err error) {
	l.compact.run.Lock()
	defer l.compact.run.Unlock()
	l.mu.Lock()
	if err := l.usable(); err != nil {
		l.mu.Unlock()
		return 0, err
	}
	segs := l.segments()
	n := l.cleanableCount(segs, l.firstUncleanable(segs, now))
	var held []*Segment
	for _, s := range segs[:n] {
		if !s.tryAcquire() {
			break
		}
		held = append(held, s)
	}
	p := compactPass{
		segs: held, end: segs[len(held)].base, prevCleaned: l.compact.cleanedTo,
		deleteHorizon: now.UnixMilli() - l.cfg.DeleteRetentionMs,
		indexBytes:    l.cfg.SegmentIndexBytes, interval: l.cfg.IndexIntervalBytes,
	}
	p.next = make([]int64, len(held))
	p.sizes = make([]int64, len(held))
	for i, s := range held {
		p.next[i], p.sizes[i] = segs[i+1].base, s.size.Load()
	}
	l.mu.Unlock()
	defer func() {
		for _, s := range held {
			s.Release()
		}
	}()
	if len(held) == 0 {
		return 0, nil
	}
	outs, removed, err := l.cleanSegments(&p)
	if err != nil {
		return 0, err
	}
	if testHookBeforeSwap != nil {
		testHookBeforeSwap(l)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.swapCleaned(&p, outs, removed)
}

// testHookBeforeSwap, set by tests only, runs between the cleaning and the
// swap of a pass.
var testHookBeforeSwap func(l *Log)

// compactPass is what a pass works on, fixed when it starts.
type compactPass struct {
	segs          []*Segment // held: a reference each
	next          []int64    // each one's next segment's base then
	sizes         []int64    // each one's logical size then
	end           int64      // the pass covers offsets below it
	prevCleaned   int64
	deleteHorizon int64 // tombstones in segments older than this may go
	indexBytes    int64
	interval      int64
	// lastOfProducer: base offset of each producer id's last batch in the
	// pass; that batch stays, empty if need be, so the producer's sequence
	// state survives a rebuild from batch headers (Kafka's rule).
	lastOfProducer map[int64]int64
	dec            Decoder // the records of every batch of the pass
}

// cleanedSeg is a segment whose .cleaned files a pass wrote.
type cleanedSeg struct {
	i       int // in compactPass.segs
	base    int64
	dropped int64
}

// cleanableCount is how many leading segments a pass may clean: not the
// active one, none reaching the high watermark or bound (the first
// uncleanable offset, see firstUncleanable).
func (l *Log) cleanableCount(segs []*Segment, bound int64) int {
	end := min(l.hw.Load(), bound)
	n := 0
	for n < len(segs)-1 && segs[n+1].base <= end {
		n++
	}
	return n
}

// cleanSegments maps each key to its last offset in the pass's segments and
// writes the cleaned copies of those that lose records.
func (l *Log) cleanSegments(p *compactPass) (outs []cleanedSeg, removed int64, err error) {
	last := map[string]int64{}
	p.lastOfProducer = map[int64]int64{}
	for i, s := range p.segs {
		err := forEachBatch(s, p.sizes[i], func(b Batch) error {
			if b.IsControl() {
				return nil
			}
			if id := b.ProducerID(); id >= 0 {
				p.lastOfProducer[id] = b.BaseOffset()
			}
			return p.forEachRecord(b, func(r Record) {
				if r.Key != nil {
					last[string(r.Key)] = r.Offset
				}
			})
		})
		if err != nil {
			return nil, 0, err
		}
	}
	for i, s := range p.segs {
		dropTombstones := p.next[i] <= p.prevCleaned && s.largestTimestamp() < p.deleteHorizon
		keep := func(r Record) bool {
			if r.Key == nil {
				return false
			}
			if lo, ok := last[string(r.Key)]; !ok || r.Offset < lo {
				return false
			}
			return r.Value != nil || !dropTombstones
		}
		k, err := l.writeCleaned(s, p, i, keep)
		if err != nil {
			for _, o := range outs {
				removeSegmentFiles(l.dir, o.base, cleanedSuffix)
			}
			return nil, 0, err
		}
		if k > 0 {
			outs = append(outs, cleanedSeg{i, s.base, k})
			removed += k
		}
	}
	return outs, removed, nil
}

// swapCleaned puts the cleaned segments in place of the old ones, under
// l.mu: .cleaned -> .swap in ascending order, then over the old files, then
// the new list published and the old segments released to their readers.
// A segment the log no longer has as it was (deleted by retention,
// truncated) is left out.
func (l *Log) swapCleaned(p *compactPass, outs []cleanedSeg, removed int64) (int64, error) {
	discard := func(list []cleanedSeg) {
		for _, o := range list {
			removeSegmentFiles(l.dir, o.base, cleanedSuffix)
		}
	}
	if err := l.usable(); err != nil {
		discard(outs)
		return 0, err
	}
	segs := l.segments()
	at := map[*Segment]int{}
	for i, s := range segs {
		at[s] = i
	}
	var swap []cleanedSeg
	pos := map[int]int{}
	changed := false
	for _, o := range outs {
		s := p.segs[o.i]
		i, ok := at[s]
		// A segment still there but changed stops the swap there: a later
		// cleaned segment may have dropped a tombstone that only the
		// cleaning of this one made safe. A deleted one does not.
		changed = changed || ok && (i >= len(segs)-1 || segs[i+1].base != p.next[o.i] ||
			s.size.Load() != p.sizes[o.i] || s.next.Load() > p.next[o.i])
		if !ok || changed {
			discard([]cleanedSeg{o})
			removed -= o.dropped
			continue
		}
		swap = append(swap, o)
		pos[o.i] = i
	}
	for k, o := range swap {
		if err := renameSegmentFiles(l.dir, o.base, cleanedSuffix, swapSuffix); err != nil {
			discard(swap[k:])
			if k > 0 {
				l.fail(err) // .swap files the reopen completes: memory and disk differ
			}
			return 0, err
		}
		if err := syncPath(l.dir); err != nil {
			l.fail(err)
			return 0, err
		}
	}
	next := append([]*Segment(nil), segs...)
	var old []*Segment
	for _, o := range swap {
		if err := renameSegmentFiles(l.dir, o.base, swapSuffix, ""); err != nil {
			l.fail(err) // the directory is half swapped: reopening completes it
			return 0, err
		}
		ns, err := openSegmentFiles(l.dir, o.base, false, &l.cfg, l.logger)
		if err == nil {
			if err = l.loadCleanSegment(ns, false, p.next[o.i]); err != nil {
				ns.Release()
			}
		}
		if err != nil {
			l.fail(err)
			return 0, err
		}
		old = append(old, p.segs[o.i])
		next[pos[o.i]] = ns
	}
	if len(swap) > 0 {
		if err := syncPath(l.dir); err != nil {
			l.fail(err)
		}
		l.publish(next)
	}
	for _, s := range old {
		// Its files are gone already (renamed over): readers holding it keep
		// the old inode; the last Release closes it.
		s.deleted.Store(true)
		s.Release()
	}
	if len(swap) == len(outs) {
		l.compact.cleanedTo = max(l.compact.cleanedTo, p.end)
	}
	if removed > 0 {
		l.logger.Info("logstore: compacted", "segments", len(p.segs), "rewritten", len(swap),
			"records_removed", removed, "cleaned_to", p.end)
	}
	return removed, l.Err()
}

// writeCleaned writes <base>.{log,index,timeindex}.cleaned holding the
// batches of s with only the records keep accepts, and answers how many
// records it dropped; when none, it writes nothing.
func (l *Log) writeCleaned(s *Segment, p *compactPass, si int, keep func(Record) bool) (dropped int64, err error) {
	// First a dry run: most segments of a well-compacted log lose nothing.
	err = forEachBatch(s, p.sizes[si], func(b Batch) error {
		if b.IsControl() {
			return nil
		}
		return p.forEachRecord(b, func(r Record) {
			if !keep(r) {
				dropped++
			}
		})
	})
	if err != nil || dropped == 0 {
		return 0, err
	}
	names := []string{
		filepath.Join(l.dir, segmentName(s.base, logSuffix+cleanedSuffix)),
		filepath.Join(l.dir, segmentName(s.base, indexSuffix+cleanedSuffix)),
		filepath.Join(l.dir, segmentName(s.base, timeIndexSuffix+cleanedSuffix)),
	}
	defer func() {
		if err != nil {
			for _, p := range names {
				os.Remove(p)
			}
		}
	}()
	lf, err := os.OpenFile(names[0], os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, fmt.Errorf("compact: %w", err)
	}
	defer lf.Close()
	for _, p := range names[1:] {
		if err := writeIndexFile(p, nil, 0, false); err != nil {
			return 0, fmt.Errorf("compact: %w", err)
		}
	}
	ns := &Segment{
		base: s.base, dir: l.dir, log: lf, logger: l.logger,
		idx:      newOffsetIndex(names[1], s.base, p.indexBytes),
		tidx:     newTimeIndex(names[2], s.base, p.indexBytes),
		firstTs:  -1,
		offMaxTs: s.base,
	}
	ns.maxTs.Store(-1)
	w := bufio.NewWriterSize(lf, 256<<10)
	var pos int64
	var out []byte
	err = forEachBatch(s, p.sizes[si], func(b Batch) error {
		if !b.IsControl() {
			nb, kept, ferr := p.filterBatch(out[:0], b, keep)
			if ferr != nil {
				return ferr
			}
			if kept == 0 {
				if id := b.ProducerID(); id < 0 || p.lastOfProducer[id] != b.BaseOffset() {
					return nil
				}
				nb = emptyBatch(out[:0], b)
			}
			if nb != nil {
				out, b = nb, Batch(nb)
			}
		}
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("compact: write %s: %w", names[0], err)
		}
		ns.indexBatch(pos, b.Size(), b.LastOffset(), b.MaxTimestamp(), p.interval)
		pos += b.Size()
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := w.Flush(); err != nil {
		return 0, fmt.Errorf("compact: write %s: %w", names[0], err)
	}
	if ts := ns.maxTs.Load(); ts >= 0 {
		ns.tidx.maybeAppend(ts, ns.offMaxTs)
	}
	if err := ns.idx.trim(true); err != nil {
		return 0, err
	}
	if err := ns.tidx.trim(true); err != nil {
		return 0, err
	}
	// Kafka's rule: the cleaned segment keeps the old one's modification
	// time, which retention.ms reads when no batch carries a timestamp.
	if ts := s.largestTimestamp(); ts > 0 && ts < math.MaxInt64 {
		mt := time.UnixMilli(ts)
		if err := os.Chtimes(names[0], mt, mt); err != nil {
			return 0, fmt.Errorf("compact: %w", err)
		}
	}
	if err := lf.Sync(); err != nil {
		return 0, fmt.Errorf("compact: fsync %s: %w", names[0], err)
	}
	return dropped, nil
}

// forEachBatch calls fn with every batch of s below size, whole; the bytes
// are valid during the call only.
func forEachBatch(s *Segment, size int64, fn func(b Batch) error) error {
	sc := newScanner(s, size)
	defer sc.release()
	var buf []byte
	for pos := int64(0); pos < size; {
		h, err := sc.at(pos)
		if err != nil {
			return err
		}
		if int64(cap(buf)) < h.size {
			buf = make([]byte, h.size)
		}
		buf = buf[:h.size]
		if _, err := s.log.ReadAt(buf, pos); err != nil {
			return fmt.Errorf("%w: read segment %s at %d: %v", ErrStorage, s.log.Name(), pos, err)
		}
		if err := fn(Batch(buf)); err != nil {
			return err
		}
		pos += h.size
	}
	return nil
}

// forEachRecord decodes the records of b with the pass's decoder; damage
// is a storage error: the batch is in the log already.
func (p *compactPass) forEachRecord(b Batch, fn func(r Record)) error {
	err := p.dec.ForEachRecord(b, func(r Record) error { fn(r); return nil })
	if err != nil {
		return fmt.Errorf("%w: batch at offset %d: %w", ErrStorage, b.BaseOffset(), err)
	}
	return nil
}

// filterBatch appends to dst an uncompressed copy of b holding only the
// records keep accepts, with every header field but the codec, length,
// record count and CRC as b has them. kept is how many records it holds;
// when keep accepts them all it answers (nil, count): use b as it is.
func (p *compactPass) filterBatch(dst []byte, b Batch, keep func(Record) bool) (out []byte, kept int, err error) {
	dst = append(dst, b[:BatchHeaderSize]...)
	all := true
	err = p.forEachRecord(b, func(r Record) {
		if keep(r) {
			dst = append(dst, r.Raw...)
			kept++
		} else {
			all = false
		}
	})
	if err != nil || all || kept == 0 {
		return nil, kept, err
	}
	nb := Batch(dst)
	binary.BigEndian.PutUint32(nb[offLength:], uint32(len(dst)-logOverhead))
	binary.BigEndian.PutUint16(nb[offAttributes:], uint16(b.Attributes())&^attrCodecMask)
	binary.BigEndian.PutUint32(nb[offRecordCount:], uint32(kept))
	nb.setCRC(nb.ComputeCRC())
	return dst, kept, nil
}

// emptyBatch appends to dst a copy of b's header with no records: the
// codec cleared, a record count of 0, a new CRC; offsets, timestamps and
// producer fields as b has them.
func emptyBatch(dst []byte, b Batch) []byte {
	dst = append(dst, b[:BatchHeaderSize]...)
	nb := Batch(dst)
	binary.BigEndian.PutUint32(nb[offLength:], uint32(BatchHeaderSize-logOverhead))
	binary.BigEndian.PutUint16(nb[offAttributes:], uint16(b.Attributes())&^attrCodecMask)
	binary.BigEndian.PutUint32(nb[offRecordCount:], 0)
	nb.setCRC(nb.ComputeCRC())
	return dst
}

var segmentSuffixes = []string{logSuffix, indexSuffix, timeIndexSuffix}

// renameSegmentFiles renames base's three files from suffix from to to; a
// missing index file is skipped (open rebuilds it), a missing .log is not.
func renameSegmentFiles(dir string, base int64, from, to string) error {
	for _, suf := range segmentSuffixes {
		src := filepath.Join(dir, segmentName(base, suf+from))
		if err := os.Rename(src, filepath.Join(dir, segmentName(base, suf+to))); err != nil {
			if suf != logSuffix && errors.Is(err, os.ErrNotExist) {
				continue
			}
			return fmt.Errorf("compact: %w", err)
		}
	}
	return nil
}

// removeSegmentFiles removes the files of the segment at base (with suffix
// after each name: "" for a segment's own files), where they exist.
func removeSegmentFiles(dir string, base int64, suffix string) {
	for _, suf := range segmentSuffixes {
		os.Remove(filepath.Join(dir, segmentName(base, suf+suffix)))
	}
}

// completeSwaps finishes what a compaction interrupted by a crash left: a
// .swap file is a cleaned segment file whose swap had begun, renamed into
// place; a .cleaned file is one whose swap had not, removed.
func (l *Log) completeSwaps() error {
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return err
	}
	changed := false
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, cleanedSuffix):
			l.logger.Info("logstore: removing an unfinished compaction's file", "file", name)
			if err := os.Remove(filepath.Join(l.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			changed = true
		case strings.HasSuffix(name, swapSuffix):
			l.logger.Info("logstore: completing an interrupted compaction swap", "file", name)
			final := strings.TrimSuffix(name, swapSuffix)
			if err := os.Rename(filepath.Join(l.dir, name), filepath.Join(l.dir, final)); err != nil {
				return err
			}
			changed = true
		}
	}
	if changed {
		return syncPath(l.dir)
	}
	return nil
}
