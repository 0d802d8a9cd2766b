package engine

import "hash/fnv"

// The table of hosted partitions and the shard that owns each; the
// partition unit itself is partition.go.

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

// partitionHash is a stable hash of topic and partition, so a partition
// keeps its owner across restarts with the same shard count.
func partitionHash(topic string, index int32) uint32 {
	h := fnv.New32a()
	h.Write([]byte(topic))
	return h.Sum32() + uint32(index)
}

// owner is the shard that does p's appends.
func (b *Broker) owner(p *partition) int {
	return b.shards.Owner(p.ownerHash)
}
