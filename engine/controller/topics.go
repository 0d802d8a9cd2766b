package controller

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/engine/metadata"
)

// TopicRequest is what CreateTopics (and auto-creation) asks for.
type TopicRequest struct {
	Name        string
	Partitions  int32             // -1: num.partitions
	Replication int16             // -1: default.replication.factor
	Assignments map[int32][]int32 // explicit replicas by partition, in Order's order
	Order       []int32
	Configs     map[string]*string
}

// TopicPlan is a validated topic creation.
type TopicPlan struct {
	Name     string
	ID       [16]byte
	Replicas [][]int32 // by partition
	ISR      [][]int32 // by partition; nil: every replica
	Configs  map[string]string
}

// Records are the topic's records, in KRaft's order: the topic, its
// configs, its partitions, each led by the first member of its ISR.
func (p *TopicPlan) Records() []metadata.Record {
	recs := []metadata.Record{metadata.TopicRecord{Name: p.Name, ID: p.ID}}
	for _, k := range slices.Sorted(maps.Keys(p.Configs)) {
		v := p.Configs[k]
		recs = append(recs, metadata.ConfigRecord{ResourceType: metadata.ResourceTopic,
			ResourceName: p.Name, Name: k, Value: &v})
	}
	return append(recs, PartitionRecords(p.ID, 0, p.Replicas, p.ISR)...)
}

// PartitionRecords are the records of new partitions first, first+1, ...
// of topic id with the replicas and ISRs given (nil isr: every replica is
// in sync); the first member of the ISR leads.
func PartitionRecords(id [16]byte, first int32, replicas, isr [][]int32) []metadata.Record {
	var recs []metadata.Record
	for i, r := range replicas {
		in := slices.Clone(r)
		if isr != nil {
			in = slices.Clone(isr[i])
		}
		recs = append(recs, metadata.PartitionRecord{TopicID: id, Partition: first + int32(i),
			Replicas: r, ISR: in, Leader: in[0]})
	}
	return recs
}

// activeISR is each partition's ISR at creation, as Kafka's controller
// makes it: the replicas that are active (unfenced, not shutting down).
// A partition with none is refused, with manual's message when the
// replicas were given.
func activeISR(im *metadata.Image, replicas [][]int32, manual bool) ([][]int32, *Refusal) {
	out := make([][]int32, len(replicas))
	for i, r := range replicas {
		out[i] = slices.DeleteFunc(slices.Clone(r), func(id int32) bool {
			b, ok := im.Broker(id)
			return !ok || !b.Active()
		})
		if len(out[i]) > 0 {
			continue
		}
		if manual {
			return nil, Refuse(kerr.InvalidReplicaAssignment, "All brokers specified in the manual partition "+
				"assignment for partition %d are fenced or in controlled shutdown.", i)
		}
		return nil, Refuse(kerr.InvalidReplicationFactor, "Unable to replicate the partition %d time(s): "+
			"All brokers are currently fenced or in controlled shutdown.", len(r))
	}
	return out, nil
}

// PlanTopics validates the topics of one CreateTopics change in order (a
// name may collide with one planned before it) and gives each valid one
// an id from newID. A change over MaxRecordsPerChange is refused whole.
// Names given twice are the caller's to refuse first.
func PlanTopics(im *metadata.Image, broker *config.Config, reqs []TopicRequest,
	newID func() [16]byte) ([]*TopicPlan, map[string]*Refusal) {
	var plans []*TopicPlan
	var pending []string
	refused := map[string]*Refusal{}
	records := 0
	for _, t := range reqs {
		plan, r := PlanTopic(im, broker, pending, t, newID())
		if r != nil {
			refused[t.Name] = r
			continue
		}
		plans = append(plans, plan)
		pending = append(pending, plan.Name)
		records += len(plan.Replicas) + len(plan.Configs) + 1
	}
	if records > MaxRecordsPerChange {
		for _, p := range plans {
			refused[p.Name] = tooLarge()
		}
		plans = nil
	}
	return plans, refused
}

// PlanTopic validates a topic creation against im as Kafka's controller
// does, in its order: the name, then existence, then the configs, then
// partitions and replicas. pending are the names planned earlier in the
// same change.
func PlanTopic(im *metadata.Image, broker *config.Config, pending []string, t TopicRequest,
	id [16]byte) (*TopicPlan, *Refusal) {
	var nameErr *Refusal
	if msg := TopicNameError(t.Name); msg != "" {
		nameErr = Refuse(kerr.InvalidTopicException, "%s", msg)
	}
	if other := collidingTopic(im, pending, t.Name); other != "" {
		nameErr = Refuse(kerr.InvalidTopicException, "Topic '%s' collides with existing topic: %s", t.Name, other)
	}
	if _, exists := im.Topic(t.Name); exists {
		return nil, Refuse(kerr.TopicAlreadyExists, "Topic '%s' already exists.", t.Name)
	}
	if nameErr != nil {
		return nil, nameErr
	}
	configs := map[string]string{}
	var nulls []string
	for k, v := range t.Configs {
		if v == nil {
			nulls = append(nulls, k)
		} else {
			configs[k] = *v
		}
	}
	if len(nulls) > 0 {
		slices.Sort(nulls)
		return nil, Refuse(kerr.InvalidConfig, "Null value not supported for topic configs: %s",
			strings.Join(nulls, ","))
	}
	if r := CheckTopicConfigs(broker, configs); r != nil {
		return nil, r
	}
	replicas, r := placeReplicas(im, broker, t)
	if r != nil {
		return nil, r
	}
	isr, r := activeISR(im, replicas, len(t.Order) > 0)
	if r != nil {
		return nil, r
	}
	return &TopicPlan{Name: t.Name, ID: id, Replicas: replicas, ISR: isr, Configs: configs}, nil
}

// placeReplicas checks the partition count and replication factor, or the
// explicit assignments, and gives each new partition its replicas.
func placeReplicas(im *metadata.Image, broker *config.Config, t TopicRequest) ([][]int32, *Refusal) {
	if len(t.Order) > 0 {
		return manualReplicas(im, t)
	}
	if t.Replication < -1 || t.Replication == 0 {
		return nil, Refuse(kerr.InvalidReplicationFactor,
			"Replication factor must be larger than 0, or -1 to use the default value.")
	}
	if t.Partitions < -1 || t.Partitions == 0 {
		return nil, Refuse(kerr.InvalidPartitions, "Number of partitions was set to an invalid non-positive value.")
	}
	n, rf := t.Partitions, int32(t.Replication)
	if n == -1 {
		n = broker.Int("num.partitions")
	}
	if rf == -1 {
		rf = broker.Int("default.replication.factor")
	}
	if n > MaxRecordsPerChange {
		return nil, tooLarge()
	}
	return stripeReplicas(im, 0, n, rf)
}

// manualReplicas checks a request's explicit assignments.
func manualReplicas(im *metadata.Image, t TopicRequest) ([][]int32, *Refusal) {
	if t.Replication != -1 {
		return nil, Refuse(kerr.InvalidRequest, "A manual partition assignment was specified, "+
			"but replication factor was not set to -1.")
	}
	if t.Partitions != -1 {
		return nil, Refuse(kerr.InvalidRequest, "A manual partition assignment was specified, "+
			"but numPartitions was not set to -1.")
	}
	out := make([][]int32, len(t.Order))
	rf := -1
	for _, p := range t.Order {
		if p < 0 || int(p) >= len(t.Order) {
			return nil, Refuse(kerr.InvalidReplicaAssignment,
				"partitions should be a consecutive 0-based integer sequence")
		}
		if out[p] != nil {
			return nil, Refuse(kerr.InvalidReplicaAssignment,
				"Found multiple manual partition assignments for partition %d", p)
		}
		if r := checkAssignment(im, t.Assignments[p], rf); r != nil {
			return nil, r
		}
		rf = len(t.Assignments[p])
		out[p] = slices.Clone(t.Assignments[p])
	}
	return out, nil
}

// checkAssignment is Kafka's validateManualPartitionAssignment; rf is the
// replica count of the partitions before, or -1.
func checkAssignment(im *metadata.Image, replicas []int32, rf int) *Refusal {
	if len(replicas) == 0 {
		return Refuse(kerr.InvalidReplicaAssignment, "The manual partition assignment includes an empty replica list.")
	}
	sorted := slices.Sorted(slices.Values(replicas))
	for i, id := range sorted {
		if !slices.ContainsFunc(im.Brokers(), func(br metadata.Broker) bool { return br.NodeID == id }) {
			return Refuse(kerr.InvalidReplicaAssignment, "The manual partition assignment includes broker %d, "+
				"but no such broker is registered.", id)
		}
		if i > 0 && sorted[i-1] == id {
			return Refuse(kerr.InvalidReplicaAssignment, "The manual partition assignment includes the broker %d "+
				"more than once.", id)
		}
	}
	if rf >= 0 && len(replicas) != rf {
		return Refuse(kerr.InvalidReplicaAssignment, "The manual partition assignment includes a partition with "+
			"%d replica(s), but this is not consistent with previous partitions, which have %d replica(s).",
			len(replicas), rf)
	}
	return nil
}

// Capped says an internal topic gets fewer replicas than its key asks for.
type Capped struct {
	Key        string // offsets.topic.replication.factor, ...
	Configured int16
	Factor     int16 // the brokers registered
}

// AutoTopicRequest is what auto-creation asks for a topic: the broker
// defaults, or for the internal topics their own settings (Kafka's
// AutoTopicCreationManager.creatableTopic). An internal topic's
// replication factor is capped at the brokers registered (Redpanda's
// rule; the caller warns with capped): Kafka's default of 3 would leave a
// smaller cluster without group coordinators, answering
// COORDINATOR_NOT_AVAILABLE forever.
func AutoTopicRequest(name string, broker *config.Config, brokers int) (t TopicRequest, capped *Capped) {
	t = TopicRequest{Name: name, Partitions: -1, Replication: -1, Configs: map[string]*string{}}
	set := func(kv ...string) {
		for i := 0; i+1 < len(kv); i += 2 {
			t.Configs[kv[i]] = &kv[i+1]
		}
	}
	internalFactor := func(key string) int16 {
		want := broker.Short(key)
		if brokers > 0 && int(want) > brokers {
			capped = &Capped{Key: key, Configured: want, Factor: int16(brokers)}
			return int16(brokers)
		}
		return want
	}
	switch name {
	case "__consumer_offsets":
		t.Partitions = broker.Int("offsets.topic.num.partitions")
		t.Replication = internalFactor("offsets.topic.replication.factor")
		set("cleanup.policy", "compact", "compression.type", "producer",
			"segment.bytes", broker.Text("offsets.topic.segment.bytes"))
	case "__transaction_state":
		t.Partitions = broker.Int("transaction.state.log.num.partitions")
		t.Replication = internalFactor("transaction.state.log.replication.factor")
		set("cleanup.policy", "compact", "compression.type", "uncompressed",
			"min.insync.replicas", broker.Text("transaction.state.log.min.isr"),
			"segment.bytes", broker.Text("transaction.state.log.segment.bytes"),
			"unclean.leader.election.enable", "false")
	}
	return t, capped
}

// String words a cap for the broker's warning.
func (c *Capped) String() string {
	return "creating an internal topic with fewer replicas than configured: only " +
		strconv.Itoa(int(c.Factor)) + " broker(s) are registered (once more have joined, `weir topic reassign` gives it more)"
}
