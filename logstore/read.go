package logstore

import (
	"errors"
	"fmt"
	"sort"
)

// Slice is a range of a segment's .log holding whole batches, for a fetch to
// send without copying: Len bytes at Pos of Seg.File(). The Slice holds a
// reference on Seg; call Release when the send is done (an empty Slice has
// no segment and Release does nothing).
type Slice struct {
	Seg         *Segment
	Pos, Len    int64
	FirstOffset int64 // base offset of the first batch (it may be below the offset asked for)
}

// Release drops the Slice's segment reference.
func (s *Slice) Release() {
	if s.Seg != nil {
		s.Seg.Release()
		s.Seg = nil
	}
}

// readRetries bounds the retries of a read that raced a retention or a
// truncation changing the segment list.
const readRetries = 16

// Read finds the batches for a fetch at offset: from the batch holding
// offset, whole batches of at most maxBytes in total (but always the first
// one whole, Kafka's rule for the first partition of a fetch: the engine
// drops it when it must not exceed the limit), none whose last offset
// reaches upTo (the high watermark for consumers, the log end for
// followers). It reads batch headers only, and only within one segment.
//
// An offset outside [LogStartOffset, LogEndOffset] is ErrOffsetOutOfRange;
// nothing to return (offset at upTo, or the batch holding offset crosses
// upTo) is an empty Slice. Read may run on any goroutine, concurrently with
// the owner's appends.
func (l *Log) Read(offset, maxBytes, upTo int64) (Slice, error) {
	for try := 0; ; try++ {
		s, retry, err := l.readOnce(offset, maxBytes, upTo)
		if !retry || try == readRetries {
			return s, err
		}
	}
}

func (l *Log) readOnce(offset, maxBytes, upTo int64) (s Slice, retry bool, err error) {
	start, leo := l.logStart.Load(), l.leo.Load()
	if offset < start || offset > leo {
		return Slice{}, false, fmt.Errorf("%w: offset %d, %s-%d holds [%d, %d)", ErrOffsetOutOfRange,
			offset, l.topic, l.partition, start, leo)
	}
	upTo = min(upTo, leo)
	if offset >= upTo {
		return Slice{}, false, nil
	}
	segsp := l.segs.Load()
	segs := *segsp
	i := sort.Search(len(segs), func(i int) bool { return segs[i].base > offset }) - 1
	if i < 0 {
		return Slice{}, true, nil // retention moved the start past offset: check again
	}
	for ; i < len(segs) && segs[i].base < upTo; i++ {
		seg := segs[i]
		if !seg.tryAcquire() {
			return Slice{}, true, nil
		}
		pos, end, first, found, err := seg.readRange(offset, maxBytes, upTo)
		if err != nil || !found || end == pos {
			seg.Release()
			if err != nil {
				// A truncation may have zeroed what we scanned: if the log
				// changed, read again; if not, the file is damaged.
				changed := l.segs.Load() != segsp || l.leo.Load() != leo
				return Slice{}, changed, err
			}
			if found {
				return Slice{}, false, nil // the batch holding offset crosses upTo
			}
			continue
		}
		return Slice{Seg: seg, Pos: pos, Len: end - pos, FirstOffset: first.base}, false, nil
	}
	return Slice{}, false, nil
}

// OffsetForTimestamp is ListOffsets' lookup: the first offset at or after the
// log start whose record timestamp is at least ts, and that timestamp. For
// compressed CreateTime batches it answers the batch's base offset and max
// timestamp (records are not decompressed here). found is false when no
// record is that late. Like Read, it may run on any goroutine.
func (l *Log) OffsetForTimestamp(ts int64) (offset, timestamp int64, found bool, err error) {
	for try := 0; ; try++ {
		segsp := l.segs.Load()
		start := l.logStart.Load()
		var retry bool
		offset, timestamp, found, retry, err = l.offsetForTimestamp(*segsp, start, ts)
		if !retry || try == readRetries {
			return offset, timestamp, found, err
		}
	}
}

func (l *Log) offsetForTimestamp(segs []*Segment, start, ts int64) (int64, int64, bool, bool, error) {
	for _, seg := range segs {
		if seg.maxTs.Load() < ts || seg.next.Load() <= start {
			continue
		}
		if !seg.tryAcquire() {
			return 0, 0, false, true, nil
		}
		off, t, found, err := seg.searchTimestamp(ts, start)
		seg.Release()
		if err != nil || found {
			return off, t, found, false, err
		}
	}
	return 0, 0, false, false, nil
}

// searchTimestamp scans from the time index's hint for the first record at or
// after from with a timestamp of at least ts.
func (s *Segment) searchTimestamp(ts, from int64) (int64, int64, bool, error) {
	size := s.size.Load()
	sc := newScanner(s, size)
	defer sc.release()
	_, hint, _ := s.tidx.lookup(ts)
	pos := s.idx.lookup(max(hint, from))
	for pos < size {
		h, err := sc.at(pos)
		if err != nil {
			return 0, 0, false, err
		}
		if h.last >= from && h.maxTs >= ts {
			if h.attr&attrCodecMask != 0 || h.attr&attrLogAppendTime != 0 {
				return max(h.base, from), h.maxTs, true, nil
			}
			off, t, found, err := s.searchRecords(pos, h, ts, from)
			if err != nil || found {
				return off, t, found, err
			}
		}
		pos += h.size
	}
	return 0, 0, false, nil
}

// searchRecords decodes the records of an uncompressed batch to find the
// first with a timestamp of at least ts at or after from.
func (s *Segment) searchRecords(pos int64, h header, ts, from int64) (int64, int64, bool, error) {
	buf := make([]byte, h.size)
	if _, err := s.log.ReadAt(buf, pos); err != nil {
		return 0, 0, false, fmt.Errorf("%w: read batch at %d: %v", ErrStorage, pos, err)
	}
	var off, t int64
	found := false
	err := ForEachRecord(Batch(buf), 0, func(r Record) error {
		if r.Offset >= from && r.Timestamp >= ts {
			off, t, found = r.Offset, r.Timestamp, true
			return errFound
		}
		return nil
	})
	if err != nil && err != errFound {
		return 0, 0, false, fmt.Errorf("%w: batch at %d: %w", ErrStorage, pos, err)
	}
	return off, t, found, nil
}

// errFound stops a walk over records at the one sought.
var errFound = errors.New("found")

// MaxTimestamp is the largest batch max timestamp in the log, -1 when the
// log holds none (ListOffsets' MAX_TIMESTAMP, with OffsetForTimestamp to
// find its offset). It may run on any goroutine.
func (l *Log) MaxTimestamp() int64 {
	maxTs := int64(-1)
	for _, s := range l.segments() {
		maxTs = max(maxTs, s.maxTs.Load())
	}
	return maxTs
}
