package tools

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"

	"github.com/twmb/franz-go/pkg/kadm"
)

var topicReassignCmd = command{
	name: "topic reassign",
	usage: "weir topic reassign (--reassignment-json-file F | --topic T --partition N --replicas A,B,...) " +
		"(--execute | --verify | --cancel) | --list",
	summary: "Move partitions to other brokers (AlterPartitionReassignments, KIP-455), like " +
		"kafka-reassign-partitions.sh: the plan is Kafka's JSON, {\"version\":1,\"partitions\":[{\"topic\":...," +
		"\"partition\":...,\"replicas\":[...]}]}; --verify says which moves are complete, --list shows those in progress.",
	examples: `
		weir topic reassign --topic orders --partition 0 --replicas 2,3 --execute
		weir topic reassign --reassignment-json-file plan.json --execute
		weir topic reassign --reassignment-json-file plan.json --verify
		weir topic reassign --reassignment-json-file plan.json --cancel
		weir topic reassign --list`,
}

// reassignPlan is kafka-reassign-partitions.sh's JSON.
type reassignPlan struct {
	Version    int `json:"version"`
	Partitions []struct {
		Topic     string  `json:"topic"`
		Partition int32   `json:"partition"`
		Replicas  []int32 `json:"replicas"`
	} `json:"partitions"`
}

// reassignState is one partition's line of the output.
type reassignState struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Replicas  []int32 `json:"replicas,omitempty"`
	Adding    []int32 `json:"adding_replicas,omitempty"`
	Removing  []int32 `json:"removing_replicas,omitempty"`
	State     string  `json:"state"` // started, cancelled, completed, in progress
	Error     string  `json:"error,omitempty"`
}

func topicReassign(args []string, io IO) int {
	c := topicReassignCmd
	a := newAdmin(c, io)
	file := a.fs.String("reassignment-json-file", "", "the plan, Kafka's JSON")
	topic := a.fs.String("topic", "", "with --partition and --replicas: a plan of one partition")
	partition := a.fs.Int32("partition", -1, "the partition of --topic")
	replicas := a.fs.Int32Slice("replicas", nil, "the partition's new replicas, the preferred leader first")
	execute := a.fs.Bool("execute", false, "start the plan's moves")
	verify := a.fs.Bool("verify", false, "say which of the plan's moves are complete")
	cancel := a.fs.Bool("cancel", false, "cancel the plan's moves in progress")
	list := a.fs.Bool("list", false, "list the moves in progress")
	if code, done := a.parse(args); done {
		return code
	}
	modes := 0
	for _, m := range []bool{*execute, *verify, *cancel, *list} {
		if m {
			modes++
		}
	}
	if modes != 1 {
		return usageError(c, io, "give one of --execute, --verify, --cancel, --list")
	}
	var plan reassignPlan
	switch {
	case *list:
	case *file != "" && *topic != "":
		return usageError(c, io, "give --reassignment-json-file or --topic, not both")
	case *file != "":
		data, err := os.ReadFile(*file)
		if err != nil {
			return usageError(c, io, "%v", err)
		}
		if err := json.Unmarshal(data, &plan); err != nil {
			return usageError(c, io, "%s: not a reassignment plan: %v", *file, err)
		}
	case *topic != "" && *partition >= 0 && (len(*replicas) > 0 || *cancel):
		plan.Version = 1
		plan.Partitions = append(plan.Partitions, struct {
			Topic     string  `json:"topic"`
			Partition int32   `json:"partition"`
			Replicas  []int32 `json:"replicas"`
		}{*topic, *partition, *replicas})
	default:
		return usageError(c, io, "give --reassignment-json-file, or --topic with --partition and --replicas")
	}
	if !*list && len(plan.Partitions) == 0 {
		return usageError(c, io, "the plan moves no partition")
	}
	s, exit := a.open()
	if s == nil {
		return exit
	}
	defer s.close()
	var out []reassignState
	code := exitOK
	switch {
	case *execute || *cancel:
		var req kadm.AlterPartitionAssignmentsReq
		for _, p := range plan.Partitions {
			if *cancel {
				req.CancelAssign(p.Topic, p.Partition)
			} else {
				req.Assign(p.Topic, p.Partition, p.Replicas)
			}
		}
		res, err := s.adm.AlterPartitionAssignments(s.ctx, req)
		if err != nil {
			return failure(c, io, "%s", a.cn.explain(err))
		}
		state := "started"
		if *cancel {
			state = "cancelled"
		}
		res.Each(func(r kadm.AlterPartitionAssignmentsResponse) {
			st := reassignState{Topic: r.Topic, Partition: r.Partition, State: state}
			if r.Err != nil {
				st.State, st.Error = "refused", r.Err.Error()
				if r.ErrMessage != "" {
					st.Error += ": " + r.ErrMessage
				}
				code = failure(c, io, "partition %s-%d: %s", r.Topic, r.Partition, st.Error)
			}
			out = append(out, st)
		})
	case *verify:
		inProgress, err := s.adm.ListPartitionReassignments(s.ctx, nil)
		if err != nil {
			return failure(c, io, "%s", a.cn.explain(err))
		}
		for _, p := range plan.Partitions {
			st := reassignState{Topic: p.Topic, Partition: p.Partition, Replicas: p.Replicas, State: "completed"}
			if r, ok := inProgress[p.Topic][p.Partition]; ok {
				st.State, st.Replicas, st.Adding, st.Removing = "in progress", r.Replicas, r.AddingReplicas, r.RemovingReplicas
			} else if now, err := partitionReplicas(s, p.Topic, p.Partition); err != nil {
				st.State, st.Error = "unknown", err.Error()
				code = failure(c, io, "partition %s-%d: %s", p.Topic, p.Partition, st.Error)
			} else if !slices.Equal(now, p.Replicas) {
				st.State, st.Replicas = "not started", now
				code = failure(c, io, "partition %s-%d: replicas %v, not the plan's %v", p.Topic, p.Partition, now, p.Replicas)
			}
			out = append(out, st)
		}
	case *list:
		inProgress, err := s.adm.ListPartitionReassignments(s.ctx, nil)
		if err != nil {
			return failure(c, io, "%s", a.cn.explain(err))
		}
		inProgress.Each(func(r kadm.ListPartitionReassignmentsResponse) {
			out = append(out, reassignState{Topic: r.Topic, Partition: r.Partition, Replicas: r.Replicas,
				Adding: r.AddingReplicas, Removing: r.RemovingReplicas, State: "in progress"})
		})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Topic < out[j].Topic || out[i].Topic == out[j].Topic && out[i].Partition < out[j].Partition
	})
	if a.out.json() {
		writeJSON(io.Out, out)
		return code
	}
	for _, st := range out {
		name := fmt.Sprintf("%s-%d", st.Topic, st.Partition)
		switch st.State {
		case "started":
			fmt.Fprintf(io.Out, "Started the reassignment of partition %s.\n", name)
		case "cancelled":
			fmt.Fprintf(io.Out, "Cancelled the reassignment of partition %s.\n", name)
		case "completed":
			fmt.Fprintf(io.Out, "Reassignment of partition %s is completed.\n", name)
		case "in progress":
			fmt.Fprintf(io.Out, "Reassignment of partition %s is still in progress: replicas %v, adding %v, removing %v.\n",
				name, st.Replicas, st.Adding, st.Removing)
		}
	}
	return code
}

// partitionReplicas is a partition's replicas as the cluster's metadata
// has them.
func partitionReplicas(s *session, topic string, partition int32) ([]int32, error) {
	md, err := s.adm.Metadata(s.ctx, topic)
	if err != nil {
		return nil, err
	}
	t := md.Topics[topic]
	if t.Err != nil {
		return nil, t.Err
	}
	p, ok := t.Partitions[partition]
	if !ok {
		return nil, fmt.Errorf("no such partition")
	}
	return p.Replicas, nil
}
