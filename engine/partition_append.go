package engine

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/logstore"
)

// appendOrigin says who writes a batch, which decides the checks append
// makes before the log's own validation.
type appendOrigin uint8

const (
	// originClient is a producer's batch (Produce): idempotent batches are
	// checked against the producer state first, a retry answered with its
	// first offsets, a gap or a stale epoch refused.
	originClient appendOrigin = iota
	// originCoordinator is a coordinator's records (the group
	// coordinator's __consumer_offsets batches; the transaction
	// coordinator's markers next): trusted, not checked for sequences.
	originCoordinator
)

// appendResult is what an append did.
type appendResult struct {
	FirstOffset    int64 // base offset of the first batch
	LastOffset     int64 // last offset of the last batch
	LogAppendTime  int64 // the broker time stamped in (LogAppendTime topics); -1 otherwise
	LogStartOffset int64
	LeaderEpoch    int32 // the epoch p led in when it appended
	// Duplicate: an idempotent producer's retry of a batch it already
	// wrote; nothing was appended, the offsets are the first write's and
	// LogAppendTime is -1.
	Duplicate bool
	// Durable is set when the caller asked for durability and the append
	// started a sync (flush.messages): call it with the function to run
	// once the bytes are durable, or with the log's error. Nil otherwise:
	// the append is done as it returns.
	Durable func(then func(error))
}

// append is the partition's one write path for a leader, used by every
// writer: Produce (originClient), the coordinators (originCoordinator).
// It writes (write) and then has the owner shard take the new log end
// (appendedOnOwner); owner shard only. On the uring backend Produce does
// the two apart: the partition's drain writes, off the loop, and the loop
// takes the outcome (appender.go).
func (p *partition) append(payload []byte, origin appendOrigin, wantDurable bool) (appendResult, error) {
	res, err := p.write(payload, origin, wantDurable)
	p.appendedOnOwner(res, err)
	return res, err
}

// write appends a leader's batch, on any goroutine, under writeMu:
//  1. refuses it with NOT_LEADER_OR_FOLLOWER when p no longer leads (the
//     role changed after the append was accepted),
//  2. checks a client's idempotent batch against the producer state
//     (a retry returns the first write's offsets, Duplicate set; a gap or
//     old epoch a *kerr.Error),
//  3. appends to the log, stamping the leader epoch (a logstore error,
//     e.g. *logstore.RecordsError, is returned as is); the log publishes
//     the new end to readers,
//  4. records the batches of any producer id in the producer state,
//     snapshotting it when the append rolled a segment,
//  5. when wantDurable and the flush policy started a sync, hands back
//     the durable wait in Durable.
//
// The coordinators' appends honour flush.messages too, as Kafka's do (its
// coordinators append through the same log path as produce).
func (p *partition) write(payload []byte, origin appendOrigin, wantDurable bool) (appendResult, error) {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if !p.leading {
		return appendResult{}, kerr.NotLeaderForPartition
	}
	if origin == originClient {
		dup, isDup, code := p.producers.check(payload)
		if code != 0 {
			return appendResult{}, kerr.ErrorForCode(code)
		}
		if isDup {
			out := appendResult{FirstOffset: dup.firstOffset, LastOffset: dup.lastOffset,
				LogAppendTime: -1, LogStartOffset: p.log.LogStartOffset(), LeaderEpoch: p.leaderEpoch, Duplicate: true}
			// With flush.messages=1 the first write's sync may still be in
			// flight: the retry is answered when it is durable, not before.
			if wantDurable && p.log.DurableOffset() <= dup.lastOffset && p.log.Config().FlushMessages == 1 {
				l, last := p.log, dup.lastOffset
				out.Durable = func(then func(error)) { l.WhenDurable(last, then) }
			}
			return out, nil
		}
	}
	res, err := p.log.Append(payload, p.leaderEpoch)
	if err != nil {
		return appendResult{}, err
	}
	if res.Rolled {
		p.saveProducerSnapshot(res.FirstOffset)
	}
	p.producers.record(payload)
	if now := time.Now(); now.Sub(p.producersSwept) > time.Minute {
		p.producers.expire(now)
		p.producersSwept = now
	}
	out := appendResult{FirstOffset: res.FirstOffset, LastOffset: res.LastOffset,
		LogAppendTime: res.LogAppendTime, LogStartOffset: res.LogStartOffset, LeaderEpoch: p.leaderEpoch}
	if wantDurable && res.SyncStarted {
		l, last := p.log, res.LastOffset
		out.Durable = func(then func(error)) { l.WhenDurable(last, then) }
	}
	return out, nil
}

// appendedOnOwner takes an append's outcome on the owner shard: after a
// write, the replica learns the new log end (and decides the high
// watermark: with the leader alone in the ISR it follows the log end at
// once) and the fetches parked on p wake.
func (p *partition) appendedOnOwner(res appendResult, err error) {
	if err != nil || res.Duplicate {
		return
	}
	p.appended()
	p.wakeWaiters()
}

// appendReplicated is a follower's write path in one step, on the owner
// shard (tests; the fetcher appends off the loop with appendFollowed and
// has the shard run applyFollowed): the leader's batches, with their
// offsets and leader epochs as the leader assigned them, appended byte for
// byte (logstore's AppendAsFollower: no re-encoding, no idempotence
// check), the producer state recorded from them as on the leader, then
// the leader's high watermark (hw, capped at the local log end) taken
// through the replica.
func (p *partition) appendReplicated(payload []byte, hw int64) error {
	ok, err := p.appendFollowed(p.leaderEpoch, payload)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s-%d does not follow in epoch %d", p.topic, p.index, p.leaderEpoch)
	}
	p.applyFollowed(p.leaderEpoch, hw)
	return nil
}

// followedChunk is a run of batches a follower appended: its bytes, and
// the offset where the append rolled a segment (-1: it did not).
type followedChunk struct {
	batches  []byte
	rolledAt int64
}

// appendFollowed appends a follower's fetched batches byte for byte, on
// the fetcher's goroutine: the write (into the page cache, which costs
// what this host's first touch of a page does) leaves the shard loop
// free. It appends only while the partition follows in epoch (false:
// leadership moved on; nothing is appended), holding writeMu so that a
// change of role waits for it. What the owner shard keeps (the producer
// state, the replica's log end) is queued for applyFollowed, which the
// shard runs next, or a change of role runs first.
func (p *partition) appendFollowed(epoch int32, payload []byte) (bool, error) {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if p.followEpoch != epoch {
		return false, nil
	}
	// One append per run of batches that fits a segment (a fetch may
	// carry more than a small segment.bytes).
	limit := p.log.Config().SegmentBytes
	for rest := payload; len(rest) > 0; {
		n := 0
		for n < len(rest) {
			size := int(logstore.Batch(rest[n:]).Size())
			if n > 0 && int64(n+size) > limit {
				break
			}
			n += size
		}
		res, err := p.log.AppendAsFollower(rest[:n])
		if err != nil {
			return false, err
		}
		c := followedChunk{batches: rest[:n], rolledAt: -1}
		if res.Rolled {
			c.rolledAt = res.FirstOffset
		}
		p.followed = append(p.followed, c)
		rest = rest[n:]
	}
	return true, nil
}

// applyFollowed brings the owner shard's state up to the follower's
// appends (the producer state, snapshotted where a segment rolled, and
// the replica's log end) and takes hw, the high watermark of the leader
// of epoch, unless the partition follows in another epoch by now. Owner
// shard only.
func (p *partition) applyFollowed(epoch int32, hw int64) {
	p.writeMu.Lock()
	chunks := p.followed
	p.followed = nil
	current := p.followEpoch == epoch
	for _, c := range chunks {
		if c.rolledAt >= 0 {
			p.saveProducerSnapshot(c.rolledAt)
		}
		p.producers.record(c.batches)
	}
	p.writeMu.Unlock()
	if len(chunks) > 0 {
		p.rep.LogEnd(p.log.LogEndOffset())
	}
	if current {
		p.rep.LeaderHighWatermark(hw)
	}
	p.publishReplica()
}
