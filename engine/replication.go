package engine

import (
	"fmt"
	"time"

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

// followerFetched tells p's replica machine, on p's owner shard, that
// replica fetched from offset in leader epoch epoch (-1: none given).
func (b *Broker) followerFetched(p *partition, replicaID int32, offset int64, epoch int32) {
	now := time.Now()
	b.shards.Run(b.owner(p), func() {
		p.rep.Fetch(replica.Fetch{Replica: replicaID, Offset: offset, CurrentLeaderEpoch: epoch,
			LastFetchedEpoch: -1, Now: now})
		p.publishReplica()
	})
}

// truncateForLeader truncates a follower's log after the leader answered
// OffsetForLeaderEpoch with epoch and end for the follower's latest epoch,
// as the replica decides (Kafka's rules: never by the high watermark
// alone while the leader knows epochs), and rebuilds the producer state
// when records went. current is the leader epoch the follower follows in.
// done is false when the follower must ask again (KIP-279). Owner shard
// only.
func (p *partition) truncateForLeader(current, epoch int32, end int64) (done bool, err error) {
	le, lo := p.log.EndOffsetForEpoch(epoch)
	t, code := p.rep.TruncateTo(current, replica.EpochEnd{Epoch: epoch, EndOffset: end},
		replica.EpochEnd{Epoch: le, EndOffset: lo})
	if code != replica.None {
		return false, fmt.Errorf("truncation of %s-%d refused: %v", p.topic, p.index, code)
	}
	if t.Offset < p.log.LogEndOffset() {
		if err := p.log.TruncateTo(t.Offset); err != nil {
			return false, err
		}
		ps, err := rebuildProducers(p.log)
		if err != nil {
			return false, err
		}
		p.producers = ps
	}
	p.publishReplica()
	return t.Done, nil
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
