package tools

// What reset-offsets reads from the cluster before it plans: the group's
// state, its committed offsets and the logs' bounds.

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// checkInactive refuses a group with members, as Kafka does: their
// commits would overwrite the reset, and the broker takes commits from an
// admin only while the group is Empty (or unknown: Dead).
func checkInactive(s *session, cn *conn, g string) string {
	described, err := s.adm.DescribeGroups(s.ctx, g)
	if err != nil {
		return fmt.Sprintf("group %s: %s", g, cn.explain(err))
	}
	d, ok := described[g]
	switch {
	case !ok:
		return fmt.Sprintf("group %s: the broker did not describe it", g)
	case errors.Is(d.Err, kerr.GroupIDNotFound):
		return ""
	case d.Err != nil:
		return fmt.Sprintf("group %s: %s", g, groupProblem(d.Err, d.ErrMessage))
	case d.State != "Empty" && d.State != "Dead":
		return fmt.Sprintf("cannot reset offsets of group %s: it has active members (state %s); "+
			"stop its consumers first", g, d.State)
	}
	return ""
}

// resetStates gathers, for each partition to reset, the committed offset
// and the log's start and end (and with --to-datetime, the offset at).
func resetStates(s *session, cn *conn, g string, sels []topicSelection, byTime bool, at int64) (
	[]partitionState, string) {
	committed, err := s.adm.FetchOffsets(s.ctx, g)
	if err != nil {
		return nil, fmt.Sprintf("group %s: %s", g, requestProblem(cn, err, groupProblem))
	}
	if err := committed.Error(); err != nil {
		return nil, fmt.Sprintf("group %s: fetching its offsets: %v", g, err)
	}
	parts, problem := resetPartitions(s, cn, committed, sels)
	if problem != "" || len(parts) == 0 {
		return nil, problem
	}
	topics := parts.Topics()
	starts, err := s.adm.ListStartOffsets(s.ctx, topics...)
	if err != nil {
		return nil, cn.explain(err)
	}
	ends, err := s.adm.ListEndOffsets(s.ctx, topics...)
	if err != nil {
		return nil, cn.explain(err)
	}
	times := ends
	if byTime {
		if times, err = s.adm.ListOffsetsAfterMilli(s.ctx, at, topics...); err != nil {
			return nil, cn.explain(err)
		}
	}
	var states []partitionState
	for _, tp := range parts.Sorted() {
		for _, p := range tp.Partitions {
			st := partitionState{topic: tp.Topic, partition: p, committed: -1}
			if o, ok := committed.Lookup(tp.Topic, p); ok {
				st.committed = o.At
			}
			var problem string
			st.start, problem = listedOffset(starts, tp.Topic, p)
			if problem == "" {
				st.end, problem = listedOffset(ends, tp.Topic, p)
			}
			if problem == "" {
				st.atTime, problem = listedOffset(times, tp.Topic, p)
			}
			if problem != "" {
				return nil, problem
			}
			states = append(states, st)
		}
	}
	return states, ""
}

// resetPartitions are the partitions --topic or --all-topics choose.
func resetPartitions(s *session, cn *conn, committed kadm.OffsetResponses, sels []topicSelection) (
	kadm.TopicsSet, string) {
	set := make(kadm.TopicsSet)
	if sels == nil { // --all-topics
		committed.Each(func(o kadm.OffsetResponse) {
			if o.At >= 0 {
				set.Add(o.Topic, o.Partition)
			}
		})
		return set, ""
	}
	var names []string
	for _, sel := range sels {
		names = append(names, sel.topic)
	}
	details, err := s.adm.ListTopics(s.ctx, names...)
	if err != nil {
		return nil, cn.explain(err)
	}
	for _, sel := range sels {
		d := details[sel.topic]
		if d.Err != nil {
			return nil, topicError(sel.topic, d.Err)
		}
		if sel.partitions == nil {
			set.Add(sel.topic, d.Partitions.Numbers()...)
			continue
		}
		for _, p := range sel.partitions {
			if _, ok := d.Partitions[p]; !ok {
				return nil, fmt.Sprintf("topic %s has no partition %d (it has %d)", sel.topic, p, len(d.Partitions))
			}
		}
		set.Add(sel.topic, sel.partitions...)
	}
	return set, ""
}

func listedOffset(l kadm.ListedOffsets, topic string, p int32) (int64, string) {
	o, ok := l.Lookup(topic, p)
	switch {
	case !ok:
		return 0, fmt.Sprintf("%s:%d: the broker listed no offset", topic, p)
	case o.Err != nil:
		return 0, fmt.Sprintf("%s:%d: listing offsets: %v", topic, p, o.Err)
	}
	return o.Offset, ""
}
