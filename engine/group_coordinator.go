package engine

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/groups"
	"github.com/weirmq/weir/logstore"
)

// groupCoordinator is the engine's side of the group coordinator
// (engine/groups): it drives its timers with one time.Timer, runs the
// offsets expiry pass, and appends its records to __consumer_offsets.
type groupCoordinator struct {
	*groups.Coordinator
	b *Broker
	// timer runs Tick when the coordinator asks (Wake).
	timer *time.Timer
	stop  chan struct{}
}

// coord returns the broker's coordinator, made on first use.
func (b *Broker) coord() *groupCoordinator {
	b.groupsOnce.Do(func() {
		c := &groupCoordinator{b: b}
		c.timer = time.AfterFunc(time.Hour, func() { c.Tick(time.Now()) })
		c.timer.Stop()
		c.Coordinator = groups.New(groups.Options{
			Log:    offsetsLog{b},
			Config: b.groupConfig,
			Clock:  time.Now,
			Wake:   func(at time.Time) { c.timer.Reset(time.Until(at)) },
		})
		b.groups = c
	})
	return b.groups
}

// groupConfig is the broker configuration the coordinator reads.
func (b *Broker) groupConfig() groups.Config {
	cfg := b.brokerConfig()
	return groups.Config{
		MinSessionTimeoutMs: cfg.Int("group.min.session.timeout.ms"),
		MaxSessionTimeoutMs: cfg.Int("group.max.session.timeout.ms"),
		MaxSize:             cfg.Int("group.max.size"),
		InitialDelay:        time.Duration(cfg.Int("group.initial.rebalance.delay.ms")) * time.Millisecond,
		OffsetsRetention:    time.Duration(cfg.Int("offsets.retention.minutes")) * time.Minute,
	}
}

// startExpiry runs the offsets expiry pass every
// offsets.retention.check.interval.ms until close.
func (c *groupCoordinator) startExpiry() {
	every := time.Duration(c.b.opts.Config.Long("offsets.retention.check.interval.ms")) * time.Millisecond
	c.stop = make(chan struct{})
	stop := c.stop
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				c.expireOffsets(now)
			}
		}
	}()
}

// expireOffsets runs the coordinator's offsets expiry at now, for the
// groups this broker still coordinates.
func (c *groupCoordinator) expireOffsets(now time.Time) {
	c.ExpireOffsets(now, func(group string) bool { _, code := c.b.groupError(group); return code == 0 })
}

// close stops the coordinator's timers and expiry pass.
func (c *groupCoordinator) close() {
	c.Close()
	c.timer.Stop()
	if c.stop != nil {
		close(c.stop)
		c.stop = nil
	}
}

// groupError is the coordinator error for group on this broker, or 0:
// COORDINATOR_NOT_AVAILABLE before __consumer_offsets exists,
// NOT_COORDINATOR when its partition is led elsewhere,
// COORDINATOR_LOAD_IN_PROGRESS while the groups load.
func (b *Broker) groupError(group string) (int32, int16) {
	t, ok := b.image.Load().Topic(offsetsTopic)
	if !ok || len(t.Partitions) == 0 {
		return -1, kerr.CoordinatorNotAvailable.Code
	}
	idx := groupPartition(group, len(t.Partitions))
	if t.Partitions[idx].Leader != b.nodeID {
		return -1, kerr.NotCoordinator.Code
	}
	if b.lookupPartition(offsetsTopic, int32(idx)) == nil {
		return -1, kerr.CoordinatorNotAvailable.Code
	}
	if !b.coord().Loaded() {
		return -1, kerr.CoordinatorLoadInProgress.Code
	}
	return int32(idx), 0
}

var invalidGroupID = kerr.InvalidGroupID.Code

// offsetsLog is groups.Log: appends to __consumer_offsets partitions on
// their owner shard.
type offsetsLog struct{ b *Broker }

// Append writes recs to partition part on its owner shard, through the
// partition's write path; done (if set) runs after the append with its
// error code: on the owner shard, or where the sync completes when
// flush.messages made the append wait for one.
func (o offsetsLog) Append(part int32, recs []groups.Record, done func(code int16)) {
	b := o.b
	p := b.lookupPartition(offsetsTopic, part)
	if p == nil {
		if done != nil {
			done(kerr.CoordinatorNotAvailable.Code)
		}
		return
	}
	batch := buildGroupBatch(recs)
	b.shards.Run(b.owner(p), func() {
		fail := func(err error) {
			b.log.Warn("cannot write to __consumer_offsets", "partition", part, "err", err)
			if done != nil {
				done(kerr.UnknownServerError.Code)
			}
		}
		res, err := p.append(batch, originCoordinator, done != nil)
		switch {
		case err != nil:
			fail(err)
		case res.Durable != nil:
			// flush.messages started a sync: the commit is answered once
			// its record is durable, as a produce with acks would be.
			res.Durable(func(err error) {
				if err != nil {
					fail(err)
					return
				}
				done(0)
			})
		case done != nil:
			done(0)
		}
	})
}

// buildGroupBatch encodes recs as one uncompressed magic-2 batch.
func buildGroupBatch(recs []groups.Record) []byte {
	var raw []byte
	for i, gr := range recs {
		r := kmsg.Record{OffsetDelta: int32(i), Key: gr.Key, Value: gr.Value}
		r.Length = int32(len(r.AppendTo(nil)) - 1) // the length varint of 0 is one byte
		raw = r.AppendTo(raw)
	}
	now := time.Now().UnixMilli()
	rb := kmsg.RecordBatch{Magic: 2, LastOffsetDelta: int32(len(recs) - 1), FirstTimestamp: now, MaxTimestamp: now,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(len(recs)), Records: raw}
	b := rb.AppendTo(nil)
	rb.Length = int32(len(b) - 12)
	b = rb.AppendTo(b[:0])
	rb.CRC = int32(crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return rb.AppendTo(b[:0])
}

// loadGroups reads every hosted __consumer_offsets partition this broker
// leads into the coordinator (groups.Replay).
func (b *Broker) loadGroups() {
	rp := b.coord().Replay()
	if t, ok := b.image.Load().Topic(offsetsTopic); ok {
		for i := range t.Partitions {
			p := b.lookupPartition(offsetsTopic, int32(i))
			if p == nil || t.Partitions[i].Leader != b.nodeID {
				continue
			}
			err := readRecords(p, func(key, value []byte) { rp.Record(int32(i), key, value) })
			if err != nil {
				b.log.Warn("cannot read __consumer_offsets", "partition", i, "err", err)
			}
		}
	}
	if n := rp.Done(); n > 0 {
		b.log.Info("loaded consumer groups", "groups", n)
	}
}

// readRecords calls fn with every record's key and value (nil: a
// tombstone) in p's log below the high watermark, skipping control
// batches. A damaged batch is skipped from its first bad record on, as the
// rest of the log is read; the first such error is returned at the end.
func readRecords(p *partition, fn func(key, value []byte)) error {
	l := p.log
	var dec logstore.Decoder
	var damaged error
	off, hw := l.LogStartOffset(), l.HighWatermark()
	for off < hw {
		s, err := l.Read(off, 1<<20, hw)
		if err != nil {
			return err
		}
		if s.Len == 0 {
			return damaged
		}
		buf := make([]byte, s.Len)
		_, err = s.Seg.File().ReadAt(buf, s.Pos)
		s.Release()
		if err != nil {
			return err
		}
		for len(buf) >= logstore.BatchHeaderSize {
			b := logstore.Batch(buf)
			size := b.Size()
			if size > int64(len(buf)) || size < logstore.BatchHeaderSize {
				return damaged
			}
			b, buf = b[:size], buf[size:]
			off = max(off, b.LastOffset()+1)
			if b.IsControl() {
				continue
			}
			// buf is read afresh each time and fn's decoders may keep views
			// of it; a compressed batch's records are in dec's buffer, which
			// the next batch reuses, so they are copied.
			copied := b.Codec() != 0
			err := dec.ForEachRecord(b, func(r logstore.Record) error {
				if r.Offset < l.LogStartOffset() {
					return nil
				}
				if copied {
					r.Key, r.Value = bytes.Clone(r.Key), bytes.Clone(r.Value)
				}
				fn(r.Key, r.Value)
				return nil
			})
			if err != nil && damaged == nil {
				damaged = fmt.Errorf("batch at offset %d: %w", b.BaseOffset(), err)
			}
		}
	}
	return damaged
}
