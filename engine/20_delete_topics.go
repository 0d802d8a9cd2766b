package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/metadata"
)

// DeleteTopics: v0-6
//
// Behavior:
// * By name (v0-5 TopicNames, v6 Topics with a name) or by id (v6).
//   Runs on a control-plane goroutine: the removal is written to the
//   metadata log, the topics unpublished, then their logs deleted
//   (segments a fetch still reads go when it releases them); the response
//   comes after.
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

// deletion is one entry of the request, resolved.
type deletion struct {
	name  *string
	id    [16]byte
	topic *metadata.Topic
	err   *adminErr
}

func (b *Broker) deleteTopics(req *kmsg.DeleteTopicsRequest) *kmsg.DeleteTopicsResponse {
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	entries := make([]kmsg.DeleteTopicsRequestTopic, 0, len(req.TopicNames)+len(req.Topics))
	for _, name := range req.TopicNames {
		entries = append(entries, kmsg.DeleteTopicsRequestTopic{Topic: kmsg.StringPtr(name)})
	}
	if req.Version >= 6 {
		entries = append(entries, req.Topics...)
	}
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	dels := b.resolveDeletions(b.image.Load(), entries)
	if !b.brokerConfig().Bool("delete.topic.enable") {
		e := errDefault(kerr.TopicDeletionDisabled)
		if req.Version < 3 {
			e = errMsg(kerr.InvalidRequest, "Topic deletion is disabled.")
		}
		for i := range dels {
			dels[i].err, dels[i].topic = e, nil
		}
	}
	var topics []*metadata.Topic
	for _, d := range dels {
		if d.err == nil {
			topics = append(topics, d.topic)
		}
	}
	if len(topics) > 0 {
		if err := b.deleteTopicsLocked(topics); err != nil {
			e := b.commitErr(err)
			for i := range dels {
				if dels[i].err == nil {
					dels[i].err = e
				}
			}
		}
	}
	for _, d := range dels {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic, rt.TopicID = d.name, d.id
		if d.topic != nil && d.err == nil {
			rt.Topic, rt.TopicID = kmsg.StringPtr(d.topic.Name), d.topic.ID
		}
		if d.err != nil {
			rt.ErrorCode, rt.ErrorMessage = d.err.code, d.err.msg
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// resolveDeletions finds each entry's topic, with Kafka's checks for
// duplicates and malformed entries.
func (b *Broker) resolveDeletions(im *metadata.Image, entries []kmsg.DeleteTopicsRequestTopic) []deletion {
	names, ids := map[string]int{}, map[[16]byte]int{}
	for _, e := range entries {
		switch {
		case e.Topic != nil && e.TopicID == [16]byte{}:
			names[*e.Topic]++
		case e.Topic == nil && e.TopicID != [16]byte{}:
			ids[e.TopicID]++
		}
	}
	var out []deletion
	seenName, seenID := map[string]bool{}, map[[16]byte]bool{}
	byName := map[[16]byte]bool{} // ids reached through a name
	for _, e := range entries {
		d := deletion{name: e.Topic, id: e.TopicID}
		switch {
		case e.Topic == nil && e.TopicID == [16]byte{}:
			d.err = errMsg(kerr.InvalidRequest, "Neither topic name nor id were specified.")
		case e.Topic != nil && e.TopicID != [16]byte{}:
			d.err = errMsg(kerr.InvalidRequest, "You may not specify both topic name and topic id.")
		case e.Topic != nil:
			if names[*e.Topic] > 1 {
				if seenName[*e.Topic] {
					continue
				}
				seenName[*e.Topic] = true
				d.err = errMsg(kerr.InvalidRequest, "Duplicate topic name.")
			} else if t, ok := im.Topic(*e.Topic); !ok {
				d.err = errDefault(kerr.UnknownTopicOrPartition)
			} else if ids[t.ID] > 0 {
				d.id = t.ID
				d.err = errMsg(kerr.InvalidRequest, "The provided topic name maps to an ID that was already supplied.")
				byName[t.ID] = true
			} else {
				d.topic = t
			}
		default:
			if ids[e.TopicID] > 1 {
				if seenID[e.TopicID] {
					continue
				}
				seenID[e.TopicID] = true
				d.err = errMsg(kerr.InvalidRequest, "Duplicate topic id.")
			} else if t, ok := im.TopicByID(e.TopicID); !ok {
				d.err = errDefault(kerr.UnknownTopicID)
			} else {
				d.topic = t
			}
		}
		out = append(out, d)
	}
	// A topic asked for by name and by id is refused both ways.
	for i := range out {
		if out[i].err == nil && out[i].topic != nil && byName[out[i].topic.ID] {
			out[i].err = errMsg(kerr.InvalidRequest, "Duplicate topic id.")
			out[i].topic = nil
		}
	}
	return out
}
