package controller

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore/metalog"
)

// electionImage has brokers 1-3 (2 fenced) and topics "a" and "t":
//
//	a-0  replicas 1,3  ISR 1,3  leader 1   (its preferred leader leads)
//	t-0  replicas 1,3  ISR 1,3  leader 3   (1 may lead again)
//	t-1  replicas 3,1  ISR 1    leader 1   (3 is out of the ISR)
//	t-2  replicas 2,1  ISR 2,1  leader 1   (2 is fenced)
//	t-3  replicas 2,3  ISR 2    leader -1  (only 3, out of the ISR, is alive)
//	t-4  replicas 2,1  ISR 2,1  leader -1  (1 is in the ISR and alive)
//	t-5  replicas 2    ISR 2    leader -1  (nobody)
func electionImage(t *testing.T) *metadata.Image {
	t.Helper()
	part := func(leader int32, replicas, isr []int32) metadata.Partition {
		return metadata.Partition{Replicas: replicas, ISR: isr, Leader: leader, LeaderEpoch: 5, PartitionEpoch: 7}
	}
	brokers := []metadata.Broker{{NodeID: 1}, {NodeID: 2, Fenced: true}, {NodeID: 3}}
	return metadata.New("cluster", 1, 1, brokers, []metadata.Topic{
		{Name: "a", ID: [16]byte{1}, Partitions: []metadata.Partition{part(1, []int32{1, 3}, []int32{1, 3})}},
		{Name: "t", ID: [16]byte{2}, Partitions: []metadata.Partition{
			part(3, []int32{1, 3}, []int32{1, 3}),
			part(1, []int32{3, 1}, []int32{1}),
			part(1, []int32{2, 1}, []int32{2, 1}),
			part(-1, []int32{2, 3}, []int32{2}),
			part(-1, []int32{2, 1}, []int32{2, 1}),
			part(-1, []int32{2}, []int32{2}),
		}},
	})
}

// answers words the results: "t-0 NONE, t-1 PREFERRED_LEADER_NOT_AVAILABLE, ...".
func answers(topics []ElectedTopic) string {
	var out []string
	for _, t := range topics {
		if len(t.Partitions) == 0 {
			out = append(out, t.Topic+" -")
		}
		for _, p := range t.Partitions {
			code := "NONE"
			if p.Refusal != nil {
				code = kerrName(p.Refusal.Code)
			}
			out = append(out, fmt.Sprintf("%s-%d %s", t.Topic, p.Partition, code))
		}
	}
	return strings.Join(out, ", ")
}

// states words partitions after the records: "t-0 leader 1 epoch 6 isr [1 3]".
func states(t *testing.T, im *metadata.Image, recs []metadata.Record) string {
	t.Helper()
	after, err := im.Apply(recs...)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		c := r.(metadata.PartitionChangeRecord)
		tp, _ := after.TopicByID(c.TopicID)
		p := tp.Partitions[c.Partition]
		s := fmt.Sprintf("%s-%d leader %d epoch %d isr %v", tp.Name, c.Partition, p.Leader, p.LeaderEpoch, p.ISR)
		if p.LeaderRecoveryState == metalog.RecoveringLeader {
			s += " recovering"
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

func TestPlanElectLeaders(t *testing.T) {
	im := electionImage(t)
	all := []int32{0, 1, 2, 3, 4, 5}
	tests := []struct {
		name    string
		typ     int8
		topics  []ElectionTopic
		answers string
		states  string
		refusal string
	}{
		{name: "preferred", typ: ElectPreferred, topics: []ElectionTopic{{"t", all}, {"a", []int32{0}}},
			answers: "t-0 NONE, t-1 PREFERRED_LEADER_NOT_AVAILABLE, t-2 PREFERRED_LEADER_NOT_AVAILABLE, " +
				"t-3 PREFERRED_LEADER_NOT_AVAILABLE, t-4 NONE, t-5 PREFERRED_LEADER_NOT_AVAILABLE, a-0 ELECTION_NOT_NEEDED",
			// t-4: its preferred replica is fenced and it has no leader, so
			// the next one in the ISR leads, as Kafka's builder does.
			states: "t-0 leader 1 epoch 6 isr [1 3]; t-4 leader 1 epoch 6 isr [2 1]"},
		{name: "unclean", typ: ElectUnclean, topics: []ElectionTopic{{"t", all}, {"a", []int32{0}}},
			answers: "t-0 ELECTION_NOT_NEEDED, t-1 ELECTION_NOT_NEEDED, t-2 ELECTION_NOT_NEEDED, t-3 NONE, " +
				"t-4 NONE, t-5 ELIGIBLE_LEADERS_NOT_AVAILABLE, a-0 ELECTION_NOT_NEEDED",
			states: "t-3 leader 3 epoch 6 isr [3] recovering; t-4 leader 1 epoch 6 isr [2 1]"},
		// Every partition: the ones that needed no election are left out.
		{name: "all preferred", typ: ElectPreferred, topics: nil,
			answers: "a -, t-0 NONE, t-1 PREFERRED_LEADER_NOT_AVAILABLE, t-2 PREFERRED_LEADER_NOT_AVAILABLE, " +
				"t-3 PREFERRED_LEADER_NOT_AVAILABLE, t-4 NONE, t-5 PREFERRED_LEADER_NOT_AVAILABLE",
			states: "t-0 leader 1 epoch 6 isr [1 3]; t-4 leader 1 epoch 6 isr [2 1]"},
		{name: "all unclean", typ: ElectUnclean, topics: nil,
			answers: "a -, t-3 NONE, t-4 NONE, t-5 ELIGIBLE_LEADERS_NOT_AVAILABLE",
			states:  "t-3 leader 3 epoch 6 isr [3] recovering; t-4 leader 1 epoch 6 isr [2 1]"},
		{name: "unknown", typ: ElectPreferred, topics: []ElectionTopic{{"nope", []int32{0}}, {"t", []int32{6, -1}}, {"a", nil}},
			answers: "nope-0 UNKNOWN_TOPIC_OR_PARTITION, t-6 UNKNOWN_TOPIC_OR_PARTITION, " +
				"t--1 UNKNOWN_TOPIC_OR_PARTITION, a -"},
		// Named twice: one change, the same answer.
		{name: "twice", typ: ElectPreferred, topics: []ElectionTopic{{"t", []int32{0, 0}}, {"t", []int32{0}}},
			answers: "t-0 NONE, t-0 NONE, t-0 NONE", states: "t-0 leader 1 epoch 6 isr [1 3]"},
		{name: "bad type", typ: 2, topics: []ElectionTopic{{"t", all}}, refusal: "INVALID_REQUEST: Unknown election type 2"},
	}
	for _, tt := range tests {
		recs, got, r := PlanElectLeaders(im, tt.typ, tt.topics)
		if refused(r) != tt.refusal {
			t.Errorf("%s: refusal %q, want %q", tt.name, refused(r), tt.refusal)
			continue
		}
		if got := answers(got); got != tt.answers {
			t.Errorf("%s: answers\n got %s\nwant %s", tt.name, got, tt.answers)
		}
		if got := states(t, im, recs); got != tt.states {
			t.Errorf("%s: after\n got %s\nwant %s", tt.name, got, tt.states)
		}
	}
}

// The answers' messages are Kafka's.
func TestPlanElectLeadersMessages(t *testing.T) {
	_, got, _ := PlanElectLeaders(electionImage(t), ElectPreferred, []ElectionTopic{{"nope", []int32{0}},
		{"t", []int32{9, 1}}, {"a", []int32{0}}})
	var msgs []string
	for _, tp := range got {
		for _, p := range tp.Partitions {
			msgs = append(msgs, refused(p.Refusal))
		}
	}
	want := []string{"UNKNOWN_TOPIC_OR_PARTITION: No such topic as nope",
		"UNKNOWN_TOPIC_OR_PARTITION: No such partition as t-9",
		"PREFERRED_LEADER_NOT_AVAILABLE: The preferred leader was not available.",
		"ELECTION_NOT_NEEDED: Leader election not needed for topic partition."}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("messages\n got %q\nwant %q", msgs, want)
	}
}

// Too many elections for one change refuse the request.
func TestPlanElectLeadersTooMany(t *testing.T) {
	n := MaxRecordsPerChange + 1
	replicas := make([][]int32, n)
	for i := range replicas {
		replicas[i] = []int32{2, 1}
	}
	im := cluster(t, 2, topicRecs("big", 1, replicas...)...)
	// Every partition is led by 2; 1 leads none. Move them all to 1 by
	// hand, then elect 2 back everywhere.
	var recs []metadata.Record
	for i := range n {
		recs = append(recs, metadata.PartitionChangeRecord{TopicID: [16]byte{1}, Partition: int32(i), Leader: 1,
			LeaderRecoveryState: metalog.RecoveryStateUnchanged})
	}
	im, err := im.Apply(recs...)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, r := PlanElectLeaders(im, ElectPreferred, nil); refused(r) !=
		"POLICY_VIOLATION: Unable to perform excessively large batch operation." {
		t.Errorf("refusal %q", refused(r))
	}
	if recs, _, r := PlanElectLeaders(im, ElectPreferred, []ElectionTopic{{"big", []int32{0, 1}}}); r != nil ||
		len(recs) != 2 || !slices.ContainsFunc(recs, func(r metadata.Record) bool {
		return r.(metadata.PartitionChangeRecord).Leader == 2
	}) {
		t.Errorf("two partitions: %v %v", recs, refused(r))
	}
}
