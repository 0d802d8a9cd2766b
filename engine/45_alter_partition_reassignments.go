package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
)

// AlterPartitionReassignments: v0-1
//
// Behavior:
// * Moves partitions to other replicas (KIP-455), as
//   kafka-reassign-partitions.sh does: decided by
//   controller.PlanReassignments, committed as one change by the active
//   controller (a broker that is not forwards it). The new replicas
//   follow the leader, join the ISR as they catch up, and the
//   reassignment completes when the whole target is in the ISR (the
//   leaving replicas drop their logs; a leader that leaves hands over to
//   the first target replica in the ISR). Null replicas cancel one in
//   progress.
// * Per partition: UNKNOWN_TOPIC_OR_PARTITION, NO_REASSIGNMENT_IN_PROGRESS
//   (a cancel with none), INVALID_REPLICA_ASSIGNMENT (no replica, one
//   twice, a broker not registered); v1 with AllowReplicationFactorChange
//   false refuses a target of another size with INVALID_REPLICATION_FACTOR
//   (KIP-860).
// * A log that cannot be written: every partition answers the error.
//
// Version notes:
// * v1: AllowReplicationFactorChange

func init() { register(api{key: 45, min: 0, max: 1, handle: handleAlterPartitionReassignments}) }

func handleAlterPartitionReassignments(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.AlterPartitionAssignmentsRequest)
	go func() { r.respond(b.alterReassignments(req)) }()
	return nil, nil
}

func (b *Broker) alterReassignments(req *kmsg.AlterPartitionAssignmentsRequest) *kmsg.AlterPartitionAssignmentsResponse {
	resp := req.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	resp.AllowReplicationFactorChange = req.AllowReplicationFactorChange
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	im := b.ctlImage()
	var reqs []controller.Reassignment
	var codes []*controller.Refusal
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			codes = append(codes, nil)
			if req.Version >= 1 && !req.AllowReplicationFactorChange && p.Replicas != nil {
				if mt, ok := im.Topic(t.Topic); ok && p.Partition >= 0 && int(p.Partition) < len(mt.Partitions) {
					cur := mt.Partitions[p.Partition]
					if len(p.Replicas) != len(cur.Replicas)-len(cur.AddingReplicas) {
						codes[len(codes)-1] = controller.Refuse(kerr.InvalidReplicationFactor,
							"The replication factor is changed from %d to %d", len(cur.Replicas)-len(cur.AddingReplicas),
							len(p.Replicas))
						continue
					}
				}
			}
			reqs = append(reqs, controller.Reassignment{Topic: t.Topic, Partition: p.Partition, Replicas: p.Replicas})
		}
	}
	recs, planned := controller.PlanReassignments(im, reqs)
	var commitErr *controller.Refusal
	if len(recs) > 0 {
		next, err := b.commitLocked(recs)
		if err != nil {
			commitErr = b.commitErr(err)
		} else {
			b.publishLocked(next)
			b.log.Info("partition reassignment changed", "partitions", len(recs))
		}
	}
	i, j := 0, 0
	for _, t := range req.Topics {
		rt := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			rp.Partition = p.Partition
			refusal := codes[i]
			if refusal == nil {
				refusal = planned[j]
				j++
				if refusal == nil {
					refusal = commitErr
				}
			}
			i++
			if refusal != nil {
				rp.ErrorCode, rp.ErrorMessage = refusal.Code, kmsg.StringPtr(refusal.Message())
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
