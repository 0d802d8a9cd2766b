package engine

import (
	"bytes"
	"fmt"
	"time"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore"
)

// The group coordinator moves with the leadership of __consumer_offsets,
// as Kafka's GroupCoordinator does with onElection and onResignation:
// each image published (publishLocked, under b.ctl.mu) ends with
// followCoordinatorLeadership, which compares the partitions this broker
// leads in it with those it led before:
//
//   - a partition it now leads is loaded: groups.Coordinator.Load marks
//     it loading (its groups answer COORDINATOR_LOAD_IN_PROGRESS) and a
//     goroutine of its own reads the partition's log into the replay and
//     installs it (Replay.Done). An empty log is loaded at once, so a
//     new __consumer_offsets serves as soon as it exists;
//   - a partition it no longer leads, or whose unit was replaced (its
//     log made anew), is unloaded at once: its groups are dropped and
//     answer NOT_COORDINATOR (groupError sees the image first), so their
//     clients find the new coordinator with FindCoordinator;
//   - a partition it still leads at a new leader epoch (its ISR
//     changed) keeps its groups, and the epoch it was loaded at.
//
// The calls reach the coordinator in image order, so the newest
// leadership wins: a replay still reading when its partition is unloaded
// or loaded again installs nothing when it ends. Reads never run on a
// shard loop nor under b.ctl.mu. Start waits for the loads of the images
// published before it, so a broker serves its groups from its first
// request, as it did when it loaded them once at Start.
//
// The coordinator's appends name the epoch their partition was loaded at,
// and are written only while that leadership lasts (offsetsLog.Append
// checks loadedAt on the owner shard): an append that runs after its
// partition moved away, or away and back (a new load, which may have read
// the log before it), answers NOT_COORDINATOR and writes nothing.

// ledPartition is a __consumer_offsets partition this broker leads in
// the published image: the leader epoch it was loaded at and the unit it
// was loaded from.
type ledPartition struct {
	epoch int32
	unit  *partition
}

// followCoordinatorLeadership loads and unloads the coordinator's
// partitions as this broker's leadership of __consumer_offsets in im,
// the image just published, says. b.ctl.mu held.
func (b *Broker) followCoordinatorLeadership(im *metadata.Image) {
	c := b.coord()
	led := map[int32]ledPartition{}
	if t, ok := im.Topic(offsetsTopic); ok {
		tab := b.parts.Load()
		for i := range t.Partitions {
			reg := &t.Partitions[i]
			p := tab.byName[partitionKey{offsetsTopic, int32(i)}]
			if reg.Leader == b.nodeID && p != nil && p.topicID == t.ID {
				led[int32(i)] = ledPartition{epoch: reg.LeaderEpoch, unit: p}
			}
		}
	}
	loadedAt := map[int32]int32{}
	for part, now := range led {
		if was, ok := c.led[part]; ok && was.unit == now.unit {
			led[part] = was // the same leadership, maybe at a new epoch: nothing to read
		}
		loadedAt[part] = led[part].epoch
	}
	c.loadedAt.Store(&loadedAt)
	for part, was := range c.led {
		if now, ok := led[part]; !ok || now.unit != was.unit {
			n := c.Unload(part)
			b.log.Info("unloaded consumer groups", "partition", part, "groups", n)
		}
	}
	for part, now := range led {
		if was, ok := c.led[part]; !ok || was.unit != now.unit {
			c.load(part, now)
		}
	}
	c.led = led
}

// load loads partition part from its unit's log, on a goroutine of its
// own unless the log is empty.
func (c *groupCoordinator) load(part int32, lp ledPartition) {
	rp := c.Load(part, lp.epoch)
	if rp == nil {
		return
	}
	l := lp.unit.log
	if l.LogEndOffset() == l.LogStartOffset() {
		rp.Done()
		return
	}
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	if c.stopped {
		return
	}
	done := make(chan struct{})
	c.loads[done] = struct{}{}
	go func() {
		defer func() {
			c.loadMu.Lock()
			delete(c.loads, done)
			c.loadMu.Unlock()
			close(done)
		}()
		if c.holdLoad != nil {
			c.holdLoad(part)
		}
		start := time.Now()
		err := readRecords(lp.unit, rp.Current, rp.Record)
		if err != nil {
			c.b.log.Warn("cannot read __consumer_offsets", "partition", part, "err", err)
		}
		if n, ok := rp.Done(); ok {
			c.b.log.Info("loaded consumer groups", "partition", part, "leader_epoch", lp.epoch, "groups", n,
				"took", time.Since(start))
		}
	}()
}

// awaitLoads waits for the loads started so far.
func (c *groupCoordinator) awaitLoads() {
	c.loadMu.Lock()
	var pending []chan struct{}
	for done := range c.loads {
		pending = append(pending, done)
	}
	c.loadMu.Unlock()
	for _, done := range pending {
		<-done
	}
}

// stopLoads stops starting loads and waits for those under way (the
// coordinator is closed, so they stop reading early).
func (c *groupCoordinator) stopLoads() {
	c.loadMu.Lock()
	c.stopped = true
	c.loadMu.Unlock()
	c.awaitLoads()
}

// readRecords calls fn with every record's key and value (nil: a
// tombstone) in p's log up to its log end as the read starts (Kafka's
// loader reads to the log end too: the leader's log is not truncated
// under it, and on a node whose high watermark waits for followers the
// coordinator's own appends are above it), skipping control batches,
// while more() says the read is still wanted (checked before each chunk).
// A damaged batch is skipped from its first bad record on, as the rest of
// the log is read; the first such error is returned at the end.
func readRecords(p *partition, more func() bool, fn func(key, value []byte)) error {
	l := p.log
	var dec logstore.Decoder
	var damaged error
	off, end := l.LogStartOffset(), l.LogEndOffset()
	for off < end && more() {
		s, err := l.Read(off, 1<<20, end)
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
