package logstore

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// AppendResult says where an append went.
type AppendResult struct {
	FirstOffset    int64 // base offset of the first batch; -1 when nothing was appended
	LastOffset     int64 // last offset of the last batch; -1 when nothing was appended
	LogAppendTime  int64 // the broker time stamped in (LogAppendTime topics); -1 otherwise
	LogStartOffset int64
	Batches        int
	Records        int64 // sum of the batches' record counts
	// SyncStarted: the flush policy started a sync with this append. With an
	// asynchronous Syncer, an acks that waits for durability waits for it.
	SyncStarted bool
	// Rolled: the append started a new segment at FirstOffset. The owner
	// saves its producer state of the batches below it then
	// (SaveProducerSnapshot), as Kafka snapshots at every roll.
	Rolled bool
}

// batchInfo is what the append path keeps of each batch it validated.
type batchInfo struct {
	pos, size int64 // in the appended buffer
	base      int64
	last      int64
	maxTs     int64
	count     int64
}

// Append appends one produce partition payload: one or more record batches
// as the client sent them. Every batch and its records are validated first
// (validate.go) and nothing is written unless all pass. Offsets are
// assigned from the log end by rewriting each batch's base offset in p
// (and, for LogAppendTime topics or a max timestamp that is not the
// records', its max timestamp, attribute and CRC): p is modified in place.
// The bytes are then written to the active segment as they are, compressed
// or not. leaderEpoch is stamped into each batch and recorded in the leader
// epoch cache. Errors wrap ErrCorrupt, ErrInvalidRecord, ErrInvalidTimestamp
// (a *RecordsError when particular records are at fault), ErrTooLarge
// (nothing was written) or ErrStorage / ErrClosed.
func (l *Log) Append(p []byte, leaderEpoch int32) (AppendResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return AppendResult{}, err
	}
	if int64(len(p)) > l.cfg.SegmentBytes {
		return AppendResult{}, fmt.Errorf("%w: %w: %d bytes, segment.bytes %d", ErrTooLarge, ErrAppendTooLarge,
			len(p), l.cfg.SegmentBytes)
	}
	now := l.opts.Now()
	infos, err := l.validate(p, OriginClient, now.UnixMilli())
	if err != nil || len(infos) == 0 {
		return AppendResult{FirstOffset: -1, LastOffset: -1, LogAppendTime: -1}, err
	}
	if l.opts.CheckBatch != nil {
		for _, in := range infos {
			if err := l.opts.CheckBatch(Batch(p[in.pos : in.pos+in.size])); err != nil {
				return AppendResult{}, err
			}
		}
	}
	appendTime := int64(-1)
	if l.cfg.LogAppendTime {
		appendTime = now.UnixMilli()
	}
	next := l.leo.Load()
	for i := range infos {
		in := &infos[i]
		b := Batch(p[in.pos : in.pos+in.size])
		b.setBaseOffset(next)
		b.setLeaderEpoch(leaderEpoch)
		switch {
		case appendTime >= 0:
			b.setLogAppendTime(appendTime)
			in.maxTs = appendTime
		case b.MaxTimestamp() != in.maxTs || b.IsLogAppendTime():
			b.setCreateTime(in.maxTs) // the records' max, not the client's word
		}
		in.base, in.last = next, next+(in.last-in.base)
		next = in.last + 1
	}
	res, err := l.write(p, infos, now)
	if err != nil {
		return AppendResult{}, err
	}
	res.LogAppendTime = appendTime
	if err := l.epochs.assign(leaderEpoch, res.FirstOffset); err != nil {
		l.fail(err)
		return AppendResult{}, l.Err()
	}
	return res, nil
}

// AppendAsFollower appends batches fetched from the leader, keeping their
// offsets, epochs and timestamps. A trailing partial batch (a fetch response
// may end in one) is dropped. The batches must start at or after the log end
// and increase (ErrOffsetsOutOfOrder otherwise: truncate first); gaps are
// allowed, as compacted leaders send them.
func (l *Log) AppendAsFollower(p []byte) (AppendResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.appendAsFollowerLocked(p)
}

func (l *Log) appendAsFollowerLocked(p []byte) (AppendResult, error) {
	if err := l.usable(); err != nil {
		return AppendResult{}, err
	}
	p = p[:completePrefix(p)]
	if int64(len(p)) > l.cfg.SegmentBytes {
		return AppendResult{}, fmt.Errorf("%w: %w: %d bytes, segment.bytes %d", ErrTooLarge, ErrAppendTooLarge,
			len(p), l.cfg.SegmentBytes)
	}
	infos, err := l.validate(p, OriginReplication, 0)
	if err != nil || len(infos) == 0 {
		return AppendResult{FirstOffset: -1, LastOffset: -1, LogAppendTime: -1}, err
	}
	next := l.leo.Load()
	for _, in := range infos {
		if in.base < next {
			return AppendResult{}, fmt.Errorf("%w: batch [%d, %d] at or below offset %d", ErrOffsetsOutOfOrder,
				in.base, in.last, next-1)
		}
		next = in.last + 1
	}
	res, err := l.write(p, infos, l.opts.Now())
	if err != nil {
		return AppendResult{}, err
	}
	res.LogAppendTime = -1
	for _, in := range infos {
		if err := l.epochs.assign(Batch(p[in.pos:]).LeaderEpoch(), in.base); err != nil {
			l.fail(err)
			return AppendResult{}, l.Err()
		}
	}
	return res, nil
}

// validate checks every batch of p and returns their infos (in l.infos,
// reused between appends). A client's batches have their records checked
// too (checkRecords, at nowMs), and their infos carry the records' max
// timestamp rather than the header's.
func (l *Log) validate(p []byte, origin Origin, nowMs int64) ([]batchInfo, error) {
	infos := l.infos[:0]
	it := batchIter{p: p, max: l.cfg.MaxMessageBytes, origin: origin}
	var rules recordRules
	var dec *Decoder
	if origin == OriginClient {
		rules = l.recordRules(nowMs)
		dec = decoderPool.Get().(*Decoder)
		dec.Limit = 0
		defer func() { dec.trim(); decoderPool.Put(dec) }()
	}
	for {
		b, pos, ok := it.Next()
		if !ok {
			break
		}
		maxTs := b.MaxTimestamp()
		if origin == OriginClient {
			var err error
			if maxTs, err = checkRecords(dec, b, &rules); err != nil {
				return nil, fmt.Errorf("batch at byte %d: %w", pos, err)
			}
		}
		infos = append(infos, batchInfo{
			pos: pos, size: int64(len(b)), base: b.BaseOffset(), last: b.LastOffset(),
			maxTs: maxTs, count: int64(b.RecordCount()),
		})
	}
	l.infos = infos
	if err := it.Err(); err != nil {
		return nil, err
	}
	return infos, nil
}

// write puts validated, offset-stamped batches at the end of the active
// segment (rolling first if it must), indexes them, then publishes the new
// end to readers.
func (l *Log) write(p []byte, infos []batchInfo, now time.Time) (AppendResult, error) {
	first, last := infos[0].base, infos[len(infos)-1].last
	seg := l.active()
	rolled := false
	if l.shouldRoll(seg, int64(len(p)), infos, now) {
		var err error
		rolled = true
		if seg, err = l.roll(first, now); err != nil {
			if errors.Is(err, ErrNoSpace) {
				return AppendResult{}, err
			}
			l.fail(err)
			return AppendResult{}, l.Err()
		}
	}
	pos := seg.size.Load()
	l.lastAppend, l.modified = now, true
	if err := l.reserveFor(seg, pos+int64(len(p)), now); err != nil {
		return AppendResult{}, err
	}
	if err := l.opts.IO.WriteAt(seg.log, p, pos); err != nil {
		if isNoSpace(err) {
			// Unreserved space (no fallocate here) ran out: nothing counts
			// as written, and the next append writes over what did land.
			_ = zeroRange(seg.log, pos, pos+int64(len(p)))
			return AppendResult{}, fmt.Errorf("%w: %s-%d: append at %s:%d: %w", ErrNoSpace, l.topic, l.partition,
				seg.log.Name(), pos, err)
		}
		l.fail(fmt.Errorf("append at %s:%d: %w", seg.log.Name(), pos, err))
		return AppendResult{}, l.Err()
	}
	seg.size.Store(pos + int64(len(p)))
	var records int64
	for _, in := range infos {
		seg.indexBatch(pos+in.pos, in.size, in.last, in.maxTs, l.cfg.IndexIntervalBytes)
		records += in.count
	}
	seg.next.Store(last + 1)
	l.leo.Store(last + 1)
	res := AppendResult{
		FirstOffset: first, LastOffset: last, LogStartOffset: l.logStart.Load(),
		Batches: len(infos), Records: records, Rolled: rolled,
	}
	l.unflushed += records
	if l.unflushed >= l.cfg.FlushMessages {
		l.flushLocked(now)
		res.SyncStarted = true
	}
	return res, l.Err()
}

// shouldRoll is Kafka's rule: the append would not fit in segment.bytes, the
// segment is older than segment.ms, an index could not take the entries, or
// an offset would not fit in a relative u32.
func (l *Log) shouldRoll(seg *Segment, n int64, infos []batchInfo, now time.Time) bool {
	size := seg.size.Load()
	last := infos[len(infos)-1].last
	if last-seg.base > maxRelOffset {
		return true
	}
	if size == 0 {
		return false
	}
	maxTs := int64(-1)
	for _, in := range infos {
		maxTs = max(maxTs, in.maxTs)
	}
	return size > l.cfg.SegmentBytes-n ||
		seg.rollAge(now, maxTs) > l.cfg.SegmentMs ||
		seg.idx.full(len(infos)) || seg.tidx.full(len(infos)+1)
}

// roll seals the active segment and starts a new one at base. The sealed
// segment, its indexes and the directory go to the Syncer; when they are
// durable the recovery point moves to base. An empty active segment is
// replaced rather than kept.
func (l *Log) roll(base int64, now time.Time) (*Segment, error) {
	l.modified = true
	old := l.active()
	if old.size.Load() == 0 && old.base == base {
		return old, nil
	}
	// The new segment's files first: when they cannot be made (a full
	// disk), nothing has changed and a later append tries again.
	seg, err := createSegment(l.dir, base, &l.cfg, now, l.logger)
	if err != nil {
		if isNoSpace(err) {
			return nil, fmt.Errorf("%w: roll %s-%d: %w", ErrNoSpace, l.topic, l.partition, err)
		}
		return nil, err
	}
	// Should the old segment fail to seal, the new one must not stay on
	// disk: at the next open it would be the last segment, and the log end
	// would go back to its base.
	undo := func(err error) (*Segment, error) {
		seg.Release()
		removeSegmentFiles(l.dir, base, "")
		if isNoSpace(err) {
			if aerr := old.activate(); aerr != nil {
				return nil, aerr
			}
			return nil, fmt.Errorf("%w: roll %s-%d: %w", ErrNoSpace, l.topic, l.partition, err)
		}
		return nil, err
	}
	segs := l.segments()
	keep := segs[:len(segs)-1]
	if old.size.Load() != 0 {
		if err := old.seal(); err != nil {
			return undo(err)
		}
		keep = segs
	} else if err := old.markDeleted(); err != nil {
		return undo(err)
	}
	l.publish(append(keep[:len(keep):len(keep)], seg))
	var files []*os.File
	var paths []string
	var hold *Segment
	if len(keep) > 0 && keep[len(keep)-1] == old {
		old.Acquire()
		hold, files, paths = old, []*os.File{old.log}, []string{old.idx.path, old.tidx.path}
	}
	l.startSync(files, paths, true, base, hold)
	return seg, nil
}

// Roll starts a new segment at the log end now (tests, and tools).
func (l *Log) Roll() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	if _, err := l.roll(l.leo.Load(), l.opts.Now()); err != nil {
		l.fail(err)
	}
	return l.Err()
}
