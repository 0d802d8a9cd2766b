package engine

import (
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/replica"
)

// Replication, the leader's side: a follower fetches the partitions it
// follows with Fetch, naming itself as the replica (ReplicaId before v15,
// ReplicaState from v15). It reads to the leader's log end rather than the
// high watermark, and each fetch offset is the follower's log end: the
// leader's replica machine (package replica) learns it on the partition's
// owner shard, where it may move the high watermark (the minimum log end
// over the ISR) and wake the consumers waiting for it.
//
// The follower's side is fetcher.go.

// fetchReplica is the broker id a Fetch names as its replica, -1 for a
// consumer.
func fetchReplica(req *kmsg.FetchRequest) int32 {
	if req.Version >= 15 {
		return req.ReplicaState.ID
	}
	return req.ReplicaID
}

// replicaPosition is a follower's fetch offset for one partition, in the
// leader epoch its fetch named (-1: none).
type replicaPosition struct {
	p      *partition
	offset int64
	epoch  int32
}

// followerFetched tells the replica machines of the partitions a
// follower's fetch read where its log ends, on their owner shards: one
// post per shard, however many partitions.
func (b *Broker) followerFetched(replicaID int32, seen []replicaPosition) {
	now := time.Now()
	for len(seen) > 0 {
		shard := b.owner(seen[0].p)
		var mine []replicaPosition
		rest := seen[:0:0]
		for _, s := range seen {
			if b.owner(s.p) == shard {
				mine = append(mine, s)
			} else {
				rest = append(rest, s)
			}
		}
		seen = rest
		b.shards.Run(shard, func() {
			for _, s := range mine {
				if s.p.rep.Role() == replica.Leader {
					// A drain may have written past what the replica
					// has taken yet, and the follower read it.
					s.p.rep.LogEnd(s.p.log.LogEndOffset())
				}
				s.p.rep.Fetch(replica.Fetch{Replica: replicaID, Offset: s.offset, CurrentLeaderEpoch: s.epoch,
					LastFetchedEpoch: -1, Now: now})
				s.p.publishReplica()
			}
		})
	}
}

// truncateForLeader truncates a follower's log after the leader answered
// epoch and end for the follower's latest epoch (DivergingEpoch),
// as the replica decides (Kafka's rules: never by the high watermark
// alone while the leader knows epochs), and rebuilds the producer state
// when records went. current is the leader epoch the follower follows in.
// When the answer was for an epoch the follower does not have, it
// truncates to its own end of the epoch below, and its next fetch names
// that epoch and is answered again (KIP-279). Owner shard only.
func (p *partition) truncateForLeader(current, epoch int32, end int64) error {
	le, lo := p.log.EndOffsetForEpoch(epoch)
	t, code := p.rep.TruncateTo(current, replica.EpochEnd{Epoch: epoch, EndOffset: end},
		replica.EpochEnd{Epoch: le, EndOffset: lo})
	if code != replica.None {
		// The partition moved on (another epoch or role) since the fetch
		// was sent: the next fetch, in the new epoch, decides again.
		return nil
	}
	if end := p.log.LogEndOffset(); t.Offset < end {
		// Below the high watermark the records were committed: only an
		// unclean election takes them back.
		if hw := p.log.HighWatermark(); t.Offset < hw {
			p.logger.Warn("truncating committed records: an unclean leader election lost them",
				"partition", fmt.Sprintf("%s-%d", p.topic, p.index), "from_offset", t.Offset, "to_offset", end,
				"high_watermark", hw, "leader_epoch", current)
		} else {
			p.logger.Info("truncating records the new leader does not have",
				"partition", fmt.Sprintf("%s-%d", p.topic, p.index), "from_offset", t.Offset, "to_offset", end,
				"leader_epoch", current)
		}
		if err := p.log.TruncateTo(t.Offset); err != nil {
			return err
		}
		ps, err := rebuildProducers(p.log)
		if err != nil {
			return err
		}
		p.producers = ps
	}
	p.publishReplica()
	return nil
}

// replicaTick is how often a leader's replicas look at their followers'
// lag (replica.lag.time.max.ms, 30 s by default, is checked to within it).
const replicaTick = 500 * time.Millisecond

// tickReplicas ticks the replica of every partition this node leads with
// followers, on its owner shard: a follower behind for longer than
// replica.lag.time.max.ms is proposed out of the ISR. It skips a round
// while the control plane is busy rather than wait for it.
func (b *Broker) tickReplicas(now time.Time) {
	if !b.ctl.mu.TryLock() {
		return
	}
	var led []*partition
	for _, p := range b.parts.Load().byName {
		if p.assigned.Leader == b.nodeID && len(p.assigned.Replicas) > 1 {
			led = append(led, p)
		}
	}
	b.ctl.mu.Unlock()
	for _, p := range led {
		b.shards.Run(b.owner(p), func() {
			p.rep.Tick(now)
			p.publishReplica()
		})
	}
}

// ackWait is an acks=all produce waiting on its partition's owner shard
// for the high watermark to pass its last offset (replica.Machine.Wait),
// or for its request timeout.
type ackWait struct {
	release func(code int16) // 0, NOT_ENOUGH_REPLICAS_AFTER_APPEND, NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT
	timer   interface{ Stop() bool }
}

// ackFuture is an acks=all produce's answer: done once released, then
// running the fan-in's continuation, whichever comes first.
type ackFuture struct {
	mu   sync.Mutex
	done bool
	then func()
}

func (f *ackFuture) fire() {
	f.mu.Lock()
	then := f.then
	f.done, f.then = true, nil
	f.mu.Unlock()
	if then != nil {
		then()
	}
}

func (f *ackFuture) wait(then func()) {
	f.mu.Lock()
	if !f.done {
		f.then = then
		f.mu.Unlock()
		return
	}
	f.mu.Unlock()
	then()
}

// waitReplicated parks an acks=all produce whose last offset is last until
// the ISR has it (the high watermark passes it): Kafka's produce
// purgatory. It answers into code: NOT_ENOUGH_REPLICAS_AFTER_APPEND when
// the ISR fell below min.insync.replicas meanwhile, NOT_LEADER_OR_FOLLOWER
// when leadership went, REQUEST_TIMED_OUT after timeout. Owner shard only;
// the returned wait may be called from anywhere. It returns nil when there
// is nothing to wait for: the high watermark already passed last (an ISR
// of this replica alone moved it with the append, and Accept checked
// min.insync.replicas just before), the common case of one node, which
// then costs what acks=1 does.
func (b *Broker) waitReplicated(p *partition, last int64, timeout time.Duration, code *int16) func(then func()) {
	if p.log.HighWatermark() > last {
		return nil
	}
	f := &ackFuture{}
	p.ackWaitID++
	id := p.ackWaitID
	if p.ackWaits == nil {
		p.ackWaits = map[uint64]ackWait{}
	}
	w := ackWait{release: func(c int16) {
		if c != 0 {
			*code = c
		}
		f.fire()
	}}
	if c := p.rep.Wait(id, last, int(p.minInsync.Load())); c != replica.None {
		w.release(int16(c))
		return f.wait
	}
	p.ackWaits[id] = w
	p.publishReplica() // released now when the ISR is this replica alone
	if _, waiting := p.ackWaits[id]; waiting {
		w.timer = b.shards.AfterFunc(b.owner(p), timeout, func() {
			if w, ok := p.ackWaits[id]; ok {
				delete(p.ackWaits, id)
				w.release(kerr.RequestTimedOut.Code)
			}
		})
		p.ackWaits[id] = w
	}
	return f.wait
}

// followLeaderRange brings a follower's log into the leader's [start, end)
// after an out-of-range fetch: truncated to end when it is past it,
// emptied and restarted at start when it is below it. Owner shard only.
func (p *partition) followLeaderRange(start, end int64) error {
	name := fmt.Sprintf("%s-%d", p.topic, p.index)
	switch leo := p.log.LogEndOffset(); {
	case leo > end:
		if hw := p.log.HighWatermark(); end < hw {
			p.logger.Warn("truncating committed records: an unclean leader election lost them",
				"partition", name, "from_offset", end, "to_offset", leo, "high_watermark", hw)
		} else {
			p.logger.Info("truncating records the leader does not have", "partition", name,
				"from_offset", end, "to_offset", leo)
		}
		if err := p.log.TruncateTo(end); err != nil {
			return err
		}
	case leo < start:
		p.logger.Info("the leader's log starts past this follower's end: starting over there",
			"partition", name, "log_end_offset", leo, "leader_log_start", start)
		if err := p.log.TruncateFullyAndStartAt(start); err != nil {
			return err
		}
	default:
		return nil
	}
	ps, err := rebuildProducers(p.log)
	if err != nil {
		return err
	}
	p.producers = ps
	p.rep.LogStart(p.log.LogStartOffset())
	p.rep.LogEnd(p.log.LogEndOffset())
	p.publishReplica()
	return nil
}
