package engine

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListPartitionReassignments: v0
//
// Behavior:
// * The reassignments in progress (KIP-455), from this node's image: each
//   partition with its replicas and those being added and removed. Null
//   topics: every partition of every topic; named topics and partitions:
//   those, the ones unknown or not being reassigned left out (as Kafka).

func init() { register(api{key: 46, min: 0, max: 0, handle: handleListPartitionReassignments}) }

func handleListPartitionReassignments(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.ListPartitionReassignmentsRequest)
	resp := req.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	im := r.image
	add := func(name string, parts []int32) {
		t, ok := im.Topic(name)
		if !ok {
			return
		}
		rt := kmsg.NewListPartitionReassignmentsResponseTopic()
		rt.Topic = name
		for i, p := range t.Partitions {
			if parts != nil && !slices.Contains(parts, int32(i)) {
				continue
			}
			if len(p.AddingReplicas) == 0 && len(p.RemovingReplicas) == 0 {
				continue
			}
			rp := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
			rp.Partition, rp.Replicas = int32(i), p.Replicas
			rp.AddingReplicas, rp.RemovingReplicas = orEmpty(p.AddingReplicas), orEmpty(p.RemovingReplicas)
			rt.Partitions = append(rt.Partitions, rp)
		}
		if len(rt.Partitions) > 0 {
			resp.Topics = append(resp.Topics, rt)
		}
	}
	if req.Topics == nil {
		for _, t := range im.Topics() {
			add(t.Name, nil)
		}
	} else {
		for _, t := range req.Topics {
			add(t.Topic, t.Partitions)
		}
	}
	return resp, nil
}

func orEmpty(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}
