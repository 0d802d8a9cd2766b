package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/metadata"
)

// CreatePartitions: v0-3
//
// Behavior:
// * Count is the topic's new partition count: it may only grow
//   (INVALID_PARTITIONS: "Topic already has 3 partition(s)." or "... would
//   not be an increase."). New partitions get the topic's replication
//   factor, or the explicit Assignment (one replica list per new
//   partition, registered brokers, INVALID_REPLICA_ASSIGNMENT otherwise).
// * Runs on a control-plane goroutine: records, then the new logs (with
//   the topic's id and configs), then publication; answers after.
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
	answer := func(name string, e *adminErr) {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = name
		if e != nil {
			rt.ErrorCode, rt.ErrorMessage = e.code, e.msg
		}
		resp.Topics = append(resp.Topics, rt)
	}
	done := map[string]bool{}
	for _, t := range req.Topics {
		if count[t.Topic] > 1 && !done[t.Topic] {
			done[t.Topic] = true
			answer(t.Topic, errMsg(kerr.InvalidRequest, "Duplicate topic name."))
		}
	}
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	for _, rt := range req.Topics {
		if count[rt.Topic] > 1 {
			continue
		}
		t, replicas, e := b.planPartitions(b.image.Load(), rt)
		if e == nil && !req.ValidateOnly {
			if err := b.addPartitionsLocked(t, replicas); err != nil {
				e = b.commitErr(err)
			}
		}
		answer(rt.Topic, e)
	}
	return resp
}

// planPartitions validates one topic's growth as Kafka's controller does
// and gives the new partitions their replicas.
func (b *Broker) planPartitions(im *metadata.Image, rt kmsg.CreatePartitionsRequestTopic) (*metadata.Topic, [][]int32, *adminErr) {
	t, ok := im.Topic(rt.Topic)
	if !ok {
		return nil, nil, errNoMsg(kerr.UnknownTopicOrPartition)
	}
	have := int32(len(t.Partitions))
	if rt.Count == have {
		return nil, nil, errMsg(kerr.InvalidPartitions, "Topic already has %d partition(s).", have)
	}
	if rt.Count < have {
		return nil, nil, errMsg(kerr.InvalidPartitions, "The topic %s currently has %d partition(s); "+
			"%d would not be an increase.", rt.Topic, have, rt.Count)
	}
	add := rt.Count - have
	if add > maxRecordsPerChange {
		return nil, nil, errMsg(kerr.PolicyViolation, "Unable to perform excessively large batch operation.")
	}
	rf := len(t.Partitions[0].Replicas)
	if rt.Assignment == nil {
		replicas, e := b.stripeReplicas(im, have, add, int32(rf))
		return t, replicas, e
	}
	if len(rt.Assignment) != int(add) {
		return nil, nil, errMsg(kerr.InvalidReplicaAssignment, "Attempted to add %d additional partition(s), "+
			"but only %d assignment(s) were specified.", add, len(rt.Assignment))
	}
	replicas := make([][]int32, add)
	for i, a := range rt.Assignment {
		if e := checkAssignment(im, a.Replicas, rf); e != nil {
			return nil, nil, e
		}
		replicas[i] = a.Replicas
	}
	return t, replicas, nil
}
