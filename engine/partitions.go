package engine

import (
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/replica"
)

// partition is one partition this broker hosts: its log and the shard that
// owns it. The owner shard does every append and every change of the
// partition's data-path state, so that path takes no locks; reads
// (fetches) may run on any shard, since bytes below the high watermark
// never change.
type partition struct {
	topic   string
	index   int32
	topicID [16]byte
	log     *logstore.Log
	// ownerHash places the partition on a shard: Broker.owner maps it to
	// one of the data-plane server's shards, known only once it started.
	ownerHash uint32

	leaderEpoch int32 // stamped into appended batches

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
}

type partitionKey struct {
	topic string
	index int32
}

// partitionTable maps partitions to their state. It is immutable once
// published: topic changes build a new table and swap it in
// (Broker.parts), so handlers look partitions up without locks.
type partitionTable struct {
	byName map[partitionKey]*partition
	byID   map[[16]byte]string // topic id -> topic name
}

func newPartitionTable() *partitionTable {
	return &partitionTable{byName: map[partitionKey]*partition{}, byID: map[[16]byte]string{}}
}

// clone copies the table for a change; partitions are shared, not copied.
func (t *partitionTable) clone() *partitionTable {
	n := newPartitionTable()
	for k, p := range t.byName {
		n.byName[k] = p
	}
	for id, name := range t.byID {
		n.byID[id] = name
	}
	return n
}

// lookupPartition finds a hosted partition, or nil.
func (b *Broker) lookupPartition(topic string, index int32) *partition {
	return b.parts.Load().byName[partitionKey{topic, index}]
}

// topicNameByID resolves a topic id (Fetch v13+, Metadata v10+), or "".
func (b *Broker) topicNameByID(id [16]byte) string {
	return b.parts.Load().byID[id]
}

// partitionHash is a stable hash of topic and partition, so a partition
// keeps its owner across restarts with the same shard count.
func partitionHash(topic string, index int32) uint32 {
	h := fnv.New32a()
	h.Write([]byte(topic))
	return h.Sum32() + uint32(index)
}

// owner is the shard that does p's appends.
func (b *Broker) owner(p *partition) int {
	return int(p.ownerHash % uint32(b.data.Shards()))
}

// newPartition readies a hosted partition around its open log: the owner
// shard on the data-plane server, the idempotence state rebuilt from the
// log, and its replica with the assignment reg from the image (lagTimeMax
// is replica.lag.time.max.ms). Everything that publishes a partition
// builds it here; the partition is not yet published, so no shard drives
// its replica yet.
func (b *Broker) newPartition(topic string, topicID [16]byte, index int32, l *logstore.Log,
	reg metadata.Partition, lagTimeMax time.Duration) (*partition, error) {
	ps, err := rebuildProducers(l)
	if err != nil {
		return nil, fmt.Errorf("rebuild producer state of %s-%d: %w", topic, index, err)
	}
	rep := replica.New(replica.Config{ID: b.nodeID, LagTimeMax: lagTimeMax},
		replica.Log{Start: l.LogStartOffset(), End: l.LogEndOffset(), HighWatermark: l.HighWatermark()})
	p := &partition{topic: topic, index: index, topicID: topicID, log: l,
		ownerHash: partitionHash(topic, index), leaderEpoch: reg.LeaderEpoch, rep: rep, producers: ps}
	p.assign(b.nodeID, reg)
	return p, nil
}

// assign gives p's replica its assignment from the image and publishes the
// high watermark it decides. A node that leads with itself the whole ISR
// has everything in its log committed, so the high watermark moves to the
// log end, as Kafka's leader does when its ISR is just itself (the
// checkpointed one lags after a crash). One node leads every partition it
// hosts; the follower branch is for the cluster.
func (p *partition) assign(self int32, reg metadata.Partition) {
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

// publishReplica carries out what p's replica decided: the high watermark
// goes to the log, which serves reads and retention from it. A single node
// has no followers, so no ISR proposal; acks=all produces do not wait on
// the machine yet (they are answered after the append, or after the sync
// flush.messages started), so nothing is released.
func (p *partition) publishReplica() {
	if !p.rep.HasReady() {
		return
	}
	rd := p.rep.Ready()
	if rd.HighWatermarkChanged {
		p.log.SetHighWatermark(rd.HighWatermark)
	}
	p.rep.Advance(rd)
}
