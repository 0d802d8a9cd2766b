package controller

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore/metalog"
)

// Reassignment is one partition of an AlterPartitionReassignments request
// (API 45, KIP-455): its target replicas, or nil to cancel the
// reassignment in progress.
type Reassignment struct {
	Topic     string
	Partition int32
	Replicas  []int32
}

// PlanReassignments decides AlterPartitionReassignments as Kafka's
// ReplicationControlManager does, one answer per request entry:
//   - an unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION;
//   - a cancel with nothing in progress: NO_REASSIGNMENT_IN_PROGRESS;
//     else the partition goes back to its replicas before it began (those
//     being added leave, the ISR keeps only the original replicas);
//   - a target with no replica, a replica twice, or a broker that is not
//     registered: INVALID_REPLICA_ASSIGNMENT;
//   - else, from the replicas before any reassignment in progress (which
//     the new one replaces): Replicas becomes the target followed by the
//     replicas leaving, AddingReplicas the target's new ones,
//     RemovingReplicas the ones leaving. The new replicas follow the
//     leader and join the ISR as they catch up; once the whole target is
//     in the ISR the reassignment completes (CompleteReassignment, from
//     AlterPartition). A target with nothing to add completes at once.
//
// A leader that is not among the replicas left is replaced by the first
// of them in the ISR, its epoch bumped. recs are the change's records.
func PlanReassignments(im *metadata.Image, reqs []Reassignment) (recs []metadata.Record, codes []*Refusal) {
	codes = make([]*Refusal, len(reqs))
	for i, r := range reqs {
		t, ok := im.Topic(r.Topic)
		if !ok || r.Partition < 0 || int(r.Partition) >= len(t.Partitions) {
			codes[i] = RefuseDefault(kerr.UnknownTopicOrPartition)
			continue
		}
		p := t.Partitions[r.Partition]
		original := slices.DeleteFunc(slices.Clone(p.Replicas), func(id int32) bool {
			return slices.Contains(p.AddingReplicas, id)
		})
		if r.Replicas == nil {
			if len(p.AddingReplicas) == 0 && len(p.RemovingReplicas) == 0 {
				codes[i] = RefuseDefault(kerr.NoReassignmentInProgress)
				continue
			}
			recs = append(recs, settle(im, t.ID, r.Partition, p, original, p.ISR))
			continue
		}
		if refusal := checkTarget(im, r.Replicas); refusal != nil {
			codes[i] = refusal
			continue
		}
		adding := slices.DeleteFunc(slices.Clone(r.Replicas), func(id int32) bool { return slices.Contains(original, id) })
		removing := slices.DeleteFunc(slices.Clone(original), func(id int32) bool { return slices.Contains(r.Replicas, id) })
		if len(adding) == 0 {
			if slices.Equal(r.Replicas, p.Replicas) && len(p.RemovingReplicas) == 0 {
				continue // already so
			}
			recs = append(recs, settle(im, t.ID, r.Partition, p, r.Replicas, p.ISR))
			continue
		}
		rec := metadata.PartitionChangeRecord{TopicID: t.ID, Partition: r.Partition,
			Leader: metalog.LeaderUnchanged, LeaderRecoveryState: metalog.RecoveryStateUnchanged,
			Replicas: append(slices.Clone(r.Replicas), removing...), AddingReplicas: adding,
			RemovingReplicas: removing}
		if rec.RemovingReplicas == nil {
			rec.RemovingReplicas = []int32{}
		}
		// A reassignment replaced mid-way: replicas it was adding that
		// the new one does not keep leave the ISR.
		if isr := slices.DeleteFunc(slices.Clone(p.ISR), func(id int32) bool {
			return !slices.Contains(rec.Replicas, id)
		}); len(isr) != len(p.ISR) && len(isr) > 0 {
			rec.ISR = isr
		}
		recs = append(recs, rec)
	}
	return recs, codes
}

// checkTarget refuses a reassignment target as Kafka does.
func checkTarget(im *metadata.Image, replicas []int32) *Refusal {
	if len(replicas) == 0 {
		return Refuse(kerr.InvalidReplicaAssignment, "The manual partition assignment includes an empty replica list.")
	}
	seen := map[int32]bool{}
	for _, id := range replicas {
		if seen[id] {
			return Refuse(kerr.InvalidReplicaAssignment, "The manual partition assignment includes the broker %d more than once.", id)
		}
		seen[id] = true
		if _, ok := im.Broker(id); !ok {
			return Refuse(kerr.InvalidReplicaAssignment, "The manual partition assignment includes broker %d, but no such broker is registered.", id)
		}
	}
	return nil
}

// settle is the record that leaves partition idx with replicas and no
// reassignment: the ISR cut to them (kept whole when that empties it), and
// a new leader from them when the leader is not one.
func settle(im *metadata.Image, topicID [16]byte, idx int32, p metadata.Partition, replicas, isr []int32) metadata.PartitionChangeRecord {
	rec := metadata.PartitionChangeRecord{TopicID: topicID, Partition: idx,
		Leader: metalog.LeaderUnchanged, LeaderRecoveryState: metalog.RecoveryStateUnchanged,
		Replicas: slices.Clone(replicas), AddingReplicas: []int32{}, RemovingReplicas: []int32{}}
	kept := slices.DeleteFunc(slices.Clone(isr), func(id int32) bool { return !slices.Contains(replicas, id) })
	if len(kept) > 0 && !slices.Equal(kept, p.ISR) {
		rec.ISR = kept
	}
	if !slices.Contains(replicas, p.Leader) {
		rec.Leader = noBroker
		for _, id := range replicas {
			if b, ok := im.Broker(id); ok && b.Active() && slices.Contains(kept, id) {
				rec.Leader = id
				break
			}
		}
	}
	return rec
}

// CompleteReassignment is the record that completes partition idx's
// reassignment once its whole target is in isr (the ISR as the change
// being planned leaves it), or false when it is not complete.
func CompleteReassignment(im *metadata.Image, topicID [16]byte, idx int32, p metadata.Partition,
	isr []int32) (metadata.PartitionChangeRecord, bool) {
	if len(p.AddingReplicas) == 0 && len(p.RemovingReplicas) == 0 {
		return metadata.PartitionChangeRecord{}, false
	}
	target := slices.DeleteFunc(slices.Clone(p.Replicas), func(id int32) bool {
		return slices.Contains(p.RemovingReplicas, id)
	})
	for _, id := range target {
		if !slices.Contains(isr, id) {
			return metadata.PartitionChangeRecord{}, false
		}
	}
	next := p
	next.ISR = isr
	return settle(im, topicID, idx, next, target, isr), true
}
