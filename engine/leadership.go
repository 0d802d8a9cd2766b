package engine

import (
	"cmp"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/engine/metadata"
)

// Leadership: which partitions the data path serves.
//
// Produce, Fetch, ListOffsets, OffsetForLeaderEpoch and DeleteRecords are
// served for a partition by its leader in the request's image (r.image, the
// metadata as of the request's arrival), whatever logs this node keeps. The
// rule is Kafka's (ReplicaManager.getPartitionOrError, then
// Partition.getLocalLog with requireLeader), in this order:
//
//	not in the image                             UNKNOWN_TOPIC_OR_PARTITION
//	a replica here, the request's epoch older    FENCED_LEADER_EPOCH
//	a replica here, the request's epoch newer    UNKNOWN_LEADER_EPOCH
//	led by another broker, or by none (-1)       NOT_LEADER_OR_FOLLOWER
//	led here                                     served by its unit
//
// A replica checks the epoch first, as Kafka checks a hosted partition's;
// a broker that is no replica answers NOT_LEADER_OR_FOLLOWER whatever the
// epoch, as Kafka does for a partition the metadata knows but the broker
// does not host. A partition without a leader (-1: no live member of its
// ISR) is a Kafka follower with no leader: NOT_LEADER_OR_FOLLOWER too.
// Epochs are compared with the image's leader epoch.
//
// Answers for partitions led elsewhere carry KIP-951's current leader (id
// and epoch; Produce v10+, Fetch v12+) and the leader's endpoint on the
// request's listener (NodeEndpoints; Produce v10+, Fetch v16+), so a
// client can move without a Metadata round trip.

// noEpoch is the current leader epoch of a request that gives none (-1,
// or a version without the field): no epoch check.
const noEpoch = -1

// currentLeader is a partition's leader as the image has it, KIP-951's
// LeaderIdAndEpoch: id -1 when it has none.
type currentLeader struct{ id, epoch int32 }

// leadership decides how this node serves partition idx of topic for r,
// whose current leader epoch for it is epoch (noEpoch: none). code is the
// partition's error, or 0 when this node leads it; then p is its unit, or
// nil when it has none (its log could not be made: the handlers answer
// UNKNOWN_TOPIC_OR_PARTITION, as before there were other leaders). cur is
// the partition's leader for every partition in the image.
func (b *Broker) leadership(r *request, topic string, idx int32, epoch int32) (
	p *partition, code int16, cur currentLeader) {
	t, ok := r.image.Topic(topic)
	if !ok || idx < 0 || int(idx) >= len(t.Partitions) {
		return nil, kerr.UnknownTopicOrPartition.Code, currentLeader{-1, -1}
	}
	reg := &t.Partitions[idx]
	cur = currentLeader{reg.Leader, reg.LeaderEpoch}
	if reg.Leader == b.nodeID || slices.Contains(reg.Replicas, b.nodeID) {
		switch {
		case epoch >= 0 && epoch < reg.LeaderEpoch:
			return nil, kerr.FencedLeaderEpoch.Code, cur
		case epoch > reg.LeaderEpoch:
			return nil, kerr.UnknownLeaderEpoch.Code, cur
		}
	}
	if reg.Leader != b.nodeID {
		return nil, kerr.NotLeaderForPartition.Code, cur
	}
	p = b.lookupPartition(topic, idx)
	if p != nil && p.topicID != t.ID {
		p = nil // a unit of a deleted topic of that name, not yet swapped out
	}
	return p, 0, cur
}

// tellsLeader says whether an answer with code names the current leader:
// NOT_LEADER_OR_FOLLOWER, and in Fetch FENCED_LEADER_EPOCH (KIP-951).
func tellsLeader(code int16) bool {
	return code == kerr.NotLeaderForPartition.Code || code == kerr.FencedLeaderEpoch.Code
}

// topicNameByID resolves a topic id (Produce and Fetch v13+) in im, or "".
func topicNameByID(im *metadata.Image, id [16]byte) string {
	if t, ok := im.TopicByID(id); ok {
		return t.Name
	}
	return ""
}

// nodeEndpoint is one broker of a response's NodeEndpoints (KIP-951).
type nodeEndpoint struct {
	id   int32
	host string
	port int32
	rack *string
}

// nodeEndpoints are the endpoints on listener of the leaders ids, in id
// order, for the NodeEndpoints of a response that names them in
// CurrentLeader. As Kafka's getAliveBrokerNode, a leader is left out that
// has no leader (-1), is not registered or fenced, or has no endpoint on
// listener. ids may repeat.
func nodeEndpoints(im *metadata.Image, listener string, ids []int32) []nodeEndpoint {
	var out []nodeEndpoint
	for _, id := range ids {
		if slices.ContainsFunc(out, func(n nodeEndpoint) bool { return n.id == id }) {
			continue
		}
		br, ok := im.Broker(id)
		if !ok || br.Fenced {
			continue
		}
		ep, ok := br.Endpoints[listener]
		if !ok {
			continue
		}
		out = append(out, nodeEndpoint{id: id, host: ep.Host, port: ep.Port, rack: br.Rack})
	}
	slices.SortFunc(out, func(a, b nodeEndpoint) int { return cmp.Compare(a.id, b.id) })
	return out
}
