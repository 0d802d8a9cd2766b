package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetFetch: v0-v9
//
// Behavior:
// * The committed offsets of the asked partitions (null topics: every
//   partition the group committed, v2+); a partition without one answers
//   offset -1, leader epoch -1, empty metadata.
// * v8+: several groups per request, each with its own error.
// * require_stable (v7+): Weir has no transactional offset commits yet,
//   so nothing is ever pending and the offsets are always stable.
// * v0-v1 carry coordinator errors per partition, v2+ at the top.

func init() { register(api{key: 9, min: 0, max: 9, handle: handleOffsetFetch}) }

func handleOffsetFetch(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.OffsetFetchRequest)
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	groups := req.Groups
	if req.Version < 8 {
		g := kmsg.NewOffsetFetchRequestGroup()
		g.Group = req.Group
		if req.Topics != nil || req.Version < 2 {
			g.Topics = []kmsg.OffsetFetchRequestGroupTopic{}
		}
		for _, t := range req.Topics {
			gt := kmsg.NewOffsetFetchRequestGroupTopic()
			gt.Topic, gt.Partitions = t.Topic, t.Partitions
			g.Topics = append(g.Topics, gt)
		}
		groups = []kmsg.OffsetFetchRequestGroup{g}
	}
	c := b.coord()
	for _, rg := range groups {
		out := b.fetchGroupOffsets(c, rg)
		if req.Version >= 8 {
			resp.Groups = append(resp.Groups, out)
			continue
		}
		resp.ErrorCode = out.ErrorCode
		for _, t := range out.Topics {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata, rp.ErrorCode = p.Partition, p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode
				if req.Version < 2 && out.ErrorCode != 0 {
					rp.ErrorCode = out.ErrorCode
				}
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
	}
	return resp, nil
}

func (b *Broker) fetchGroupOffsets(c *groupCoordinator, rg kmsg.OffsetFetchRequestGroup) kmsg.OffsetFetchResponseGroup {
	part, code := b.groupError(rg.Group)
	if code == 0 {
		out := c.FetchOffsets(rg, part)
		if out.ErrorCode == 0 {
			return out
		}
		code = out.ErrorCode // the partition was unloaded since groupError
	}
	out := kmsg.NewOffsetFetchResponseGroup()
	out.Group = rg.Group
	out.ErrorCode = code
	for _, t := range rg.Topics {
		ot := kmsg.NewOffsetFetchResponseGroupTopic()
		ot.Topic = t.Topic
		for _, p := range t.Partitions {
			op := kmsg.NewOffsetFetchResponseGroupTopicPartition()
			op.Partition, op.Offset, op.ErrorCode = p, -1, code
			ot.Partitions = append(ot.Partitions, op)
		}
		out.Topics = append(out.Topics, ot)
	}
	return out
}
