package engine

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
	"github.com/weirmq/weir/engine/metadata"
)

// DescribeTopicPartitions: v0
//
// Behavior (KIP-966, as Kafka 4's DescribeTopicPartitionsRequestHandler and
// KRaftMetadataCache answer; kafka-topics.sh --describe sends it):
// * Served on broker listeners only (the spec's "listeners": ["broker"]).
// * No topics asks for every topic. Topics go in name order from the
//   cursor's topic on, partitions in index order from the cursor's
//   partition on (for that topic); at most ResponsePartitionLimit
//   partitions in all, capped by max.request.partition.size.limit and at
//   least 1. Where the limit stops the answer, NextCursor names the next
//   topic and partition; a topic with no room left gets no entry.
// * A cursor whose topic is not among the topics asked, or whose
//   partition is negative, is INVALID_REQUEST for every topic asked.
// * A topic asked by name that does not exist: UNKNOWN_TOPIC_OR_PARTITION
//   (INVALID_TOPIC_EXCEPTION for an illegal name), no id, no partitions.
// * Each partition: leader (-1 when none or not registered on this
//   listener), leader epoch, every replica, the ISR, the offline replicas
//   (not registered, fenced, or without this listener); eligible and
//   last-known leader replicas empty (Weir writes no ELR). No partition
//   error.
// * Authorized operations: with no authorizer Kafka allows, and reports,
//   every topic operation.

func init() {
	register(api{key: 75, min: 0, max: 0, handle: handleDescribeTopicPartitions, only: brokerListener})
}

// topicOperations is the bit field of every topic ACL operation (READ 3,
// WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, DESCRIBE_CONFIGS 10,
// ALTER_CONFIGS 11), what Kafka reports with no authorizer.
const topicOperations = 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<10 | 1<<11

func handleDescribeTopicPartitions(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeTopicPartitionsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeTopicPartitionsResponse)
	im := r.image
	fetchAll := len(req.Topics) == 0
	cursor := ""
	if req.Cursor != nil {
		cursor = req.Cursor.Topic
	}
	var names []string
	if fetchAll {
		for _, t := range im.Topics() {
			if t.Name >= cursor {
				names = append(names, t.Name)
			}
		}
	} else {
		for _, t := range req.Topics {
			if t.Topic >= cursor && !slices.Contains(names, t.Topic) {
				names = append(names, t.Topic)
			}
		}
		slices.Sort(names)
	}
	if req.Cursor != nil && (!fetchAll && !slices.Contains(names, cursor) || req.Cursor.Partition < 0) {
		for _, t := range req.Topics {
			rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
			rt.Topic, rt.ErrorCode, rt.Partitions = kmsg.StringPtr(t.Topic), kerr.InvalidRequest.Code,
				[]kmsg.DescribeTopicPartitionsResponseTopicPartition{}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil
	}
	limit := max(min(b.brokerConfig().Int("max.request.partition.size.limit"), req.ResponsePartitionLimit), 1)
	remaining := int(limit)
	for _, name := range names {
		if remaining == 0 {
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name}
			break
		}
		t, ok := im.Topic(name)
		if !ok {
			if !fetchAll {
				resp.Topics = append(resp.Topics, missingTopicPartitions(name))
			}
			continue
		}
		start := 0
		if name == cursor {
			start = int(req.Cursor.Partition)
		}
		upper := min(len(t.Partitions), start+remaining)
		rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
		rt.Topic, rt.TopicID, rt.IsInternal = kmsg.StringPtr(name), t.ID, t.Internal
		rt.AuthorizedOperations = topicOperations
		rt.Partitions = []kmsg.DescribeTopicPartitionsResponseTopicPartition{}
		for i := start; i < upper; i++ {
			rt.Partitions = append(rt.Partitions, describePartition(im, r.listener, int32(i), &t.Partitions[i]))
		}
		resp.Topics = append(resp.Topics, rt)
		if upper < len(t.Partitions) {
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: int32(upper)}
			break
		}
		remaining -= len(rt.Partitions)
	}
	return resp, nil
}

func describePartition(im *metadata.Image, listener string, i int32,
	p *metadata.Partition) kmsg.DescribeTopicPartitionsResponseTopicPartition {
	sp := kmsg.NewDescribeTopicPartitionsResponseTopicPartition()
	sp.Partition, sp.LeaderID, sp.LeaderEpoch = i, p.Leader, p.LeaderEpoch
	if !reachable(im, listener, p.Leader) {
		sp.LeaderID = -1
	}
	sp.Replicas, sp.ISR = slices.Clone(p.Replicas), slices.Clone(p.ISR)
	sp.EligibleLeaderReplicas, sp.LastKnownELR = []int32{}, []int32{}
	sp.OfflineReplicas = offlineReplicas(im, listener, p.Replicas)
	return sp
}

// missingTopicPartitions answers a topic asked by name that does not
// exist.
func missingTopicPartitions(name string) kmsg.DescribeTopicPartitionsResponseTopic {
	rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
	rt.Topic, rt.IsInternal, rt.AuthorizedOperations = kmsg.StringPtr(name), metadata.IsInternal(name), topicOperations
	rt.ErrorCode = kerr.UnknownTopicOrPartition.Code
	if controller.TopicNameError(name) != "" {
		rt.ErrorCode = kerr.InvalidTopicException.Code
	}
	rt.Partitions = []kmsg.DescribeTopicPartitionsResponseTopicPartition{}
	return rt
}
