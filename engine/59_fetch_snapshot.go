package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
	"github.com/weirmq/weir/logstore/metalog"
)

// FetchSnapshot: v0-1
//
// Behavior:
// * Served on controller listeners only (KIP-630): an observer (a broker
//   that is not a voter) whose Fetch of the metadata log was answered
//   with a SnapshotId reads that snapshot, the .checkpoint file, in
//   pieces of at most MaxBytes from Position.
// * Only the active controller answers: elsewhere NOT_LEADER_OR_FOLLOWER
//   (with the leader it knows). A snapshot that is no longer the newest,
//   or another topic or partition: SNAPSHOT_NOT_FOUND /
//   UNKNOWN_TOPIC_OR_PARTITION; a position past its end:
//   POSITION_OUT_OF_RANGE.
//
// Version notes:
// * v1: ClusterID, ReplicaDirectoryID, NodeEndpoints (tagged)

func init() {
	register(api{key: 59, min: 0, max: 1, handle: handleFetchSnapshot, only: controllerListener})
}

func handleFetchSnapshot(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.FetchSnapshotRequest)
	go func() { r.respond(b.fetchSnapshot(req)) }()
	return nil, nil
}

func (b *Broker) fetchSnapshot(req *kmsg.FetchSnapshotRequest) *kmsg.FetchSnapshotResponse {
	resp := req.ResponseKind().(*kmsg.FetchSnapshotResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewFetchSnapshotResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewFetchSnapshotResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = b.fillSnapshot(&rp, t.Topic, p, req.MaxBytes)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (b *Broker) fillSnapshot(rp *kmsg.FetchSnapshotResponseTopicPartition, topic string,
	p kmsg.FetchSnapshotRequestTopicPartition, maxBytes int32) int16 {
	if topic != controller.ClusterMetadataTopic || p.Partition != 0 {
		return kerr.UnknownTopicOrPartition.Code
	}
	cl := b.cluster
	if cl == nil || cl.raft == nil {
		return kerr.NotLeaderForPartition.Code
	}
	q := cl.raft.Quorum()
	rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch = q.LeaderID, q.LeaderEpoch
	if q.LeaderID != b.nodeID {
		return kerr.NotLeaderForPartition.Code
	}
	id := metalog.SnapshotID{EndOffset: p.SnapshotID.EndOffset, Epoch: p.SnapshotID.Epoch}
	data, err := cl.raft.Node().SnapshotData(id)
	if err != nil {
		return kerr.SnapshotNotFound.Code
	}
	if p.Position < 0 || p.Position > int64(len(data)) {
		return kerr.PositionOutOfRange.Code
	}
	end := min(int64(len(data)), p.Position+int64(max(maxBytes, 1)))
	rp.SnapshotID.EndOffset, rp.SnapshotID.Epoch = p.SnapshotID.EndOffset, p.SnapshotID.Epoch
	rp.Size, rp.Position, rp.Bytes = int64(len(data)), p.Position, data[p.Position:end]
	return 0
}
