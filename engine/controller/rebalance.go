package controller

import (
	"slices"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/engine/metadata"
)

// MaxElectionsPerRebalance bounds the elections of one rebalance change,
// as Kafka's MAX_ELECTIONS_PER_IMBALANCE: the caller plans again after
// committing them, until nothing is left.
const MaxElectionsPerRebalance = 1000

// PlanLeaderRebalance is the automatic preferred-leader rebalance
// (auto.leader.rebalance.enable; whether it runs is the caller's to
// decide): the PartitionChangeRecords that give partitions back to their
// preferred leader (the first replica), at most limit of them.
//
// A broker's imbalance is the share of the partitions whose preferred
// leader it is that it does not lead (led by another or by none). For
// each broker whose imbalance is above leader.imbalance.per.broker.percentage,
// its partitions that it does not lead go back to it where it may lead:
// it is in the ISR and active (registered, unfenced, not shutting down).
// Brokers by id, partitions by topic name and index; each record names
// the new leader, so its leader epoch is bumped.
//
// This is the ZooKeeper controller's checkAndTriggerAutoLeaderRebalance.
// Kafka's KRaft controller ignores the percentage and moves every
// partition not led by its preferred leader, 1000 at a time: a percentage
// of 0 does the same here.
func PlanLeaderRebalance(im *metadata.Image, broker *config.Config, limit int) []metadata.Record {
	threshold := float64(broker.Int("leader.imbalance.per.broker.percentage")) / 100
	type moved struct {
		topicID [16]byte
		index   int32
		p       *metadata.Partition
	}
	preferred := map[int32]int{}  // partitions by preferred leader
	notLed := map[int32][]moved{} // those it does not lead
	for _, t := range im.Topics() {
		for i := range t.Partitions {
			p := &t.Partitions[i]
			first := p.Replicas[0]
			preferred[first]++
			if p.Leader != first {
				notLed[first] = append(notLed[first], moved{t.ID, int32(i), p})
			}
		}
	}
	canLead := activeBroker(im)
	var recs []metadata.Record
	brokers := make([]int32, 0, len(notLed))
	for id := range notLed {
		brokers = append(brokers, id)
	}
	slices.Sort(brokers)
	for _, id := range brokers {
		if float64(len(notLed[id]))/float64(preferred[id]) <= threshold {
			continue
		}
		for _, m := range notLed[id] {
			if len(recs) == limit {
				return recs
			}
			if !slices.Contains(m.p.ISR, id) || !canLead(id) {
				continue
			}
			rec, _ := preferredChange(m.topicID, m.index, m.p, canLead)
			recs = append(recs, rec)
		}
	}
	return recs
}
