package controller

import (
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/engine/metadata"
)

// PlanPartitions validates a topic's growth to count partitions as
// Kafka's controller does and gives the new partitions their replicas:
// the topic's replication factor striped over the brokers, or assignment
// (one replica list per new partition; nil for none), and their ISRs
// (the active replicas, activeISR).
func PlanPartitions(im *metadata.Image, name string, count int32,
	assignment [][]int32) (*metadata.Topic, [][]int32, [][]int32, *Refusal) {
	t, replicas, r := planPartitions(im, name, count, assignment)
	if r != nil {
		return nil, nil, nil, r
	}
	isr, r := activeISR(im, replicas, assignment != nil)
	if r != nil {
		return nil, nil, nil, r
	}
	return t, replicas, isr, nil
}

func planPartitions(im *metadata.Image, name string, count int32,
	assignment [][]int32) (*metadata.Topic, [][]int32, *Refusal) {
	t, ok := im.Topic(name)
	if !ok {
		return nil, nil, RefuseCode(kerr.UnknownTopicOrPartition)
	}
	have := int32(len(t.Partitions))
	if count == have {
		return nil, nil, Refuse(kerr.InvalidPartitions, "Topic already has %d partition(s).", have)
	}
	if count < have {
		return nil, nil, Refuse(kerr.InvalidPartitions, "The topic %s currently has %d partition(s); "+
			"%d would not be an increase.", name, have, count)
	}
	add := count - have
	if add > MaxRecordsPerChange {
		return nil, nil, tooLarge()
	}
	rf := len(t.Partitions[0].Replicas)
	if assignment == nil {
		replicas, r := stripeReplicas(im, have, add, int32(rf))
		return t, replicas, r
	}
	if len(assignment) != int(add) {
		return nil, nil, Refuse(kerr.InvalidReplicaAssignment, "Attempted to add %d additional partition(s), "+
			"but only %d assignment(s) were specified.", add, len(assignment))
	}
	replicas := make([][]int32, add)
	for i, a := range assignment {
		if r := checkAssignment(im, a, rf); r != nil {
			return nil, nil, r
		}
		replicas[i] = a
	}
	return t, replicas, nil
}
