package engine

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/replica"
)

// partition is the partition unit: one partition this broker hosts, with
// its log, its producer state, its replica (which decides the high
// watermark), the fetches long-polling on it and the durable waits of its
// appends (parked on its own log: logstore.Log.WhenDurable). Every writer appends through its one write path, append
// (partition_append.go). The owner shard (Broker.owner) does every append
// and every change of the partition's data-path state, so that path takes
// no locks; reads (fetches) may run on any shard, since bytes below the
// high watermark never change.
type partition struct {
	topic   string
	index   int32
	topicID [16]byte
	log     *logstore.Log
	// ownerHash places the partition on a shard: Broker.owner maps it to
	// one of the shard runtime's shards, known only once it has loops.
	ownerHash uint32

	leaderEpoch int32 // stamped into appended batches
	// assigned is the image's registration p was last assigned (leader,
	// epochs, replicas, ISR); written before publication and then under
	// the broker's control-plane lock (Broker.reassign).
	assigned metadata.Partition

	// Owner-shard state of the data path.
	// rep decides the high watermark (replica.Machine): every change of
	// the log end goes to it and p.log's high watermark is what it says
	// (publishReplica). Made with the partition, driven on the owner shard
	// once the partition is published.
	rep            *replica.Machine
	producers      producers // idempotence: producer id -> recent batches
	producersSwept time.Time // last expiry pass over producers
	// waiters are fetches long-polling for data; an append wakes them.
	waitMu    sync.Mutex
	waiters   map[uint64]func()
	waiterSeq uint64

	proposeISR func(*partition, replica.Proposal) // partitionEnv's
	logger     *slog.Logger

	// minInsync is the topic's min.insync.replicas, set at each
	// publication, read by acks=all produces on the owner shard.
	minInsync atomic.Int32
	// writeMu guards what the goroutines that write p's log share with
	// the owner shard: the drain of its leader appends (appender.go) and
	// a follower's fetcher each hold it for an append, so a change of role
	// waits for an append in progress. Under it: whether p leads
	// (leading) or follows in an epoch (followEpoch, -1 unless this
	// replica follows), the producer state while p leads, and the
	// follower's appends whose state the shard has yet to take (followed,
	// applyFollowed).
	writeMu     sync.Mutex
	appendQ     appendQueue // leader appends waiting to be written (appender.go)
	leading     bool
	followEpoch int32
	followed    []followedChunk

	// ackWaits are the acks=all produces waiting for the high watermark,
	// by the id the replica knows them by (owner shard only).
	ackWaits  map[uint64]ackWait
	ackWaitID uint64
}

// newPartition readies a hosted partition around its open log: the owner
// shard in the shard runtime, the idempotence state rebuilt from the
// log, and its replica with the assignment reg from the image (lagTimeMax
// is replica.lag.time.max.ms). Everything that publishes a partition
// builds it here; the partition is not yet published, so no shard drives
// its replica yet.
func (b *Broker) newPartition(topic string, topicID [16]byte, index int32, l *logstore.Log,
	reg metadata.Partition, lagTimeMax time.Duration) (*partition, error) {
	return openPartition(topic, topicID, index, l, partitionEnv{self: b.nodeID, lagTimeMax: lagTimeMax,
		proposeISR: b.proposeISR, logger: b.log}, reg)
}

// partitionEnv is what a partition takes from its broker.
type partitionEnv struct {
	self       int32 // node id
	lagTimeMax time.Duration
	// proposeISR sends the replica's ISR proposals to the controller
	// (AlterPartition); nil drops them (tests without a broker).
	proposeISR func(*partition, replica.Proposal)
	logger     *slog.Logger // nil: slog.Default()
}

// openPartition builds the unit around l (newPartition; tests call it
// without a broker).
func openPartition(topic string, topicID [16]byte, index int32, l *logstore.Log, env partitionEnv,
	reg metadata.Partition) (*partition, error) {
	ps, err := rebuildProducers(l)
	if err != nil {
		return nil, fmt.Errorf("rebuild producer state of %s-%d: %w", topic, index, err)
	}
	rep := replica.New(replica.Config{ID: env.self, LagTimeMax: env.lagTimeMax},
		replica.Log{Start: l.LogStartOffset(), End: l.LogEndOffset(), HighWatermark: l.HighWatermark()})
	p := &partition{topic: topic, index: index, topicID: topicID, log: l,
		ownerHash: partitionHash(topic, index), leaderEpoch: reg.LeaderEpoch, rep: rep, producers: ps,
		proposeISR: env.proposeISR, logger: env.logger}
	if p.logger == nil {
		p.logger = slog.Default()
	}
	p.assigned = reg
	p.assign(env.self, reg)
	return p, nil
}

// assign gives p's replica its assignment from the image and publishes the
// high watermark it decides. A node that leads with itself the whole ISR
// has everything in its log committed, so the high watermark moves to the
// log end, as Kafka's leader does when its ISR is just itself (the
// checkpointed one lags after a crash). One node leads every partition it
// hosts; the follower branch is for the cluster.
func (p *partition) assign(self int32, reg metadata.Partition) {
	// The follower's appends so far are taken first, and none comes in
	// while the role changes (a new leader's producer state holds every
	// batch it appended as a follower).
	p.applyFollowed(-1, 0) // epoch -1: no leader's high watermark to take
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if p.rep.Role() == replica.Leader {
		// Appends a drain wrote whose outcomes the shard has yet to
		// take: the replica leaves its role knowing the log's end.
		p.rep.LogEnd(p.log.LogEndOffset())
	}
	p.followEpoch = -1
	if reg.Leader != self {
		p.followEpoch = reg.LeaderEpoch
	}
	p.leading = reg.Leader == self
	p.leaderEpoch = reg.LeaderEpoch
	a := replica.Assignment{Leader: reg.Leader, LeaderEpoch: reg.LeaderEpoch,
		PartitionEpoch: reg.PartitionEpoch, Replicas: reg.Replicas, ISR: reg.ISR}
	if reg.Leader == self {
		p.rep.BecomeLeader(a, time.Now())
	} else {
		p.rep.BecomeFollower(a, time.Now())
	}
	p.publishReplica()
}

// appended tells p's replica the log end after an append (written, not yet
// durable: acks=1 semantics, as before the machine) and publishes the high
// watermark it decides. Owner shard only.
func (p *partition) appended() {
	p.rep.LogEnd(p.log.LogEndOffset())
	p.publishReplica()
}

// deleteRecords moves the log start offset up to off (-1: the high
// watermark) and tells the replica; it answers the new start. Owner shard
// only.
func (p *partition) deleteRecords(off int64) (int64, error) {
	low, err := p.log.DeleteRecords(off)
	if err != nil {
		return low, err
	}
	// Never past the high watermark, so the replica's high watermark
	// stays; it learns the new start.
	p.rep.LogStart(low)
	p.publishReplica()
	return low, nil
}

// publishReplica carries out what p's replica decided: an ISR proposal
// goes to the controller (AlterPartition), the high watermark to the log,
// which serves reads and retention from it, and the consumers waiting
// for it are woken; the acks=all produces the replica released are
// answered.
func (p *partition) publishReplica() {
	if !p.rep.HasReady() {
		return
	}
	rd := p.rep.Ready()
	if rd.Proposal != nil && p.proposeISR != nil {
		p.proposeISR(p, *rd.Proposal)
	}
	for _, rel := range rd.Released {
		if w, ok := p.ackWaits[rel.ID]; ok {
			delete(p.ackWaits, rel.ID)
			if w.timer != nil {
				w.timer.Stop()
			}
			w.release(int16(rel.Code))
		}
	}
	if rd.HighWatermarkChanged {
		p.log.SetHighWatermark(rd.HighWatermark)
		// Consumers read to the high watermark: one that moved without an
		// append (a follower caught up) has news for them.
		p.wakeWaiters()
	}
	p.rep.Advance(rd)
}
