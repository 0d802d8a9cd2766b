package logstore

import (
	"fmt"
)

// TruncateTo removes every batch whose last offset is at least offset, as a
// follower does before fetching from a new leader; the log end becomes
// offset (Kafka's rule, even when offset falls inside a removed batch).
// Segments wholly past it are deleted; the one holding it is cut (its bytes
// zeroed in place) and becomes the active segment. An offset below the first
// segment truncates the whole log and starts it at offset. Producer
// snapshots past offset go with the batches they cover.
func (l *Log) TruncateTo(offset int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.modified = true
	if err := l.usable(); err != nil {
		return err
	}
	if offset < 0 {
		return fmt.Errorf("%w: truncate to %d", ErrOffsetOutOfRange, offset)
	}
	if offset >= l.leo.Load() {
		return nil
	}
	segs := l.segments()
	if offset < segs[0].base {
		return l.truncateFullyLocked(offset)
	}
	k := len(segs)
	for k > 1 && segs[k-1].base > offset {
		k--
	}
	keep, drop := segs[:k:k], segs[k:]
	last := keep[k-1]
	// Readers first see the new end, then the new list, then the zeroed bytes.
	l.leo.Store(offset)
	l.hw.Store(min(l.hw.Load(), offset))
	l.logStart.Store(min(l.logStart.Load(), offset))
	l.flushes.reset(offset)
	l.publish(keep)
	l.snaps.dropAbove(offset)
	for _, s := range drop {
		l.logger.Info("logstore: deleting segment on truncation", "segment", s.base, "offset", offset)
		if err := s.markDeleted(); err != nil {
			l.fail(err)
		}
	}
	if err := last.truncateTo(offset); err != nil {
		l.fail(fmt.Errorf("truncate segment %d to %d: %w", last.base, offset, err))
		return l.Err()
	}
	if len(drop) > 0 {
		if err := last.activate(); err != nil {
			l.fail(err)
			return l.Err()
		}
	}
	l.unflushed = 0
	if err := l.epochs.truncateFromEnd(offset); err != nil {
		l.fail(err)
	}
	return l.Err()
}

// TruncateFullyAndStartAt deletes every segment and every producer
// snapshot and starts an empty log at offset, as a follower does when the
// leader's log starts past its end.
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.modified = true
	if err := l.usable(); err != nil {
		return err
	}
	if offset < 0 {
		return fmt.Errorf("%w: start at %d", ErrOffsetOutOfRange, offset)
	}
	return l.truncateFullyLocked(offset)
}

func (l *Log) truncateFullyLocked(offset int64) error {
	old := l.segments()
	l.leo.Store(offset)
	l.logStart.Store(offset)
	l.hw.Store(offset)
	l.flushes.reset(offset)
	l.snaps.dropAbove(-1)
	for _, s := range old {
		if err := s.markDeleted(); err != nil {
			l.fail(err)
			return l.Err()
		}
	}
	seg, err := createSegment(l.dir, offset, &l.cfg, l.opts.Now(), l.logger)
	if err != nil {
		l.fail(err)
		return l.Err()
	}
	l.publish([]*Segment{seg})
	l.logger.Info("logstore: truncated fully", "start_offset", offset, "segments_deleted", len(old))
	l.unflushed = 0
	l.startSync(nil, nil, true, offset, nil)
	if err := l.epochs.clear(); err != nil {
		l.fail(err)
	}
	return l.Err()
}

// DeleteRecords moves the log start offset up to offset (DeleteRecords API;
// -1 means the high watermark) and deletes the segments wholly below it. It
// answers the new log start offset (the low watermark). An offset past the
// high watermark is ErrOffsetOutOfRange.
func (l *Log) DeleteRecords(offset int64) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return 0, err
	}
	hw := l.hw.Load()
	if offset == -1 {
		offset = hw
	}
	if offset < 0 || offset > hw {
		return 0, fmt.Errorf("%w: delete records below %d, high watermark %d", ErrOffsetOutOfRange, offset, hw)
	}
	if offset > l.logStart.Load() {
		l.logStart.Store(offset)
		if err := l.epochs.truncateFromStart(offset); err != nil {
			l.fail(err)
			return 0, l.Err()
		}
		l.snaps.dropBelow(offset)
	}
	l.deleteOldSegments("log start offset", func(_ *Segment, next int64) bool { return next <= l.logStart.Load() })
	return l.logStart.Load(), l.Err()
}
