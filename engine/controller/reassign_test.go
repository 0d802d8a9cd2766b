package controller

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/engine/metadata"
)

// Reassigning t-3 (replicas 1,3, ISR 1, leader 1) to 2,3: the replicas are
// the target then the leaving one, 2 is being added and 1 removed; when
// the ISR holds 2 and 3 the reassignment completes, 1 leaves and a target
// replica leads. Cancels, refusals and a move with nothing to add too.
func TestPlanReassignments(t *testing.T) {
	im := brokersImage(t, 3, topicT()...)
	part := func(im *metadata.Image, i int) metadata.Partition { tp, _ := im.Topic("t"); return tp.Partitions[i] }
	apply := func(im *metadata.Image, recs ...metadata.Record) *metadata.Image {
		t.Helper()
		next, err := im.Apply(recs...)
		if err != nil {
			t.Fatal(err)
		}
		return next
	}
	recs, codes := PlanReassignments(im, []Reassignment{{Topic: "t", Partition: 3, Replicas: []int32{2, 3}}})
	if codes[0] != nil || len(recs) != 1 {
		t.Fatalf("start: %v %v", codes, recs)
	}
	moving := apply(im, recs...)
	p := part(moving, 3)
	if !slices.Equal(p.Replicas, []int32{2, 3, 1}) || !slices.Equal(p.AddingReplicas, []int32{2}) ||
		!slices.Equal(p.RemovingReplicas, []int32{1}) || p.Leader != 1 {
		t.Fatalf("in progress: %+v", p)
	}
	if _, done := CompleteReassignment(moving, [16]byte{1}, 3, p, []int32{1, 3}); done {
		t.Errorf("complete without 2 in the ISR")
	}
	rec, done := CompleteReassignment(moving, [16]byte{1}, 3, p, []int32{1, 2, 3})
	if !done {
		t.Fatalf("not complete with the whole target in the ISR")
	}
	after := part(apply(moving, metadata.PartitionChangeRecord{TopicID: [16]byte{1}, Partition: 3,
		Leader: -2, LeaderRecoveryState: none, ISR: []int32{1, 2, 3}}, rec), 3)
	if !slices.Equal(after.Replicas, []int32{2, 3}) || !slices.Equal(after.ISR, []int32{2, 3}) || after.Leader != 2 ||
		after.AddingReplicas != nil || after.RemovingReplicas != nil || after.LeaderEpoch <= p.LeaderEpoch {
		t.Errorf("completed: %+v", after)
	}
	// Cancel: back to 1 and 3 (in the order they stand now, as Kafka's
	// revert leaves them), nothing in progress.
	recs, codes = PlanReassignments(moving, []Reassignment{{Topic: "t", Partition: 3}})
	if codes[0] != nil {
		t.Fatal(codes[0])
	}
	if back := part(apply(moving, recs...), 3); !slices.Equal(back.Replicas, []int32{3, 1}) ||
		back.AddingReplicas != nil || back.RemovingReplicas != nil || back.Leader != 1 {
		t.Errorf("cancelled: %+v", back)
	}
	// Nothing to add (a replica leaves): at once.
	recs, _ = PlanReassignments(im, []Reassignment{{Topic: "t", Partition: 0, Replicas: []int32{2, 3}}})
	if p0 := part(apply(im, recs...), 0); !slices.Equal(p0.Replicas, []int32{2, 3}) || p0.Leader != 2 ||
		!slices.Equal(p0.ISR, []int32{2, 3}) {
		t.Errorf("shrunk: %+v", p0)
	}
	for _, tt := range []struct {
		r    Reassignment
		want int16
	}{
		{Reassignment{Topic: "nope", Partition: 0, Replicas: []int32{1}}, kerr.UnknownTopicOrPartition.Code},
		{Reassignment{Topic: "t", Partition: 9, Replicas: []int32{1}}, kerr.UnknownTopicOrPartition.Code},
		{Reassignment{Topic: "t", Partition: 3}, kerr.NoReassignmentInProgress.Code},
		{Reassignment{Topic: "t", Partition: 3, Replicas: []int32{}}, kerr.InvalidReplicaAssignment.Code},
		{Reassignment{Topic: "t", Partition: 3, Replicas: []int32{2, 2}}, kerr.InvalidReplicaAssignment.Code},
		{Reassignment{Topic: "t", Partition: 3, Replicas: []int32{2, 9}}, kerr.InvalidReplicaAssignment.Code},
	} {
		recs, codes := PlanReassignments(im, []Reassignment{tt.r})
		if codes[0] == nil || codes[0].Code != tt.want || len(recs) != 0 {
			t.Errorf("%+v: %v %v", tt.r, codes[0], recs)
		}
	}
	// Through AlterPartition: the leader adding 2 to the ISR completes it.
	rs, res, refused := PlanAlterPartition(moving, 1, 10, []ISRChange{{TopicID: [16]byte{1}, Partition: 3,
		LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: []int32{1, 2, 3}}})
	if refused != nil || len(rs) != 2 || res[0].Code != 0 || !slices.Equal(res[0].Partition.Replicas, []int32{2, 3}) {
		t.Errorf("AlterPartition completing it: %v %+v %+v", refused, rs, res)
	}
}
