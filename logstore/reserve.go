package logstore

import (
	"errors"
	"fmt"
	"time"
)

// Disk reservation. Blocks are reserved (fallocate) ahead of the write
// position in steps rather than a whole segment.bytes at creation: an idle
// partition holds no blocks, while one written fast reserves large steps and
// pays one fallocate per step. A write into reserved blocks cannot fail for
// want of space, neither at pwrite nor at writeback, so a full disk shows up
// here, before anything is written, as ErrNoSpace for that append alone.

// minPreallocateStep is the first step of a partition that was idle: a
// partition that is written once holds at most this much beyond its bytes
// (10,000 such partitions: 640 MiB). A partition written fast doubles it
// each step: 64 MiB is ten steps away.
const minPreallocateStep = 64 << 10

// idleRelease: a partition not appended to for this long gives back what
// it reserved past its end at the next maintenance (Log.Maintain).
const idleRelease = time.Minute

// fastStep: a step filled within this time doubles the next one.
const fastStep = time.Second

// reserveStep holds the step size between appends (owner only, under mu).
type reserveStep struct {
	size int64
	at   time.Time // when the last step was reserved
}

// next is the size of the next step: double the last while the partition
// fills each step within fastStep, back to the smallest when it does not.
func (r *reserveStep) next(now time.Time, maxStep int64) int64 {
	first := min(minPreallocateStep, maxStep)
	if r.size == 0 || now.Sub(r.at) > fastStep {
		r.size = first
	} else {
		r.size = min(2*r.size, maxStep)
	}
	r.at = now
	return r.size
}

// reserveFor makes sure disk blocks back the active segment up to end, and
// its index entries up to there, before the append that ends at end is
// written. A full disk refuses this append with ErrNoSpace and leaves the
// log usable; any other error fails it.
func (l *Log) reserveFor(seg *Segment, end int64, now time.Time) error {
	if l.noFallocate || end <= min(seg.reserved, seg.idxReserved) {
		return nil
	}
	var target int64
	switch {
	case l.cfg.Preallocate:
		target = max(end, l.cfg.SegmentBytes)
	case l.cfg.PreallocateStepBytes > 0:
		target = max(end, min(seg.reserved+l.step.next(now, l.cfg.PreallocateStepBytes), l.cfg.SegmentBytes))
	default:
		return nil
	}
	err := l.reserveTo(seg, target)
	if isNoSpace(err) && target > end {
		// The step does not fit; the append may. Start small next time.
		l.step.size = 0
		err = l.reserveTo(seg, end)
	}
	switch {
	case errors.Is(err, errNoFallocate):
		l.noFallocate = true
		l.logger.Info("logstore: the file system cannot reserve space (no fallocate); files grow as written")
		return nil
	case isNoSpace(err):
		return fmt.Errorf("%w: %s-%d: %w", ErrNoSpace, l.topic, l.partition, err)
	case err != nil:
		l.fail(err)
		return l.Err()
	}
	return nil
}

// reserveTo reserves .log blocks up to target (the file's length becomes
// target) and index blocks for the entries that many log bytes can add
// (the index files keep their lengths).
func (l *Log) reserveTo(seg *Segment, target int64) error {
	if err := reserve(seg.log, seg.reserved, target, false); err != nil {
		return err
	}
	seg.reserved = max(seg.reserved, target)
	if target <= seg.idxReserved {
		return nil
	}
	// An entry per index.interval.bytes, and never more than one per batch.
	per := max(l.cfg.IndexIntervalBytes, BatchHeaderSize+1)
	entries := min(int64(seg.idx.maxEntries), target/per+2)
	if err := reserveIndexFile(seg.idx.path, entries*offsetEntrySize); err != nil {
		return err
	}
	if err := reserveIndexFile(seg.tidx.path, min(entries+1, int64(seg.tidx.maxEntries))*timeEntrySize); err != nil {
		return err
	}
	seg.idxReserved = max(seg.idxReserved, target)
	return nil
}

// releaseIdleLocked gives back the blocks reserved past the active
// segment's end when nothing was appended for idleRelease. The .log is cut
// to its logical size: that size never shrinks here, and readers only touch
// bytes below it.
//
// It is best effort: a reader holding the segment (a range handed out before
// a truncation may reach past the end) or a failure to open the index files
// (EMFILE) leaves it for the next maintenance.
func (l *Log) releaseIdleLocked(now time.Time) error {
	seg := l.active()
	if seg.reserved <= seg.size.Load() || now.Sub(l.lastAppend) < idleRelease || seg.refs.Load() > 1 {
		return nil
	}
	for _, trim := range []func(bool) error{seg.idx.trim, seg.tidx.trim} {
		if err := trim(false); err != nil {
			if isRetryable(err) {
				return nil
			}
			return err
		}
	}
	seg.fileMu.Lock()
	err := seg.trimLog()
	seg.fileMu.Unlock()
	if err != nil {
		return err
	}
	seg.reserved, seg.idxReserved = seg.size.Load(), 0
	l.step.size = 0
	return nil
}
