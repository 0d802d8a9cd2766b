package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
	"github.com/weirmq/weir/engine/metadata"
)

// DeleteTopics: v0-6
//
// Behavior:
// * By name (v0-5 TopicNames, v6 Topics with a name) or by id (v6).
//   Runs on a control-plane goroutine: the topics are noted as being
//   deleted (pending-topic-deletions), the removal is written to the
//   metadata log, the topics unpublished, then each partition directory is
//   closed and renamed `<topic>-<partition>.<uuid>-delete` (the log dir
//   fsynced); the response comes after. The directories are removed in
//   the background after log.segment.delete.delay.ms (the topic's
//   file.delete.delay.ms, 60 s), as Kafka does; segments a fetch still
//   reads go when it releases them. A kill at any point is finished by
//   the next start.
// * An unknown name gets UNKNOWN_TOPIC_OR_PARTITION, an unknown id
//   UNKNOWN_TOPIC_ID. A name or id given twice gets INVALID_REQUEST
//   ("Duplicate topic name." / "Duplicate topic id."), as does an entry
//   with both or neither, and a name whose id was also given.
// * delete.topic.enable=false: TOPIC_DELETION_DISABLED (INVALID_REQUEST
//   before v3) for every topic.
// * The topics of one request are one change. Results keep request order
//   (Kafka shuffles them).
//
// Version notes:
// * v1: ThrottleMillis
// * v4: flexible
// * v5: ErrorMessage
// * v6: Topics by name or id; TopicID in the response

func init() { register(api{key: 20, min: 0, max: 6, handle: handleDeleteTopics}) }

func handleDeleteTopics(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DeleteTopicsRequest)
	go func() { r.respond(b.deleteTopics(req)) }()
	return nil, nil
}

func (b *Broker) deleteTopics(req *kmsg.DeleteTopicsRequest) *kmsg.DeleteTopicsResponse {
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	refs := make([]controller.TopicRef, 0, len(req.TopicNames)+len(req.Topics))
	for _, name := range req.TopicNames {
		refs = append(refs, controller.TopicRef{Name: kmsg.StringPtr(name)})
	}
	if req.Version >= 6 {
		for _, t := range req.Topics {
			refs = append(refs, controller.TopicRef{Name: t.Topic, ID: t.TopicID})
		}
	}
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	dels := controller.ResolveDeletions(b.ctlImage(), refs)
	if !b.brokerConfig().Bool("delete.topic.enable") {
		r := controller.RefuseDefault(kerr.TopicDeletionDisabled)
		if req.Version < 3 {
			r = controller.Refuse(kerr.InvalidRequest, "Topic deletion is disabled.")
		}
		for i := range dels {
			dels[i].Refusal, dels[i].Topic = r, nil
		}
	}
	var topics []*metadata.Topic
	for _, d := range dels {
		if d.Refusal == nil {
			topics = append(topics, d.Topic)
		}
	}
	if len(topics) > 0 {
		if err := b.deleteTopicsLocked(topics); err != nil {
			r := b.commitErr(err)
			for i := range dels {
				if dels[i].Refusal == nil {
					dels[i].Refusal = r
				}
			}
		}
	}
	for _, d := range dels {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic, rt.TopicID = d.Name, d.ID
		if d.Topic != nil && d.Refusal == nil {
			rt.Topic, rt.TopicID = kmsg.StringPtr(d.Topic.Name), d.Topic.ID
		}
		if d.Refusal != nil {
			rt.ErrorCode, rt.ErrorMessage = d.Refusal.Code, d.Refusal.Msg
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
