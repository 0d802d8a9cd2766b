package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
)

// ElectLeaders: v0-2
//
// Behavior:
// * Served on broker and controller listeners, as Kafka's spec lists both
//   (kafka-leader-election.sh --bootstrap-server or
//   --bootstrap-controller).
// * ElectionType 0 (preferred; v0 has no field and always means it)
//   elects a partition's first replica when it is in the ISR and active
//   (registered, unfenced, not shutting down): ELECTION_NOT_NEEDED when it
//   already leads, PREFERRED_LEADER_NOT_AVAILABLE when it cannot lead
//   and the leader stays. A partition without a live leader in its ISR
//   gets the next live replica of its ISR instead (Kafka's
//   PartitionChangeBuilder), answered without an error.
// * ElectionType 1 (unclean) elects a leader for a partition that has
//   none: the first live replica in the ISR, else the first live replica
//   at all, whose ISR becomes itself alone and which leads RECOVERING
//   (whatever unclean.leader.election.enable says). A partition with a
//   leader gets ELECTION_NOT_NEEDED, one with no live replica
//   ELIGIBLE_LEADERS_NOT_AVAILABLE.
// * Null Topics elects wherever the type applies: every topic is
//   answered, without its partitions that needed no election. An unknown
//   topic or partition gets UNKNOWN_TOPIC_OR_PARTITION ("No such topic
//   as t", "No such partition as t-9").
// * Runs on a control-plane goroutine: the elections of one request are
//   one change (new leader epochs), written to the metadata log and
//   published, then answered. An unknown ElectionType (INVALID_REQUEST,
//   "Unknown election type 2"), more than 10000 elections
//   (POLICY_VIOLATION) or a failed write (KAFKA_STORAGE_ERROR;
//   NOT_CONTROLLER once the broker is closing) answers the whole request:
//   the top-level ErrorCode and every partition named, as Kafka's
//   ElectLeadersRequest.getErrorResponse does.
// * TimeoutMillis is not waited on: the elections are committed when it
//   answers. Kafka's controller answers REQUEST_TIMED_OUT when its queue
//   does not reach the request in time; Weir's control plane has no queue
//   to time out in.
//
// Version notes:
// * v1: ElectionType in the request, ErrorCode in the response (KIP-460)
// * v2: flexible

func init() { register(api{key: 43, min: 0, max: 2, handle: handleElectLeaders}) }

func handleElectLeaders(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.ElectLeadersRequest)
	go func() { r.respond(b.electLeaders(req)) }()
	return nil, nil
}

func (b *Broker) electLeaders(req *kmsg.ElectLeadersRequest) *kmsg.ElectLeadersResponse {
	var topics []controller.ElectionTopic // nil: every partition
	if req.Topics != nil {
		topics = make([]controller.ElectionTopic, 0, len(req.Topics))
		for _, t := range req.Topics {
			topics = append(topics, controller.ElectionTopic{Topic: t.Topic, Partitions: t.Partitions})
		}
	}
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	recs, elected, refusal := controller.PlanElectLeaders(b.ctlImage(), req.ElectionType, topics)
	if refusal == nil && len(recs) > 0 {
		im, err := b.commitLocked(recs)
		if err != nil {
			refusal = b.commitErr(err)
		} else {
			b.publishLocked(im)
			b.log.Info("elected leaders", "election_type", req.ElectionType, "partitions", len(recs))
		}
	}
	resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
	if refusal != nil {
		resp.ErrorCode = refusal.Code
		for _, t := range req.Topics {
			rt := kmsg.NewElectLeadersResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rt.Partitions = append(rt.Partitions, electionAnswer(p, refusal))
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	for _, t := range elected {
		rt := kmsg.NewElectLeadersResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rt.Partitions = append(rt.Partitions, electionAnswer(p.Partition, p.Refusal))
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func electionAnswer(partition int32, r *controller.Refusal) kmsg.ElectLeadersResponseTopicPartition {
	rp := kmsg.NewElectLeadersResponseTopicPartition()
	rp.Partition = partition
	if r != nil {
		rp.ErrorCode, rp.ErrorMessage = r.Code, r.Msg
	}
	return rp
}
