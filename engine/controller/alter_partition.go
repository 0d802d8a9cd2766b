package controller

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore/metalog"
)

// ISRChange is one partition of an AlterPartition request (API 56,
// KIP-497): the leader's proposed ISR, based on the leader and partition
// epochs it has.
type ISRChange struct {
	TopicID        [16]byte
	Partition      int32
	LeaderEpoch    int32
	PartitionEpoch int32
	ISR            []int32
	// ISREpochs are the ISR members' broker epochs (v3+), -1 each when the
	// request carries none.
	ISREpochs []int64
}

// ISRResult is the answer for one partition: an error code, or the
// partition as committed (the change applied, or as it was when nothing
// changed).
type ISRResult struct {
	Code      int16
	Partition metadata.Partition
}

// PlanAlterPartition decides a leader's ISR changes as Kafka's
// ReplicationControlManager.alterPartition does. The request's broker must
// be registered with that epoch (STALE_BROKER_EPOCH for the whole
// request, returned as refused). Per partition:
//   - unknown topic id or partition: UNKNOWN_TOPIC_ID /
//     UNKNOWN_TOPIC_OR_PARTITION;
//   - the requester does not lead it: NOT_LEADER_OR_FOLLOWER;
//   - another leader epoch: FENCED_LEADER_EPOCH;
//   - another partition epoch: INVALID_UPDATE_VERSION;
//   - an ISR without the leader, with a broker not among the replicas, or
//     twice: INVALID_REQUEST;
//   - a member that may not join (not registered, fenced, in controlled
//     shutdown, or of another broker epoch than the request says):
//     INELIGIBLE_REPLICA;
//   - else a PartitionChangeRecord with the new ISR (the leader and its
//     epoch unchanged; the partition epoch moves), none when the ISR is
//     the same; and when a reassignment's whole target is then in the
//     ISR, the record that completes it (CompleteReassignment).
//
// results holds the answer per change, in order; recs the records to
// commit as one change.
func PlanAlterPartition(im *metadata.Image, brokerID int32, brokerEpoch int64, changes []ISRChange) (
	recs []metadata.Record, results []ISRResult, refused *Refusal) {
	if b, ok := im.Broker(brokerID); !ok || b.Epoch != brokerEpoch {
		return nil, nil, RefuseDefault(kerr.StaleBrokerEpoch)
	}
	results = make([]ISRResult, len(changes))
	for i, c := range changes {
		t, ok := im.TopicByID(c.TopicID)
		if !ok {
			results[i].Code = kerr.UnknownTopicID.Code
			continue
		}
		if c.Partition < 0 || int(c.Partition) >= len(t.Partitions) {
			results[i].Code = kerr.UnknownTopicOrPartition.Code
			continue
		}
		p := t.Partitions[c.Partition]
		results[i].Partition = p
		if code := checkISRChange(im, brokerID, p, c); code != 0 {
			results[i].Code = code
			continue
		}
		if slices.Equal(c.ISR, p.ISR) {
			continue
		}
		rec := metadata.PartitionChangeRecord{TopicID: c.TopicID, Partition: c.Partition,
			Leader: metalog.LeaderUnchanged, LeaderRecoveryState: metalog.RecoveryStateUnchanged,
			ISR: slices.Clone(c.ISR)}
		recs = append(recs, rec)
		next := p
		next.ISR = slices.Clone(c.ISR)
		next.PartitionEpoch++
		// A reassignment whose whole target is in the ISR now completes.
		if done, ok := CompleteReassignment(im, c.TopicID, c.Partition, next, next.ISR); ok {
			recs = append(recs, done)
		}
	}
	if len(recs) > 0 {
		// Each partition answered as the change leaves it.
		after, err := im.Apply(recs...)
		if err != nil {
			panic("controller: AlterPartition records that do not apply: " + err.Error())
		}
		for i, c := range changes {
			if results[i].Code != 0 {
				continue
			}
			if t, ok := after.TopicByID(c.TopicID); ok {
				results[i].Partition = t.Partitions[c.Partition]
			}
		}
	}
	return recs, results, nil
}

func checkISRChange(im *metadata.Image, brokerID int32, p metadata.Partition, c ISRChange) int16 {
	switch {
	case p.Leader != brokerID:
		return kerr.NotLeaderForPartition.Code
	case c.LeaderEpoch != p.LeaderEpoch:
		return kerr.FencedLeaderEpoch.Code
	case c.PartitionEpoch != p.PartitionEpoch:
		return kerr.InvalidUpdateVersion.Code
	case !slices.Contains(c.ISR, p.Leader):
		return kerr.InvalidRequest.Code
	}
	seen := map[int32]bool{}
	for j, id := range c.ISR {
		if seen[id] || !slices.Contains(p.Replicas, id) {
			return kerr.InvalidRequest.Code
		}
		seen[id] = true
		if slices.Contains(p.ISR, id) {
			continue // a member staying needs no check
		}
		b, ok := im.Broker(id)
		if !ok || !b.Active() || j < len(c.ISREpochs) && c.ISREpochs[j] >= 0 && c.ISREpochs[j] != b.Epoch {
			return kerr.IneligibleReplica.Code
		}
	}
	return 0
}
