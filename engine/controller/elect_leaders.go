package controller

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore/metalog"
)

// Election types of ElectLeaders (KIP-460), Kafka's ElectionType.
const (
	ElectPreferred int8 = 0
	ElectUnclean   int8 = 1
)

// ElectionTopic is a topic's partitions an ElectLeaders request names.
type ElectionTopic struct {
	Topic      string
	Partitions []int32
}

// ElectedTopic is a topic's answer: one per partition, in the order
// asked.
type ElectedTopic struct {
	Topic      string
	Partitions []Elected
}

// Elected is one partition's answer: nil Refusal when a change was made.
type Elected struct {
	Partition int32
	Refusal   *Refusal
}

// PlanElectLeaders is Kafka's ReplicationControlManager.electLeaders:
// elections of the kind electionType for the partitions of topics (nil:
// every partition of every topic), the records that make them and each
// partition's answer. A refusal of the whole request (an unknown election
// type, more changes than MaxRecordsPerChange) is the request's answer,
// for every partition named. Per partition:
//   - an unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION;
//   - preferred: ELECTION_NOT_NEEDED when the first replica leads; else
//     it is elected when it is in the ISR and active (registered,
//     unfenced, not shutting down); else the leader stays when it is in
//     the ISR and active (PREFERRED_LEADER_NOT_AVAILABLE); else, as
//     Kafka's PartitionChangeBuilder does, the first other replica in the
//     ISR that is active, or no leader; no change at all is
//     PREFERRED_LEADER_NOT_AVAILABLE;
//   - unclean: ELECTION_NOT_NEEDED when the partition has a leader; else
//     the first replica in the ISR that is active, else the first active
//     replica, whose ISR becomes itself alone and its leader recovery
//     state RECOVERING (unclean.leader.election.enable does not matter:
//     the request asks for it); none: ELIGIBLE_LEADERS_NOT_AVAILABLE.
//
// With topics nil every topic is answered, by name, leaving out its
// partitions that needed no election (a topic may have none left). A
// partition named twice is elected once; each naming gets that answer
// (Kafka would write the change twice). An elected leader gets a new
// leader epoch: its PartitionChangeRecord names it.
func PlanElectLeaders(im *metadata.Image, electionType int8,
	topics []ElectionTopic) ([]metadata.Record, []ElectedTopic, *Refusal) {
	if electionType != ElectPreferred && electionType != ElectUnclean {
		return nil, nil, Refuse(kerr.InvalidRequest, "Unknown election type %d", electionType)
	}
	canLead := activeBroker(im)
	var recs []metadata.Record
	done := map[partitionKey]*Refusal{}
	elect := func(name string, index int32) *Refusal {
		key := partitionKey{name, index}
		if r, ok := done[key]; ok {
			return r
		}
		rec, r := electLeader(im, name, index, electionType, canLead)
		if rec != nil {
			recs = append(recs, *rec)
		}
		done[key] = r
		return r
	}
	var out []ElectedTopic
	if topics == nil {
		for _, t := range im.Topics() {
			et := ElectedTopic{Topic: t.Name}
			for i := range t.Partitions {
				r := elect(t.Name, int32(i))
				if r == nil || r.Code != kerr.ElectionNotNeeded.Code {
					et.Partitions = append(et.Partitions, Elected{Partition: int32(i), Refusal: r})
				}
			}
			out = append(out, et)
		}
	}
	for _, t := range topics {
		et := ElectedTopic{Topic: t.Topic}
		for _, p := range t.Partitions {
			et.Partitions = append(et.Partitions, Elected{Partition: p, Refusal: elect(t.Topic, p)})
		}
		out = append(out, et)
	}
	if len(recs) > MaxRecordsPerChange {
		return nil, nil, tooLarge()
	}
	return recs, out, nil
}

type partitionKey struct {
	topic string
	index int32
}

// electLeader is Kafka's electLeader for one partition: the change, or
// why there is none.
func electLeader(im *metadata.Image, name string, index int32, electionType int8,
	canLead func(int32) bool) (*metadata.PartitionChangeRecord, *Refusal) {
	t, ok := im.Topic(name)
	if !ok {
		return nil, Refuse(kerr.UnknownTopicOrPartition, "No such topic as %s", name)
	}
	if index < 0 || int(index) >= len(t.Partitions) {
		return nil, Refuse(kerr.UnknownTopicOrPartition, "No such partition as %s-%d", name, index)
	}
	p := &t.Partitions[index]
	if electionType == ElectPreferred {
		if p.Leader == p.Replicas[0] {
			return nil, notNeeded()
		}
		rec, changed := preferredChange(t.ID, index, p, canLead)
		if !changed {
			return nil, Refuse(kerr.PreferredLeaderNotAvailable, "The preferred leader was not available.")
		}
		return &rec, nil
	}
	if p.Leader != noBroker {
		return nil, notNeeded()
	}
	rec, changed := partitionChange(t.ID, index, p, noBroker, canLead, true)
	if !changed {
		return nil, Refuse(kerr.EligibleLeadersNotAvailable, "Eligible topic partition leaders are not available.")
	}
	return &rec, nil
}

// notNeeded is ELECTION_NOT_NEEDED with Kafka's message (Errors' own,
// which kerr words without the full stop, as for the two others here).
func notNeeded() *Refusal {
	return Refuse(kerr.ElectionNotNeeded, "Leader election not needed for topic partition.")
}

// preferredChange is Kafka's PartitionChangeBuilder with a preferred
// election (electPreferredLeader) and no other change: the first replica
// when it is in the ISR and may lead; else the leader while it is in the
// ISR and may lead; else the first other replica in the ISR that may
// lead; else no leader.
func preferredChange(topicID [16]byte, index int32, p *metadata.Partition,
	canLead func(int32) bool) (metadata.PartitionChangeRecord, bool) {
	valid := func(id int32) bool { return slices.Contains(p.ISR, id) && canLead(id) }
	leader := noBroker
	switch {
	case valid(p.Replicas[0]):
		leader = p.Replicas[0]
	case valid(p.Leader):
		leader = p.Leader
	default:
		if i := slices.IndexFunc(p.Replicas[1:], valid); i >= 0 {
			leader = p.Replicas[1+i]
		}
	}
	rec := metadata.PartitionChangeRecord{TopicID: topicID, Partition: index, Leader: leader,
		LeaderRecoveryState: metalog.RecoveryStateUnchanged}
	return rec, leader != p.Leader
}

// activeBroker says whether a broker may lead: registered and active
// (unfenced, not in controlled shutdown), Kafka's LeaderAcceptor.
func activeBroker(im *metadata.Image) func(int32) bool {
	return func(id int32) bool {
		b, ok := im.Broker(id)
		return ok && b.Active()
	}
}
