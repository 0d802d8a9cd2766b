package engine

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/logstore"
)

// DeleteRecords: v0-v2
//
// Behavior:
// * Moves each partition's log start offset up to the offset given (-1:
//   the high watermark) on the partition's owner shard; segments wholly
//   below it are deleted (after readers let go). Answers the new low
//   watermark.
// * An offset past the high watermark gets OFFSET_OUT_OF_RANGE; partitions
//   not in the request's metadata image UNKNOWN_TOPIC_OR_PARTITION.
// * Only the partition's leader in the image deletes (leadership.go): a
//   partition led by another broker, or by none (-1), gets
//   NOT_LEADER_OR_FOLLOWER, as Kafka's deleteRecordsOnLeader answers. A
//   partition this node leads but has no log for gets
//   UNKNOWN_TOPIC_OR_PARTITION.

func init() { register(api{key: 21, min: 0, max: 2, handle: handleDeleteRecords}) }

func handleDeleteRecords(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DeleteRecordsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	type job struct {
		p   *partition
		off int64
		out *kmsg.DeleteRecordsResponseTopicPartition
	}
	byOwner := map[int][]job{}
	resp.Topics = make([]kmsg.DeleteRecordsResponseTopic, len(req.Topics))
	for i, rt := range req.Topics {
		st := &resp.Topics[i]
		*st = kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.DeleteRecordsResponseTopicPartition, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			sp := &st.Partitions[j]
			*sp = kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition, sp.LowWatermark = rp.Partition, -1
			p, code, _ := b.leadership(r, rt.Topic, rp.Partition, noEpoch)
			if code == 0 && p == nil {
				code = kerr.UnknownTopicOrPartition.Code
			}
			if code != 0 {
				sp.ErrorCode = code
				continue
			}
			byOwner[b.owner(p)] = append(byOwner[b.owner(p)], job{p, rp.Offset, sp})
		}
	}
	if len(byOwner) == 0 {
		return resp, nil
	}
	onOwners(b, byOwner, -1, func(j job, _ *fanIn) {
		low, err := j.p.deleteRecords(j.off)
		switch {
		case errors.Is(err, logstore.ErrOffsetOutOfRange):
			j.out.ErrorCode = kerr.OffsetOutOfRange.Code
		case errors.Is(err, logstore.ErrClosed):
			j.out.ErrorCode = kerr.UnknownTopicOrPartition.Code // deleted meanwhile
		case err != nil:
			j.out.ErrorCode = kerr.KafkaStorageError.Code
		default:
			j.out.LowWatermark = low
		}
	}, func() { r.respond(resp) })
	return nil, nil
}
