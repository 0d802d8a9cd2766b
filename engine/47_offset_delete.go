package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetDelete: v0
//
// Behavior:
// * Deletes a group's committed offsets of the given partitions
//   (tombstones written to __consumer_offsets before the answer).
// * A partition of a topic that a member of the group (protocol type
//   "consumer") subscribes to: GROUP_SUBSCRIBED_TO_TOPIC; an unknown
//   group: GROUP_ID_NOT_FOUND; coordinator errors at the top.

func init() { register(api{key: 47, min: 0, max: 0, handle: handleOffsetDelete}) }

func handleOffsetDelete(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.OffsetDeleteRequest)
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	part, code := b.groupError(req.Group)
	if code != 0 {
		resp.ErrorCode = code
		return resp, nil
	}
	c := b.coord()
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[req.Group]
	if g == nil || g.state == groupDead {
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		return resp, nil
	}
	subscribed := g.subscribedTopics()
	var recs []groupRecord
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			if subscribed[t.Topic] {
				rp.ErrorCode = kerr.GroupSubscribedToTopic.Code
			} else if _, ok := g.offsets[partitionKey{t.Topic, p.Partition}]; ok {
				delete(g.offsets, partitionKey{t.Topic, p.Partition})
				recs = append(recs, offsetRecord(req.Group, t.Topic, p.Partition, nil))
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if len(recs) == 0 {
		return resp, nil
	}
	c.append(part, recs, func(code int16) {
		if code != 0 {
			resp.ErrorCode = code
		}
		r.respond(resp)
	})
	return nil, nil
}

// subscribedTopics are the topics the members of a "consumer" group
// subscribe to (from their protocol metadata). c.mu held.
func (g *group) subscribedTopics() map[string]bool {
	out := map[string]bool{}
	if g.protocolType != "consumer" {
		return out
	}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if g.protocol != "" && p.Name != g.protocol {
				continue
			}
			var md kmsg.ConsumerMemberMetadata
			if md.ReadFrom(p.Metadata) == nil {
				for _, t := range md.Topics {
					out[t] = true
				}
			}
			break
		}
	}
	return out
}
