package controller

import (
	"reflect"
	"strings"
	"testing"

	"github.com/weirmq/weir/engine/metadata"
)

func TestPlanTopic(t *testing.T) {
	im := cluster(t, 3, topicRecs("metrics.cpu", 9, []int32{1})...)
	auto := TopicRequest{Partitions: -1, Replication: -1}
	with := func(name string, tr TopicRequest) TopicRequest { tr.Name = name; return tr }
	manual := func(name string, order []int32, replicas ...[]int32) TopicRequest {
		tr := TopicRequest{Name: name, Partitions: -1, Replication: -1, Order: order,
			Assignments: map[int32][]int32{}}
		for i, p := range order {
			tr.Assignments[p] = replicas[i]
		}
		return tr
	}
	tests := []struct {
		req      TopicRequest
		broker   []string
		replicas [][]int32
		refusal  string
	}{
		{req: with("a", auto), replicas: [][]int32{{1}}},
		{req: with("a", auto), broker: []string{"num.partitions", "2", "default.replication.factor", "3"},
			replicas: [][]int32{{1, 2, 3}, {2, 3, 1}}},
		{req: TopicRequest{Name: "a", Partitions: 3, Replication: 2}, replicas: [][]int32{{1, 2}, {2, 3}, {3, 1}}},
		{req: TopicRequest{Name: "a", Partitions: 1, Replication: 4},
			refusal: "INVALID_REPLICATION_FACTOR: Unable to replicate the partition 4 time(s): The target " +
				"replication factor of 4 cannot be reached because only 3 broker(s) are registered."},
		{req: with("a", auto), broker: []string{"default.replication.factor", "5"},
			refusal: "INVALID_REPLICATION_FACTOR: Unable to replicate the partition 5 time(s): The target " +
				"replication factor of 5 cannot be reached because only 3 broker(s) are registered."},
		{req: TopicRequest{Name: "a", Partitions: 1, Replication: 0},
			refusal: "INVALID_REPLICATION_FACTOR: Replication factor must be larger than 0, or -1 to use the default value."},
		{req: TopicRequest{Name: "a", Partitions: 0, Replication: 1},
			refusal: "INVALID_PARTITIONS: Number of partitions was set to an invalid non-positive value."},
		{req: TopicRequest{Name: "a", Partitions: MaxRecordsPerChange + 1, Replication: 1},
			refusal: "POLICY_VIOLATION: Unable to perform excessively large batch operation."},
		{req: with("a/b", auto), refusal: "INVALID_TOPIC_EXCEPTION: Topic name is invalid: 'a/b' contains " +
			"one or more characters other than ASCII alphanumerics, '.', '_' and '-'"},
		{req: with("metrics.cpu", auto), refusal: "TOPIC_ALREADY_EXISTS: Topic 'metrics.cpu' already exists."},
		{req: with("metrics_cpu", auto),
			refusal: "INVALID_TOPIC_EXCEPTION: Topic 'metrics_cpu' collides with existing topic: metrics.cpu"},
		// Manual assignments, in request order.
		{req: manual("a", []int32{1, 0}, []int32{3, 2}, []int32{2, 1}), replicas: [][]int32{{2, 1}, {3, 2}}},
		{req: with("a", TopicRequest{Partitions: -1, Replication: 2, Order: []int32{0},
			Assignments: map[int32][]int32{0: {1, 2}}}),
			refusal: "INVALID_REQUEST: A manual partition assignment was specified, but replication factor " +
				"was not set to -1."},
		{req: with("a", TopicRequest{Partitions: 1, Replication: -1, Order: []int32{0},
			Assignments: map[int32][]int32{0: {1, 2}}}),
			refusal: "INVALID_REQUEST: A manual partition assignment was specified, but numPartitions was not set to -1."},
		{req: manual("a", []int32{0, 2}, []int32{1}, []int32{2}),
			refusal: "INVALID_REPLICA_ASSIGNMENT: partitions should be a consecutive 0-based integer sequence"},
		{req: manual("a", []int32{0}, []int32{}),
			refusal: "INVALID_REPLICA_ASSIGNMENT: The manual partition assignment includes an empty replica list."},
		{req: manual("a", []int32{0}, []int32{1, 1}),
			refusal: "INVALID_REPLICA_ASSIGNMENT: The manual partition assignment includes the broker 1 more than once."},
		{req: manual("a", []int32{0}, []int32{1, 9}),
			refusal: "INVALID_REPLICA_ASSIGNMENT: The manual partition assignment includes broker 9, but no such " +
				"broker is registered."},
		{req: manual("a", []int32{0, 1}, []int32{1, 2}, []int32{3}),
			refusal: "INVALID_REPLICA_ASSIGNMENT: The manual partition assignment includes a partition with 1 " +
				"replica(s), but this is not consistent with previous partitions, which have 2 replica(s)."},
		// Configs: names, null values, each value, values together.
		{req: with("a", TopicRequest{Partitions: -1, Replication: -1, Configs: map[string]*string{"foo": str("1")}}),
			refusal: "INVALID_CONFIG: Unknown topic config name: foo"},
		{req: with("a", TopicRequest{Partitions: -1, Replication: -1,
			Configs: map[string]*string{"retention.ms": nil, "cleanup.policy": nil}}),
			refusal: "INVALID_CONFIG: Null value not supported for topic configs: cleanup.policy,retention.ms"},
		{req: with("a", TopicRequest{Partitions: -1, Replication: -1,
			Configs: map[string]*string{"min.compaction.lag.ms": str("10"), "max.compaction.lag.ms": str("5")}}),
			refusal: "INVALID_CONFIG: conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)"},
	}
	for _, tt := range tests {
		plan, r := PlanTopic(im, brokerConfig(t, tt.broker...), nil, tt.req, [16]byte{7})
		if got := refused(r); got != tt.refusal {
			t.Errorf("%+v: refusal %q\nwant %q", tt.req, got, tt.refusal)
			continue
		}
		if r == nil && (!reflect.DeepEqual(plan.Replicas, tt.replicas) || plan.Name != tt.req.Name) {
			t.Errorf("%+v: replicas %v, want %v", tt.req, plan.Replicas, tt.replicas)
		}
	}
}

// A bad value is refused with Kafka's ConfigException wording.
func TestPlanTopicBadConfigValue(t *testing.T) {
	req := TopicRequest{Name: "a", Partitions: -1, Replication: -1,
		Configs: map[string]*string{"cleanup.policy": str("sometimes")}}
	_, r := PlanTopic(cluster(t, 1), brokerConfig(t), nil, req, [16]byte{1})
	if got := refused(r); !strings.HasPrefix(got, "INVALID_CONFIG: Invalid value sometimes for configuration cleanup.policy: ") {
		t.Fatalf("refusal %q", got)
	}
}

// Records come in KRaft's order: the topic, its configs by name, its
// partitions; every replica in the ISR, the first leading.
func TestTopicPlanRecords(t *testing.T) {
	req := TopicRequest{Name: "a", Partitions: 2, Replication: 2,
		Configs: map[string]*string{"retention.ms": str("1000"), "cleanup.policy": str("compact")}}
	plan, r := PlanTopic(cluster(t, 2), brokerConfig(t), nil, req, [16]byte{5})
	if r != nil {
		t.Fatal(refused(r))
	}
	id := [16]byte{5}
	want := []metadata.Record{
		metadata.TopicRecord{Name: "a", ID: id},
		metadata.ConfigRecord{ResourceType: metadata.ResourceTopic, ResourceName: "a", Name: "cleanup.policy", Value: str("compact")},
		metadata.ConfigRecord{ResourceType: metadata.ResourceTopic, ResourceName: "a", Name: "retention.ms", Value: str("1000")},
		metadata.PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1},
		metadata.PartitionRecord{TopicID: id, Partition: 1, Replicas: []int32{2, 1}, ISR: []int32{2, 1}, Leader: 2},
	}
	if got := plan.Records(); !reflect.DeepEqual(got, want) {
		t.Fatalf("records\n%+v\nwant\n%+v", got, want)
	}
	if _, err := cluster(t, 2).Apply(plan.Records()...); err != nil {
		t.Fatalf("records do not apply: %v", err)
	}
}

// One change: names collide with those planned before them; too many
// records refuse every topic.
func TestPlanTopics(t *testing.T) {
	im, broker := cluster(t, 1), brokerConfig(t)
	reqs := []TopicRequest{{Name: "a.b", Partitions: 1, Replication: 1},
		{Name: "a_b", Partitions: 1, Replication: 1}, {Name: "c", Partitions: 2, Replication: 1}}
	plans, refusals := PlanTopics(im, broker, reqs, ids())
	if len(plans) != 2 || plans[0].Name != "a.b" || plans[1].Name != "c" || plans[1].ID != [16]byte{3} {
		t.Fatalf("plans %+v", plans)
	}
	if got := refused(refusals["a_b"]); got != "INVALID_TOPIC_EXCEPTION: Topic 'a_b' collides with existing topic: a.b" {
		t.Fatalf("a_b: %q", got)
	}
	big := []TopicRequest{{Name: "x", Partitions: 6000, Replication: 1}, {Name: "y", Partitions: 6000, Replication: 1}}
	plans, refusals = PlanTopics(im, broker, big, ids())
	if len(plans) != 0 || len(refusals) != 2 ||
		refused(refusals["y"]) != "POLICY_VIOLATION: Unable to perform excessively large batch operation." {
		t.Fatalf("plans %d, refusals %v", len(plans), refusals)
	}
}

func TestTopicNameError(t *testing.T) {
	long := strings.Repeat("x", TopicNameMax)
	tests := []struct{ name, msg string }{
		{"", "Topic name is invalid: the empty string is not allowed"},
		{".", "Topic name is invalid: '.' is not allowed"},
		{"..", "Topic name is invalid: '..' is not allowed"},
		{long, ""},
		{long + "x", "Topic name is invalid: the length of '" + long + "x' is longer than the max allowed length 249"},
		{"ü", "Topic name is invalid: 'ü' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'"},
		{"...", ""},
		{"Az09._-", ""},
	}
	for _, tt := range tests {
		if got := TopicNameError(tt.name); got != tt.msg {
			t.Errorf("%q: %q, want %q", tt.name, got, tt.msg)
		}
	}
}

// Internal topics take their own keys, their factor capped at the
// brokers registered (with a cap for the broker to warn about).
func TestAutoTopicRequest(t *testing.T) {
	broker := brokerConfig(t, "offsets.topic.num.partitions", "4")
	tests := []struct {
		name        string
		brokers     int
		partitions  int32
		replication int16
		capped      *Capped
		configs     int
	}{
		{"orders", 1, -1, -1, nil, 0},
		{"__consumer_offsets", 1, 4, 1, &Capped{Key: "offsets.topic.replication.factor", Configured: 3, Factor: 1}, 3},
		{"__consumer_offsets", 3, 4, 3, nil, 3},
		{"__consumer_offsets", 5, 4, 3, nil, 3},
		{"__transaction_state", 2, 50, 2,
			&Capped{Key: "transaction.state.log.replication.factor", Configured: 3, Factor: 2}, 5},
	}
	for _, tt := range tests {
		req, capped := AutoTopicRequest(tt.name, broker, tt.brokers)
		if req.Name != tt.name || req.Partitions != tt.partitions || req.Replication != tt.replication ||
			!reflect.DeepEqual(capped, tt.capped) || len(req.Configs) != tt.configs {
			t.Errorf("%s on %d: %+v, capped %+v", tt.name, tt.brokers, req, capped)
		}
		if _, r := PlanTopic(cluster(t, tt.brokers), broker, nil, req, [16]byte{1}); r != nil {
			t.Errorf("%s on %d: %s", tt.name, tt.brokers, refused(r))
		}
	}
}
