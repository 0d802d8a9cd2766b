package logstore

import (
	"fmt"
	"time"
)

// Maintain is the log's periodic work: a flush when flush.ms has passed with
// unflushed appends, then retention. The log dir's background goroutine
// calls it every interval; an engine whose Syncer must be driven from the
// owning shard calls it there instead. It answers how many segments
// retention deleted. Compaction is not part of it: a Cleaner runs it on its
// own cadence (log.cleaner.backoff.ms), as Kafka's LogCleaner does.
func (l *Log) Maintain(now time.Time) (int, error) {
	return l.maintainLocked(now)
}

func (l *Log) maintainLocked(now time.Time) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return 0, err
	}
	if l.unflushed > 0 && now.Sub(l.lastFlush).Milliseconds() >= l.cfg.FlushMs {
		l.flushLocked(now)
	}
	if err := l.releaseIdleLocked(now); err != nil {
		l.fail(fmt.Errorf("give back reserved space: %w", err))
		return 0, l.Err()
	}
	return l.retainLocked(now), l.Err()
}

// ApplyRetention deletes the segments retention.ms and retention.bytes no
// longer keep (Maintain without the flush).
func (l *Log) ApplyRetention(now time.Time) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return 0, err
	}
	return l.retainLocked(now), l.Err()
}

// retainLocked is Kafka's deleteOldSegments: by age, then by total size, then
// below the log start offset. Only whole segments go, oldest first, never
// the active one and never one holding offsets at or past the high
// watermark; the log start offset moves to the first segment kept.
func (l *Log) retainLocked(now time.Time) int {
	n := 0
	if !l.cfg.deletes() {
		// cleanup.policy=compact alone: no retention by age or size.
		return l.deleteOldSegments("log start offset", func(_ *Segment, next int64) bool { return next <= l.logStart.Load() })
	}
	if ms := l.cfg.RetentionMs; ms >= 0 {
		nowMs := now.UnixMilli()
		n += l.deleteOldSegments("retention.ms", func(s *Segment, _ int64) bool {
			return nowMs-s.largestTimestamp() > ms
		})
	}
	if limit := l.cfg.RetentionBytes; limit >= 0 {
		over := l.Size() - limit
		n += l.deleteOldSegments("retention.bytes", func(s *Segment, _ int64) bool {
			if size := s.size.Load(); over-size >= 0 {
				over -= size
				return true
			}
			return false
		})
	}
	n += l.deleteOldSegments("log start offset", func(_ *Segment, next int64) bool { return next <= l.logStart.Load() })
	return n
}

// deleteOldSegments deletes the longest run of oldest segments for which
// del(segment, next segment's base) holds.
func (l *Log) deleteOldSegments(why string, del func(s *Segment, next int64) bool) int {
	segs := l.segments()
	hw := l.hw.Load()
	k := 0
	for k < len(segs)-1 && segs[k+1].base <= hw && del(segs[k], segs[k+1].base) {
		k++
	}
	if k == 0 {
		return 0
	}
	// Readers see the new start before the shorter list: a read below it
	// is out of range, never served from a later segment.
	if start := segs[k].base; start > l.logStart.Load() {
		l.logStart.Store(start)
		if err := l.epochs.truncateFromStart(start); err != nil {
			l.fail(err)
		}
		l.snaps.dropBelow(start)
	}
	l.publish(segs[k:])
	for _, s := range segs[:k] {
		l.logger.Info("logstore: deleting segment", "reason", why, "segment", s.base,
			"bytes", s.size.Load(), "log_start_offset", l.logStart.Load())
		if err := s.markDeleted(); err != nil {
			l.fail(err)
		}
	}
	return k
}
