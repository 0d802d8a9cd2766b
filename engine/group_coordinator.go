package engine

import (
	"hash/crc32"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/groups"
	"github.com/weirmq/weir/replica"
)

// groupCoordinator is the engine's side of the group coordinator
// (engine/groups): it drives its timers with one time.Timer, runs the
// offsets expiry pass, appends its records to __consumer_offsets, and
// loads and unloads the partitions this broker leads
// (group_leadership.go).
type groupCoordinator struct {
	*groups.Coordinator
	b *Broker
	// timer runs Tick when the coordinator asks (Wake).
	timer *time.Timer
	stop  chan struct{}

	// led are the __consumer_offsets partitions this broker leads in the
	// published image (b.ctl.mu); loadedAt is each one's load epoch, for
	// the owner shards' appends.
	led      map[int32]ledPartition
	loadedAt atomic.Pointer[map[int32]int32]
	// loads are the loads reading logs, each closed when it ends; stopped:
	// close began, and no load starts (loadMu).
	loadMu  sync.Mutex
	loads   map[chan struct{}]struct{}
	stopped bool
	// holdLoad, set by tests before the loads it holds start, runs on a
	// load's goroutine before it reads.
	holdLoad func(part int32)
}

// coord returns the broker's coordinator, made on first use.
func (b *Broker) coord() *groupCoordinator {
	b.groupsOnce.Do(func() {
		c := &groupCoordinator{b: b, led: map[int32]ledPartition{}, loads: map[chan struct{}]struct{}{}}
		c.loadedAt.Store(&map[int32]int32{})
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
// groups this broker still coordinates: loaded (the only groups it has)
// and led here in the published image, which may be ahead of the unloads
// (owned runs under the coordinator's lock: it must not call back).
func (c *groupCoordinator) expireOffsets(now time.Time) {
	c.ExpireOffsets(now, func(group string) bool { _, code := c.b.groupLeader(group); return code == 0 })
}

// close stops the coordinator's timers, expiry pass and loads.
func (c *groupCoordinator) close() {
	c.Close()
	c.stopLoads()
	c.timer.Stop()
	if c.stop != nil {
		close(c.stop)
		c.stop = nil
	}
}

// groupError is the coordinator error for group on this broker, or 0:
// COORDINATOR_NOT_AVAILABLE before __consumer_offsets exists,
// NOT_COORDINATOR when its partition is led elsewhere in the published
// image, COORDINATOR_LOAD_IN_PROGRESS until this broker has loaded the
// partition's groups (group_leadership.go). The handlers call groups
// after it; groups checks the partition again under its lock, so a
// request that races an unload is answered NOT_COORDINATOR there.
func (b *Broker) groupError(group string) (int32, int16) {
	idx, code := b.groupLeader(group)
	if code == 0 && !b.coord().Loaded(idx) {
		return -1, kerr.CoordinatorLoadInProgress.Code
	}
	return idx, code
}

// groupLeader is groupError without the load: the group's partition, or
// the error when this broker does not lead it in the published image or
// has no unit for it.
func (b *Broker) groupLeader(group string) (int32, int16) {
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
	return int32(idx), 0
}

var invalidGroupID = kerr.InvalidGroupID.Code

// offsetsLog is groups.Log: appends to __consumer_offsets partitions on
// their owner shard.
type offsetsLog struct{ b *Broker }

// Append writes recs to partition part on its owner shard, through the
// partition's write path; done (if set) runs after the append with its
// error code: on the owner shard, or where the sync completes when
// flush.messages made the append wait for one. A partition this broker
// does not lead under the leadership loaded at epoch when the append runs
// (it moved away, maybe back again, since the coordinator decided) is not
// written: NOT_COORDINATOR, as Kafka answers a coordinator append that
// finds NOT_LEADER_OR_FOLLOWER, so a commit is never written to a
// follower's log nor behind a newer load's back.
func (o offsetsLog) Append(part, epoch int32, recs []groups.Record, done func(code int16)) {
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
		if at, ok := (*b.coord().loadedAt.Load())[part]; !ok || at != epoch || p.rep.Status().Role != replica.Leader {
			if done != nil {
				done(kerr.NotCoordinator.Code)
			}
			return
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
