package engine

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func describeQuorumReq(v int16, topic string, partitions ...int32) *kmsg.DescribeQuorumRequest {
	req := kmsg.NewPtrDescribeQuorumRequest()
	req.Version = v
	t := kmsg.NewDescribeQuorumRequestTopic()
	t.Topic = topic
	for _, p := range partitions {
		rp := kmsg.NewDescribeQuorumRequestTopicPartition()
		rp.Partition = p
		t.Partitions = append(t.Partitions, rp)
	}
	req.Topics = append(req.Topics, t)
	return req
}

// On one node, the node leads the metadata quorum and is its sole voter,
// at the metadata log's end, with now as its fetch and caught-up times.
func TestDescribeQuorum(t *testing.T) {
	b := newTestBroker(t, clusterArgs...)
	createTopic(t, b, "a", 1)
	end := b.ctl.proposer.NextOffset()
	for v := int16(0); v <= 2; v++ {
		before := time.Now().UnixMilli()
		for _, listener := range []string{"PLAINTEXT", "CONTROLLER"} {
			resp, err := tryRoundTrip(b, listener, describeQuorumReq(v, "__cluster_metadata", 0))
			if err != nil {
				t.Fatalf("v%d on %s: %v", v, listener, err)
			}
			q := resp.(*kmsg.DescribeQuorumResponse)
			if q.ErrorCode != 0 || len(q.Topics) != 1 || q.Topics[0].Topic != "__cluster_metadata" || len(q.Topics[0].Partitions) != 1 {
				t.Fatalf("v%d: %+v", v, q)
			}
			p := q.Topics[0].Partitions[0]
			if p.ErrorCode != 0 || p.LeaderID != 1 || p.LeaderEpoch != 1 || p.HighWatermark != end ||
				len(p.CurrentVoters) != 1 || len(p.Observers) != 0 {
				t.Fatalf("v%d: partition %+v", v, p)
			}
			voter := p.CurrentVoters[0]
			if voter.ReplicaID != 1 || voter.LogEndOffset != end || voter.ReplicaDirectoryID != [16]byte{} {
				t.Errorf("v%d: voter %+v", v, voter)
			}
			if v >= 1 && (voter.LastFetchTimestamp < before || voter.LastCaughtUpTimestamp != voter.LastFetchTimestamp) {
				t.Errorf("v%d: voter times %+v (before %d)", v, voter, before)
			}
			want := []kmsg.DescribeQuorumResponseNode(nil)
			if v >= 2 {
				want = []kmsg.DescribeQuorumResponseNode{{NodeID: 1, Listeners: []kmsg.DescribeQuorumResponseNodeListener{
					{Name: "CONTROLLER", Host: "127.0.0.1", Port: 9093}}}}
			}
			if !reflect.DeepEqual(q.Nodes, want) {
				t.Errorf("v%d: nodes %+v", v, q.Nodes)
			}
		}
	}
	// Anything but __cluster_metadata-0 is unknown, partition by partition.
	for _, req := range []*kmsg.DescribeQuorumRequest{describeQuorumReq(2, "a", 0), describeQuorumReq(2, "__cluster_metadata", 1),
		describeQuorumReq(2, "__cluster_metadata", 0, 1)} {
		q := roundTrip(t, b, req).(*kmsg.DescribeQuorumResponse)
		ps := q.Topics[0].Partitions
		if len(ps) != len(req.Topics[0].Partitions) {
			t.Fatalf("%+v: %+v", req.Topics, q)
		}
		for _, p := range ps {
			if p.ErrorCode != kerr.UnknownTopicOrPartition.Code || msgOf(p.ErrorMessage) != kerr.UnknownTopicOrPartition.Description {
				t.Errorf("%+v: %+v", req.Topics, p)
			}
		}
	}
}

// With a static one-voter quorum, the voter's endpoint is the configured
// one, under the first controller listener name.
func TestDescribeQuorumStaticVoter(t *testing.T) {
	b := newTestBroker(t, append(clusterArgs, "controller.quorum.voters=1@controller-1.example:9093")...)
	q := roundTrip(t, b, describeQuorumReq(2, "__cluster_metadata", 0)).(*kmsg.DescribeQuorumResponse)
	if len(q.Nodes) != 1 || !reflect.DeepEqual(q.Nodes[0].Listeners, []kmsg.DescribeQuorumResponseNodeListener{
		{Name: "CONTROLLER", Host: "controller-1.example", Port: 9093}}) {
		t.Errorf("nodes %+v", q.Nodes)
	}
}

func dtpReq(limit int32, cursor *kmsg.DescribeTopicPartitionsRequestCursor, topics ...string) *kmsg.DescribeTopicPartitionsRequest {
	req := kmsg.NewPtrDescribeTopicPartitionsRequest()
	req.ResponsePartitionLimit, req.Cursor = limit, cursor
	for _, name := range topics {
		t := kmsg.NewDescribeTopicPartitionsRequestTopic()
		t.Topic = name
		req.Topics = append(req.Topics, t)
	}
	return req
}

// page words a response: "topic:partitions,..." then "> cursor" if any.
func page(resp *kmsg.DescribeTopicPartitionsResponse) string {
	var parts []string
	for _, t := range resp.Topics {
		s := *t.Topic + ":"
		if t.ErrorCode != 0 {
			s += kerr.ErrorForCode(t.ErrorCode).(*kerr.Error).Message
		}
		for i, p := range t.Partitions {
			if i > 0 {
				s += "."
			}
			s += itoa(p.Partition)
		}
		parts = append(parts, s)
	}
	out := strings.Join(parts, " ")
	if resp.NextCursor != nil {
		out += " > " + resp.NextCursor.Topic + "-" + itoa(resp.NextCursor.Partition)
	}
	return out
}

// Pages of DescribeTopicPartitions follow the cursor as Kafka's do.
func TestDescribeTopicPartitionsPaging(t *testing.T) {
	b := newTopicBroker(t, "max.request.partition.size.limit=5")
	createTopic(t, b, "a", 3)
	createTopic(t, b, "b", 2)
	createTopic(t, b, "c", 4)
	cur := func(topic string, p int32) *kmsg.DescribeTopicPartitionsRequestCursor {
		return &kmsg.DescribeTopicPartitionsRequestCursor{Topic: topic, Partition: p}
	}
	tests := []struct {
		req  *kmsg.DescribeTopicPartitionsRequest
		want string
	}{
		{dtpReq(100, nil), "a:0.1.2 b:0.1 > c-0"},                    // capped at 5
		{dtpReq(4, nil), "a:0.1.2 b:0 > b-1"},                        // the limit cuts b
		{dtpReq(3, nil), "a:0.1.2 > b-0"},                            // a topic with no room: no entry
		{dtpReq(4, cur("b", 1)), "b:1 c:0.1.2 > c-3"},                // from the cursor on, to the end
		{dtpReq(2, cur("c", 2)), "c:2.3"},                            // the last page
		{dtpReq(0, nil), "a:0 > a-1"},                                // at least one
		{dtpReq(5, nil, "c", "zz", "a", "c"), "a:0.1.2 c:0.1 > c-2"}, // sorted, each once
		{dtpReq(5, nil, "zz", "bad/name"), "bad/name:INVALID_TOPIC_EXCEPTION zz:UNKNOWN_TOPIC_OR_PARTITION"},
		{dtpReq(5, cur("b", 0), "a", "c"), "a:INVALID_REQUEST c:INVALID_REQUEST"}, // the cursor's topic not asked
		{dtpReq(5, cur("a", -1)), ""},       // a bad partition; no topic asked
		{dtpReq(5, cur("c", 9), "c"), "c:"}, // past the last partition
	}
	for _, tt := range tests {
		if got := page(roundTrip(t, b, tt.req).(*kmsg.DescribeTopicPartitionsResponse)); got != tt.want {
			t.Errorf("limit %d cursor %+v topics %+v:\n got %q\nwant %q", tt.req.ResponsePartitionLimit, tt.req.Cursor,
				tt.req.Topics, got, tt.want)
		}
	}
}

// Each partition as Kafka 4 describes it, with the ELR fields empty.
func TestDescribeTopicPartitionsFields(t *testing.T) {
	b := newTopicBroker(t, clusterArgs...)
	id := createTopic(t, b, "a", 2).TopicID
	resp := roundTrip(t, b, dtpReq(10, nil, "a", "__consumer_offsets")).(*kmsg.DescribeTopicPartitionsResponse)
	if len(resp.Topics) != 2 || resp.NextCursor != nil {
		t.Fatalf("%+v", resp)
	}
	co, a := resp.Topics[0], resp.Topics[1]
	if *co.Topic != "__consumer_offsets" || co.ErrorCode != kerr.UnknownTopicOrPartition.Code || !co.IsInternal {
		t.Errorf("missing internal topic: %+v", co)
	}
	if *a.Topic != "a" || a.TopicID != id || a.IsInternal || a.AuthorizedOperations != 3576 || len(a.Partitions) != 2 {
		t.Fatalf("topic %+v", a)
	}
	p := a.Partitions[1]
	if p.Partition != 1 || p.LeaderID != 1 || p.LeaderEpoch != 0 || !slices.Equal(p.Replicas, []int32{1}) ||
		!slices.Equal(p.ISR, []int32{1}) || p.EligibleLeaderReplicas == nil || len(p.EligibleLeaderReplicas) != 0 ||
		p.LastKnownELR == nil || len(p.LastKnownELR) != 0 || len(p.OfflineReplicas) != 0 || p.ErrorCode != 0 {
		t.Errorf("partition %+v", p)
	}
	// Only on broker listeners.
	if _, err := tryRoundTrip(b, "CONTROLLER", dtpReq(10, nil)); err == nil {
		t.Errorf("served on the controller listener")
	}
}
