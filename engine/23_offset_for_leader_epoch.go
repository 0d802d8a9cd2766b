package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetForLeaderEpoch: v0-v4
//
// Behavior:
// * For each partition, the largest leader epoch <= the one asked for and
//   the offset where the next epoch starts (the log end for the current
//   epoch), from the log's leader-epoch cache (KIP-101, KIP-279).
// * An epoch older than any the log knows: UNDEFINED_EPOCH (-1) and
//   UNDEFINED_EPOCH_OFFSET (-1).
// * CurrentLeaderEpoch (v2+) fenced / unknown like Fetch (against the
//   image's leader epoch, on a broker that is a replica); partitions not in
//   the request's metadata image UNKNOWN_TOPIC_OR_PARTITION.
// * Only the partition's leader in the image answers (leadership.go), to
//   clients and replicas alike, as Kafka's lastOffsetForLeaderEpoch
//   (fetchOnlyFromLeader): a partition led by another broker, or by none
//   (-1), gets NOT_LEADER_OR_FOLLOWER. A partition this node leads but has
//   no log for gets UNKNOWN_TOPIC_OR_PARTITION.

func init() { register(api{key: 23, min: 0, max: 4, handle: handleOffsetForLeaderEpoch}) }

func handleOffsetForLeaderEpoch(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.OffsetForLeaderEpochRequest)
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition, sp.LeaderEpoch, sp.EndOffset = rp.Partition, -1, -1
			epoch := int32(noEpoch)
			if req.Version >= 2 {
				epoch = rp.CurrentLeaderEpoch
			}
			p, code, _ := b.leadership(r, rt.Topic, rp.Partition, epoch)
			switch {
			case code != 0:
				sp.ErrorCode = code
			case p == nil:
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				sp.LeaderEpoch, sp.EndOffset = p.log.EndOffsetForEpoch(rp.LeaderEpoch)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
