package controller

import (
	"slices"
	"strconv"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore/metalog"
)

// noBroker stands for "no broker" in leaderChanges, as Kafka's NO_LEADER.
const noBroker int32 = -1

// leaderChanges is Kafka's generateLeaderAndIsrUpdates at metadata.version
// 3.3-IV3 (no eligible leader replicas): for each partition that parts
// selects, the PartitionChangeRecord that takes remove out of the ISR and
// leadership and lets add lead (even while im still shows it fenced), or
// none when nothing changes. Partitions go by topic name, then index.
//
// The election (Kafka's PartitionChangeBuilder.electAnyLeader): the leader
// stays when it is still in the ISR and may lead; else the first replica
// (in replica order) in the new ISR that may lead; else, with
// unclean.leader.election.enable for the topic, the first replica that
// may lead, whose ISR becomes itself alone and whose leader recovery
// state RECOVERING; else no leader (-1). A broker may lead when it is not
// remove and is add or active (registered, unfenced, not shutting down).
// An ISR that would be empty is left as it is: the last member stays
// until it comes back. A change that shrinks the ISR and keeps the leader
// names the leader again, so its epoch is bumped (KAFKA-15021, needed
// before metadata.version 3.6).
func leaderChanges(im *metadata.Image, broker *config.Config, remove, add int32,
	parts func(p *metadata.Partition) bool) []metadata.Record {
	canLead := func(id int32) bool {
		if id == remove || id < 0 {
			return false
		}
		if id == add {
			return true
		}
		b, ok := im.Broker(id)
		return ok && b.Active()
	}
	var recs []metadata.Record
	for _, t := range im.Topics() {
		unclean := uncleanElection(broker, t)
		for i := range t.Partitions {
			p := &t.Partitions[i]
			if !parts(p) {
				continue
			}
			if rec, changed := partitionChange(t.ID, int32(i), p, remove, canLead, unclean); changed {
				recs = append(recs, rec)
			}
		}
	}
	return recs
}

// partitionChange builds one partition's change (see leaderChanges).
func partitionChange(topicID [16]byte, index int32, p *metadata.Partition, remove int32,
	canLead func(int32) bool, unclean bool) (metadata.PartitionChangeRecord, bool) {
	rec := metadata.PartitionChangeRecord{TopicID: topicID, Partition: index,
		Leader: metalog.LeaderUnchanged, LeaderRecoveryState: metalog.RecoveryStateUnchanged}
	isr := slices.DeleteFunc(slices.Clone(p.ISR), func(id int32) bool { return id == remove })
	leader, uncleanElected := p.Leader, false
	if !slices.Contains(isr, p.Leader) || !canLead(p.Leader) {
		inISR := func(id int32) bool { return slices.Contains(isr, id) && canLead(id) }
		leader = noBroker
		if i := slices.IndexFunc(p.Replicas, inISR); i >= 0 {
			leader = p.Replicas[i]
		} else if i := slices.IndexFunc(p.Replicas, canLead); unclean && i >= 0 {
			leader, uncleanElected = p.Replicas[i], true
		}
	}
	if leader != p.Leader {
		rec.Leader = leader
		if uncleanElected {
			rec.ISR = []int32{leader}
			if p.LeaderRecoveryState != metalog.RecoveringLeader {
				rec.LeaderRecoveryState = metalog.RecoveringLeader
			}
		}
	}
	if rec.ISR == nil && len(isr) > 0 && !slices.Equal(isr, p.ISR) {
		rec.ISR = isr
	}
	if rec.Leader == metalog.LeaderUnchanged && rec.ISR != nil && !containsAll(rec.ISR, p.ISR) {
		rec.Leader = p.Leader
	}
	changed := rec.Leader != metalog.LeaderUnchanged || rec.ISR != nil ||
		rec.LeaderRecoveryState != metalog.RecoveryStateUnchanged
	return rec, changed
}

func containsAll(s, sub []int32) bool {
	for _, id := range sub {
		if !slices.Contains(s, id) {
			return false
		}
	}
	return true
}

// uncleanElection is the topic's unclean.leader.election.enable: its own
// value, else the broker's.
func uncleanElection(broker *config.Config, t *metadata.Topic) bool {
	if v, ok := t.Configs["unclean.leader.election.enable"]; ok {
		b, err := strconv.ParseBool(v)
		return err == nil && b
	}
	return broker.Bool("unclean.leader.election.enable")
}
