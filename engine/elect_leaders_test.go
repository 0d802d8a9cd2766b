package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore/metalog"
)

// twoBrokers is a broker of clusterArgs with broker 2 registered and
// unfenced; it returns 2's epoch.
func twoBrokers(t *testing.T, kv ...string) (*Broker, int64) {
	t.Helper()
	b := newTestBroker(t, append(append([]string{}, clusterArgs...), kv...)...)
	reg := controllerTrip(t, b, registration(b, 2, 1)).(*kmsg.BrokerRegistrationResponse)
	if hb := controllerTrip(t, b, heartbeat(2, reg.BrokerEpoch, reg.BrokerEpoch)).(*kmsg.BrokerHeartbeatResponse); hb.IsFenced {
		t.Fatalf("broker 2 still fenced: %+v", hb)
	}
	return b, reg.BrokerEpoch
}

// createAssigned creates topic name with the replicas given by partition.
func createAssigned(t *testing.T, b *Broker, name string, replicas ...[]int32) {
	t.Helper()
	topic := kmsg.CreateTopicsRequestTopic{Topic: name, NumPartitions: -1, ReplicationFactor: -1}
	for i, r := range replicas {
		topic.ReplicaAssignment = append(topic.ReplicaAssignment,
			kmsg.CreateTopicsRequestTopicReplicaAssignment{Partition: int32(i), Replicas: r})
	}
	rt := roundTrip(t, b, createReq(7, false, topic)).(*kmsg.CreateTopicsResponse).Topics[0]
	if rt.ErrorCode != 0 {
		t.Fatalf("create %s: %+v %s", name, rt, msgOf(rt.ErrorMessage))
	}
}

// changeByHand commits partition changes as if the leaders had moved.
func changeByHand(t *testing.T, b *Broker, topic string, index, leader int32, isr ...int32) {
	t.Helper()
	tp, _ := b.image.Load().Topic(topic)
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	im, err := b.commitLocked([]metadata.Record{metadata.PartitionChangeRecord{TopicID: tp.ID, Partition: index,
		Leader: leader, ISR: isr, LeaderRecoveryState: metalog.RecoveryStateUnchanged}})
	if err != nil {
		t.Fatal(err)
	}
	b.publishLocked(im)
}

func partitionOf(b *Broker, topic string, index int32) metadata.Partition {
	tp, _ := b.image.Load().Topic(topic)
	return tp.Partitions[index]
}

func electReq(v int16, typ int8, topics ...kmsg.ElectLeadersRequestTopic) *kmsg.ElectLeadersRequest {
	req := kmsg.NewPtrElectLeadersRequest()
	req.Version, req.ElectionType, req.Topics = v, typ, topics
	return req
}

func electTopic(name string, partitions ...int32) kmsg.ElectLeadersRequestTopic {
	return kmsg.ElectLeadersRequestTopic{Topic: name, Partitions: partitions}
}

// elected words a response: "t-0 NONE, t-1 ELECTION_NOT_NEEDED" and the
// top-level error when there is one.
func elected(resp *kmsg.ElectLeadersResponse) string {
	var out []string
	if resp.ErrorCode != 0 {
		out = append(out, "top "+kerr.ErrorForCode(resp.ErrorCode).(*kerr.Error).Message)
	}
	for _, t := range resp.Topics {
		if len(t.Partitions) == 0 {
			out = append(out, t.Topic+" -")
		}
		for _, p := range t.Partitions {
			code := "NONE"
			if p.ErrorCode != 0 {
				code = kerr.ErrorForCode(p.ErrorCode).(*kerr.Error).Message
			}
			out = append(out, fmt.Sprintf("%s-%d %s", t.Topic, p.Partition, code))
		}
	}
	return strings.Join(out, ", ")
}

// Preferred elections move leadership back to the first replica with a
// new leader epoch, in every version; unclean ones elect a live replica
// for a partition without a leader.
func TestElectLeaders(t *testing.T) {
	b, _ := twoBrokers(t)
	createAssigned(t, b, "t", []int32{2, 1}, []int32{1, 2})
	changeByHand(t, b, "t", 0, 1) // 2 is in the ISR but 1 leads

	resp := roundTrip(t, b, electReq(2, 0, electTopic("t", 0, 1, 7), electTopic("nope", 0))).(*kmsg.ElectLeadersResponse)
	if got, want := elected(resp), "t-0 NONE, t-1 ELECTION_NOT_NEEDED, t-7 UNKNOWN_TOPIC_OR_PARTITION, "+
		"nope-0 UNKNOWN_TOPIC_OR_PARTITION"; got != want {
		t.Errorf("preferred:\n got %s\nwant %s", got, want)
	}
	if msg := msgOf(resp.Topics[0].Partitions[2].ErrorMessage); msg != "No such partition as t-7" {
		t.Errorf("message %q", msg)
	}
	if p := partitionOf(b, "t", 0); p.Leader != 2 || p.LeaderEpoch != 2 || !slices.Equal(p.ISR, []int32{2, 1}) {
		t.Errorf("t-0 after the election: %+v", p)
	}

	// v0 has no election type: preferred. Null topics: every partition,
	// without those that need none; on a controller listener too.
	changeByHand(t, b, "t", 0, 1)
	for i, v := range []int16{0, 1} {
		req := electReq(v, 0)
		req.Topics = nil
		listener := []string{"PLAINTEXT", "CONTROLLER"}[i]
		r, err := tryRoundTrip(b, listener, req)
		if err != nil {
			t.Fatalf("v%d on %s: %v", v, listener, err)
		}
		want := "t-0 NONE"
		if i == 1 {
			want = "t -"
		}
		if got := elected(r.(*kmsg.ElectLeadersResponse)); got != want {
			t.Errorf("v%d all on %s: %s, want %s", v, listener, got, want)
		}
	}
	if p := partitionOf(b, "t", 0); p.Leader != 2 || p.LeaderEpoch != 4 {
		t.Errorf("t-0 after the second election: %+v", p)
	}

	// 2's session expires: it leaves the ISRs and t-0's leadership.
	b.lifeTickOnce(time.Now().Add(time.Second))
	if got := elected(roundTrip(t, b, electReq(1, 0, electTopic("t", 0))).(*kmsg.ElectLeadersResponse)); got !=
		"t-0 PREFERRED_LEADER_NOT_AVAILABLE" {
		t.Errorf("preferred while 2 is fenced: %s", got)
	}
	// t-1 loses its leader while only 2 is in its ISR: an unclean
	// election gives it to 1, alone in the ISR and recovering.
	changeByHand(t, b, "t", 1, -1, 2)
	if got := elected(roundTrip(t, b, electReq(2, 1, electTopic("t", 0, 1))).(*kmsg.ElectLeadersResponse)); got !=
		"t-0 ELECTION_NOT_NEEDED, t-1 NONE" {
		t.Errorf("unclean: %s", got)
	}
	if p := partitionOf(b, "t", 1); p.Leader != 1 || !slices.Equal(p.ISR, []int32{1}) ||
		p.LeaderRecoveryState != metalog.RecoveringLeader {
		t.Errorf("t-1 after the unclean election: %+v", p)
	}
}

// An unknown election type answers the request, at the top (v1+) and for
// every partition named; nothing changes.
func TestElectLeadersBadType(t *testing.T) {
	b, _ := twoBrokers(t)
	createAssigned(t, b, "t", []int32{2, 1})
	changeByHand(t, b, "t", 0, 1)
	resp := roundTrip(t, b, electReq(2, 2, electTopic("t", 0), electTopic("nope", 3))).(*kmsg.ElectLeadersResponse)
	if got, want := elected(resp), "top INVALID_REQUEST, t-0 INVALID_REQUEST, nope-3 INVALID_REQUEST"; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if msg := msgOf(resp.Topics[0].Partitions[0].ErrorMessage); msg != "Unknown election type 2" {
		t.Errorf("message %q", msg)
	}
	if p := partitionOf(b, "t", 0); p.Leader != 1 {
		t.Errorf("t-0 changed: %+v", p)
	}
}
