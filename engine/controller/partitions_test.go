package controller

import (
	"reflect"
	"testing"
)

func TestPlanPartitions(t *testing.T) {
	im := cluster(t, 3, topicRecs("a", 1, []int32{1, 2}, []int32{2, 3})...)
	tests := []struct {
		name       string
		count      int32
		assignment [][]int32
		replicas   [][]int32
		refusal    string
	}{
		{name: "a", count: 4, replicas: [][]int32{{3, 1}, {1, 2}}}, // striped on from partition 2
		{name: "a", count: 3, assignment: [][]int32{{3, 2}}, replicas: [][]int32{{3, 2}}},
		{name: "b", count: 3, refusal: "UNKNOWN_TOPIC_OR_PARTITION: "},
		{name: "a", count: 2, refusal: "INVALID_PARTITIONS: Topic already has 2 partition(s)."},
		{name: "a", count: 1, refusal: "INVALID_PARTITIONS: The topic a currently has 2 partition(s); 1 would not be an increase."},
		{name: "a", count: 2 + MaxRecordsPerChange + 1,
			refusal: "POLICY_VIOLATION: Unable to perform excessively large batch operation."},
		{name: "a", count: 4, assignment: [][]int32{{3, 1}},
			refusal: "INVALID_REPLICA_ASSIGNMENT: Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified."},
		{name: "a", count: 3, assignment: [][]int32{},
			refusal: "INVALID_REPLICA_ASSIGNMENT: Attempted to add 1 additional partition(s), but only 0 assignment(s) were specified."},
		{name: "a", count: 3, assignment: [][]int32{{3}},
			refusal: "INVALID_REPLICA_ASSIGNMENT: The manual partition assignment includes a partition with 1 " +
				"replica(s), but this is not consistent with previous partitions, which have 2 replica(s)."},
		{name: "a", count: 3, assignment: [][]int32{{3, 4}},
			refusal: "INVALID_REPLICA_ASSIGNMENT: The manual partition assignment includes broker 4, but no such broker is registered."},
	}
	for _, tt := range tests {
		topic, replicas, isr, r := PlanPartitions(im, tt.name, tt.count, tt.assignment)
		if got := refused(r); got != tt.refusal {
			t.Errorf("%s to %d: refusal %q\nwant %q", tt.name, tt.count, got, tt.refusal)
			continue
		}
		if r != nil {
			continue
		}
		if topic.Name != tt.name || !reflect.DeepEqual(replicas, tt.replicas) || !reflect.DeepEqual(isr, tt.replicas) {
			t.Errorf("%s to %d: %v, want %v", tt.name, tt.count, replicas, tt.replicas)
		}
		if _, err := im.Apply(PartitionRecords(topic.ID, int32(len(topic.Partitions)), replicas, isr)...); err != nil {
			t.Errorf("%s to %d: records do not apply: %v", tt.name, tt.count, err)
		}
	}
}
