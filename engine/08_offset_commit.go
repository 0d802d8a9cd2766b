package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetCommit: v0-v9
//
// Behavior:
// * Offsets are written as OffsetCommitKey v1 / OffsetCommitValue v3
//   records to the group's __consumer_offsets partition; the answer comes
//   after the append, and a later OffsetFetch sees them.
// * Members of a classic group commit with their member id and the
//   current generation: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
//   FENCED_INSTANCE_ID otherwise, REBALANCE_IN_PROGRESS in
//   CompletingRebalance (commits in PreparingRebalance are allowed, so
//   members can commit before they revoke). A commit also counts as a
//   heartbeat.
// * Simple commits (generation -1, empty member id, and every v0 commit)
//   from standalone consumers are taken by an Empty or absent group; a
//   group with members answers UNKNOWN_MEMBER_ID.
// * Metadata over 4096 bytes: OFFSET_METADATA_TOO_LARGE, per partition.
// * A partition of a topic the metadata does not have, or past the topic's
//   partition count, gets UNKNOWN_TOPIC_OR_PARTITION and is not committed;
//   the other partitions of the request are (Kafka's KafkaApis checks the
//   metadata cache before the group coordinator sees the request). A
//   request with no partition left is answered without the group checks.
// * TxnOffsetCommit (key 28) is not served: Weir has no transactions.

func init() { register(api{key: 8, min: 0, max: 9, handle: handleOffsetCommit}) }

func handleOffsetCommit(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.OffsetCommitRequest)
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	answerAll := func(code int16) {
		resp.Topics = resp.Topics[:0]
		for _, t := range req.Topics {
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetCommitResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
	}
	unknown := unknownCommitPartitions(r, req)
	answerKnown := func(code int16) {
		answerAll(code)
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				if unknown[[2]int{i, j}] {
					resp.Topics[i].Partitions[j].ErrorCode = kerr.UnknownTopicOrPartition.Code
				}
			}
		}
	}
	if len(unknown) == countCommitPartitions(req) {
		answerKnown(0)
		return resp, nil
	}
	part, code := b.groupError(req.Group)
	if code == 0 && req.Group == "" {
		code = invalidGroupID
	}
	if code != 0 {
		answerKnown(code)
		return resp, nil
	}
	answerKnown(0)
	return b.coord().Commit(req, part, resp, r.respond), nil
}

// unknownCommitPartitions are the (topic, partition) positions in req of
// partitions the metadata as of r's arrival does not have.
func unknownCommitPartitions(r *request, req *kmsg.OffsetCommitRequest) map[[2]int]bool {
	out := map[[2]int]bool{}
	for i, t := range req.Topics {
		mt, ok := r.image.Topic(t.Topic)
		for j, p := range t.Partitions {
			if !ok || p.Partition < 0 || int(p.Partition) >= len(mt.Partitions) {
				out[[2]int{i, j}] = true
			}
		}
	}
	return out
}

func countCommitPartitions(req *kmsg.OffsetCommitRequest) int {
	n := 0
	for _, t := range req.Topics {
		n += len(t.Partitions)
	}
	return n
}
