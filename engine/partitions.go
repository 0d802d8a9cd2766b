package engine

import (
	"hash/fnv"
	"sync"

	"github.com/weirmq/weir/logstore"
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
	owner   int // shard index on the data-plane server

	leaderEpoch int32 // stamped into appended batches

	// Owner-shard state of the data path.
	producers producers // idempotence: producer id -> recent batches
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

// ownerShard places a partition on a shard: a stable hash of topic and
// partition, so a partition keeps its owner across restarts.
func ownerShard(topic string, index int32, shards int) int {
	h := fnv.New32a()
	h.Write([]byte(topic))
	return int((h.Sum32() + uint32(index)) % uint32(shards))
}
