package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
)

// CreatePartitions: v0-3
//
// Behavior:
// * Count is the topic's new partition count: it may only grow
//   (INVALID_PARTITIONS: "Topic already has 3 partition(s)." or "... would
//   not be an increase."). New partitions get the topic's replication
//   factor, or the explicit Assignment (one replica list per new
//   partition, registered brokers, INVALID_REPLICA_ASSIGNMENT otherwise).
// * Runs on a control-plane goroutine: the new logs (with the topic's id
//   and configs), then the records, then publication; answers after. A
//   log that cannot be made fails the change (KAFKA_STORAGE_ERROR).
// * An unknown topic gets UNKNOWN_TOPIC_OR_PARTITION, a topic named twice
//   INVALID_REQUEST ("Duplicate topic name."), listed first as Kafka does.
// * ValidateOnly checks and creates nothing. Each topic is its own change.
//
// Version notes:
// * v1: ThrottleMillis semantics only
// * v2: flexible
// * v3: same as v2

func init() { register(api{key: 37, min: 0, max: 3, handle: handleCreatePartitions}) }

func handleCreatePartitions(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.CreatePartitionsRequest)
	go func() { r.respond(b.createPartitions(req)) }()
	return nil, nil
}

func (b *Broker) createPartitions(req *kmsg.CreatePartitionsRequest) *kmsg.CreatePartitionsResponse {
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	count := map[string]int{}
	for _, t := range req.Topics {
		count[t.Topic]++
	}
	answer := func(name string, e *controller.Refusal) {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = name
		if e != nil {
			rt.ErrorCode, rt.ErrorMessage = e.Code, e.Msg
		}
		resp.Topics = append(resp.Topics, rt)
	}
	done := map[string]bool{}
	for _, t := range req.Topics {
		if count[t.Topic] > 1 && !done[t.Topic] {
			done[t.Topic] = true
			answer(t.Topic, controller.Refuse(kerr.InvalidRequest, "Duplicate topic name."))
		}
	}
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	for _, rt := range req.Topics {
		if count[rt.Topic] > 1 {
			continue
		}
		var assignment [][]int32
		if rt.Assignment != nil {
			assignment = make([][]int32, len(rt.Assignment))
			for i, a := range rt.Assignment {
				assignment[i] = a.Replicas
			}
		}
		t, replicas, isr, e := controller.PlanPartitions(b.ctlImage(), rt.Topic, rt.Count, assignment)
		if e == nil && !req.ValidateOnly {
			if err := b.addPartitionsLocked(t, replicas, isr); err != nil {
				e = b.commitErr(err)
			}
		}
		answer(rt.Topic, e)
	}
	return resp
}
