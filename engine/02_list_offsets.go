package engine

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/logstore"
)

// ListOffsets: v1-v11
//
// Behavior:
// * Timestamp -2 (earliest) and -4 (earliest local, v8+): the log start
//   offset. -1 (latest): the high watermark (the last stable offset is the
//   same: no transactions yet). -3 (max timestamp, v7+): the first offset
//   carrying the largest timestamp. -5 (latest tiered, v9+) and -6
//   (earliest pending upload, v11+): -1, since nothing is tiered.
// * A timestamp >= 0: the first offset whose timestamp is at least it, or
//   -1 when no record is that late.
// * UNKNOWN_TOPIC_OR_PARTITION (not in the request's metadata image),
//   FENCED/UNKNOWN_LEADER_EPOCH (v4+: CurrentLeaderEpoch older or newer than
//   the image's leader epoch, on a broker that is a replica) per partition.
// * Only the partition's leader in the image answers (leadership.go): a
//   partition led by another broker, or by none (-1), gets
//   NOT_LEADER_OR_FOLLOWER, as Kafka answers consumers and replicas (its
//   debugging replica id -2, which may read a follower, is not special
//   here). A partition this node leads but has no log for gets
//   UNKNOWN_TOPIC_OR_PARTITION.

func init() { register(api{key: 2, min: 1, max: 11, handle: handleListOffsets}) }

func handleListOffsets(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.Timestamp, sp.Offset, sp.LeaderEpoch = -1, -1, -1
			epoch := int32(noEpoch)
			if req.Version >= 4 {
				epoch = rp.CurrentLeaderEpoch
			}
			p, code, cur := b.leadership(r, rt.Topic, rp.Partition, epoch)
			switch {
			case code != 0:
				sp.ErrorCode = code
			case p == nil:
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				sp.LeaderEpoch = cur.epoch
				sp.ErrorCode = listOffset(p, rp.Timestamp, req.ReplicaID >= 0, &sp)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// listOffset answers one partition; a replica (a follower finding where
// the leader's log ends) reads latest as the log end, not the high
// watermark, as Kafka answers replica ids.
func listOffset(p *partition, ts int64, replica bool, out *kmsg.ListOffsetsResponseTopicPartition) int16 {
	l := p.log
	switch ts {
	case -2, -4:
		out.Offset = l.LogStartOffset()
		return 0
	case -1:
		out.Offset = l.HighWatermark()
		if replica {
			out.Offset = l.LogEndOffset()
		}
		return 0
	case -5, -6:
		return 0
	case -3:
		if ts = l.MaxTimestamp(); ts < 0 {
			return 0
		}
	}
	if ts < 0 {
		return kerr.InvalidRequest.Code
	}
	off, at, found, err := l.OffsetForTimestamp(ts)
	switch {
	case errors.Is(err, logstore.ErrOffsetOutOfRange):
		return kerr.OffsetOutOfRange.Code
	case err != nil:
		return kerr.KafkaStorageError.Code
	case found && off < l.HighWatermark():
		out.Offset, out.Timestamp = off, at
	}
	return 0
}
