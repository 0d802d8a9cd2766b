package engine

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore"
)

// adminErr is a protocol outcome of an admin request: a Kafka error code
// and the message Kafka sends with it (nil for none).
type adminErr struct {
	code int16
	msg  *string
}

func errMsg(e *kerr.Error, format string, args ...any) *adminErr {
	msg := fmt.Sprintf(format, args...)
	return &adminErr{code: e.Code, msg: &msg}
}

// errDefault carries the code's own message, as Kafka's ApiError(Errors).
func errDefault(e *kerr.Error) *adminErr { return errMsg(e, "%s", e.Description) }

// errNoMsg is a code without a message, as Kafka's exceptions made
// without one.
func errNoMsg(e *kerr.Error) *adminErr { return &adminErr{code: e.Code} }

// errPartitionLogs: a new partition's log could not be made (a full disk,
// no file descriptors); the change was not committed.
var errPartitionLogs = errors.New("cannot create the partition logs")

// commitErr answers a change the controller could not write.
func (b *Broker) commitErr(err error) *adminErr {
	if errors.Is(err, errControllerClosed) {
		return errDefault(kerr.NotController)
	}
	b.log.Error("metadata change failed", "err", err)
	if errors.Is(err, errPartitionLogs) {
		return errMsg(kerr.KafkaStorageError, "%v", err)
	}
	return errMsg(kerr.KafkaStorageError, "cannot write the metadata log: %v", err)
}

// maxRecordsPerChange bounds one change, as KRaft's MAX_RECORDS_PER_USER_OP.
const maxRecordsPerChange = 10000

// topicPlan is a validated topic creation.
type topicPlan struct {
	name     string
	id       [16]byte
	replicas [][]int32 // by partition
	configs  map[string]string
}

// records are the topic's records, in KRaft's order: the topic, its
// configs, its partitions. Every replica is in the ISR and the first leads:
// the only broker is alive.
func (p *topicPlan) records() []metadata.Record {
	recs := []metadata.Record{metadata.TopicRecord{Name: p.name, ID: p.id}}
	for _, k := range slices.Sorted(maps.Keys(p.configs)) {
		v := p.configs[k]
		recs = append(recs, metadata.ConfigRecord{ResourceType: metadata.ResourceTopic,
			ResourceName: p.name, Name: k, Value: &v})
	}
	return append(recs, partitionRecords(p.id, 0, p.replicas)...)
}

func partitionRecords(id [16]byte, first int32, replicas [][]int32) []metadata.Record {
	var recs []metadata.Record
	for i, r := range replicas {
		recs = append(recs, metadata.PartitionRecord{TopicID: id, Partition: first + int32(i),
			Replicas: r, ISR: slices.Clone(r), Leader: r[0]})
	}
	return recs
}

// topicRequest is what CreateTopics (and auto-creation) asks for.
type topicRequest struct {
	name        string
	partitions  int32             // -1: num.partitions
	replication int16             // -1: default.replication.factor
	assignments map[int32][]int32 // explicit replicas by partition, in request order below
	order       []int32
	configs     map[string]*string
}

// planTopic validates a topic creation against im as Kafka's controller
// does, in its order: the name, then existence, then the configs, then
// partitions and replicas.
func (b *Broker) planTopic(im *metadata.Image, broker *config.Config, pending []string, t topicRequest) (*topicPlan, *adminErr) {
	var nameErr *adminErr
	if msg := topicNameError(t.name); msg != "" {
		nameErr = errMsg(kerr.InvalidTopicException, "%s", msg)
	}
	if other := collidingTopic(im, pending, t.name); other != "" {
		nameErr = errMsg(kerr.InvalidTopicException, "Topic '%s' collides with existing topic: %s", t.name, other)
	}
	if _, exists := im.Topic(t.name); exists {
		return nil, errMsg(kerr.TopicAlreadyExists, "Topic '%s' already exists.", t.name)
	}
	if nameErr != nil {
		return nil, nameErr
	}
	configs := map[string]string{}
	var nulls []string
	for k, v := range t.configs {
		if v == nil {
			nulls = append(nulls, k)
		} else {
			configs[k] = *v
		}
	}
	if len(nulls) > 0 {
		slices.Sort(nulls)
		return nil, errMsg(kerr.InvalidConfig, "Null value not supported for topic configs: %s", strings.Join(nulls, ","))
	}
	if e := checkTopicConfigs(broker, configs); e != nil {
		return nil, e
	}
	replicas, e := b.placeReplicas(im, broker, t)
	if e != nil {
		return nil, e
	}
	return &topicPlan{name: t.name, id: [16]byte(NewUUID()), replicas: replicas, configs: configs}, nil
}

// placeReplicas checks the partition count and replication factor, or the
// explicit assignments, and gives each new partition its replicas.
func (b *Broker) placeReplicas(im *metadata.Image, broker *config.Config, t topicRequest) ([][]int32, *adminErr) {
	if len(t.order) > 0 {
		if t.replication != -1 {
			return nil, errMsg(kerr.InvalidRequest, "A manual partition assignment was specified, "+
				"but replication factor was not set to -1.")
		}
		if t.partitions != -1 {
			return nil, errMsg(kerr.InvalidRequest, "A manual partition assignment was specified, "+
				"but numPartitions was not set to -1.")
		}
		out := make([][]int32, len(t.order))
		rf := -1
		for _, p := range t.order {
			if p < 0 || int(p) >= len(t.order) {
				return nil, errMsg(kerr.InvalidReplicaAssignment,
					"partitions should be a consecutive 0-based integer sequence")
			}
			if out[p] != nil {
				return nil, errMsg(kerr.InvalidReplicaAssignment,
					"Found multiple manual partition assignments for partition %d", p)
			}
			if e := checkAssignment(im, t.assignments[p], rf); e != nil {
				return nil, e
			}
			rf = len(t.assignments[p])
			out[p] = slices.Clone(t.assignments[p])
		}
		return out, nil
	}
	if t.replication < -1 || t.replication == 0 {
		return nil, errMsg(kerr.InvalidReplicationFactor,
			"Replication factor must be larger than 0, or -1 to use the default value.")
	}
	if t.partitions < -1 || t.partitions == 0 {
		return nil, errMsg(kerr.InvalidPartitions, "Number of partitions was set to an invalid non-positive value.")
	}
	n, rf := t.partitions, int32(t.replication)
	if n == -1 {
		n = broker.Int("num.partitions")
	}
	if rf == -1 {
		rf = broker.Int("default.replication.factor")
	}
	if n > maxRecordsPerChange {
		return nil, errMsg(kerr.PolicyViolation, "Unable to perform excessively large batch operation.")
	}
	return b.stripeReplicas(im, 0, n, rf)
}

// stripeReplicas places n partitions from first on with rf replicas each,
// round robin over the brokers (Kafka's striped placer, without racks).
func (b *Broker) stripeReplicas(im *metadata.Image, first, n, rf int32) ([][]int32, *adminErr) {
	brokers := im.Brokers()
	if int(rf) > len(brokers) {
		return nil, errMsg(kerr.InvalidReplicationFactor, "Unable to replicate the partition %d time(s): "+
			"The target replication factor of %d cannot be reached because only %d broker(s) are registered.",
			rf, rf, len(brokers))
	}
	out := make([][]int32, n)
	for i := range out {
		for j := int32(0); j < rf; j++ {
			out[i] = append(out[i], brokers[(int(first)+i+int(j))%len(brokers)].NodeID)
		}
	}
	return out, nil
}

// checkAssignment is Kafka's validateManualPartitionAssignment; rf is the
// replica count of the partitions before, or -1.
func checkAssignment(im *metadata.Image, replicas []int32, rf int) *adminErr {
	if len(replicas) == 0 {
		return errMsg(kerr.InvalidReplicaAssignment, "The manual partition assignment includes an empty replica list.")
	}
	sorted := slices.Sorted(slices.Values(replicas))
	for i, id := range sorted {
		if !slices.ContainsFunc(im.Brokers(), func(br metadata.Broker) bool { return br.NodeID == id }) {
			return errMsg(kerr.InvalidReplicaAssignment, "The manual partition assignment includes broker %d, "+
				"but no such broker is registered.", id)
		}
		if i > 0 && sorted[i-1] == id {
			return errMsg(kerr.InvalidReplicaAssignment, "The manual partition assignment includes the broker %d "+
				"more than once.", id)
		}
	}
	if rf >= 0 && len(replicas) != rf {
		return errMsg(kerr.InvalidReplicaAssignment, "The manual partition assignment includes a partition with "+
			"%d replica(s), but this is not consistent with previous partitions, which have %d replica(s).",
			len(replicas), rf)
	}
	return nil
}

// checkTopicConfigs validates a topic's own values, as Kafka's
// LogConfig.validate: unknown names, then each value, then the values
// together.
func checkTopicConfigs(broker *config.Config, values map[string]string) *adminErr {
	keys := slices.Sorted(maps.Keys(values))
	for _, k := range keys {
		if _, ok := config.Topic.Key(k); !ok {
			return errMsg(kerr.InvalidConfig, "Unknown topic config name: %s", k)
		}
	}
	for _, k := range keys {
		if err := config.Topic.Check(k, values[k], config.SourceTopic); err != nil {
			return errMsg(kerr.InvalidConfig, "%s", configErrorMessage(err))
		}
	}
	tc, _ := config.TopicConfig(broker, values)
	if lo, hi := tc.Long("min.compaction.lag.ms"), tc.Long("max.compaction.lag.ms"); lo > hi {
		return errMsg(kerr.InvalidConfig, "conflict topic config setting min.compaction.lag.ms (%d) > "+
			"max.compaction.lag.ms (%d)", lo, hi)
	}
	return nil
}

// configErrorMessage words a config error as Kafka's ConfigException:
// "Invalid value V for configuration K: Reason".
func configErrorMessage(err error) string {
	var ce *config.Error
	if !errors.As(err, &ce) {
		return err.Error()
	}
	reason := ce.Reason
	if reason != "" {
		reason = strings.ToUpper(reason[:1]) + reason[1:]
	}
	return fmt.Sprintf("Invalid value %s for configuration %s: %s", ce.Value, ce.Key, reason)
}

// createTopicsLocked creates the plans' logs in the emptiest log dirs,
// commits the plans as one change and publishes them. b.ctl.mu must be
// held. When a log cannot be made (a full disk, no file descriptors) the
// logs made so far are deleted, nothing is committed, and the error wraps
// errPartitionLogs (KAFKA_STORAGE_ERROR for every topic of the change).
func (b *Broker) createTopicsLocked(plans []*topicPlan) error {
	var recs []metadata.Record
	var logs []newLog
	broker := b.brokerConfigOf(b.image.Load())
	for _, p := range plans {
		recs = append(recs, p.records()...)
		lc := b.topicConfigOf(broker, p.configs).log
		for i := range p.replicas {
			logs = append(logs, newLog{tp: logstore.TopicPartition{Topic: p.name, Partition: int32(i)}, id: p.id, cfg: lc})
		}
	}
	if err := b.createLogs(logs); err != nil {
		return fmt.Errorf("%w: %w", errPartitionLogs, err)
	}
	// The logs first: a topic is committed only once its partitions can
	// take writes (a topic whose logs could not be made had leader -1).
	im, err := b.commitLocked(recs)
	if err != nil {
		b.dropLogs(logs)
		return err
	}
	for _, p := range plans {
		b.log.Info("created topic", "topic", p.name, "id", UUID(p.id).String(), "partitions", len(p.replicas),
			"configs", p.configs)
	}
	b.publishLocked(im)
	return nil
}

// dropLogs deletes the logs made for a change that was not committed.
func (b *Broker) dropLogs(logs []newLog) {
	for _, nl := range logs {
		if err := b.deleteLog(nl.tp); err != nil {
			b.log.Warn("cannot delete the log of a partition that was not created", "partition", nl.tp.String(), "err", err)
		}
	}
}

// deleteTopicsLocked removes topics: records, then the new image without
// them, then their logs. b.ctl.mu must be held.
func (b *Broker) deleteTopicsLocked(topics []*metadata.Topic) error {
	recs := make([]metadata.Record, len(topics))
	for i, t := range topics {
		recs[i] = metadata.RemoveTopicRecord{ID: t.ID}
	}
	im, err := b.commitLocked(recs)
	if err != nil {
		return err
	}
	b.publishLocked(im)
	for _, t := range topics {
		for i := range t.Partitions {
			tp := logstore.TopicPartition{Topic: t.Name, Partition: int32(i)}
			if err := b.deleteLog(tp); err != nil {
				b.log.Error("cannot delete partition log", "partition", tp.String(), "err", err)
			}
		}
		b.log.Info("deleted topic", "topic", t.Name, "id", UUID(t.ID).String())
	}
	return nil
}

// addPartitionsLocked creates the logs of new partitions of topic t
// (replicas of partitions len(t.Partitions) on), commits them and
// publishes; nothing is committed when a log cannot be made.
func (b *Broker) addPartitionsLocked(t *metadata.Topic, replicas [][]int32) error {
	first := int32(len(t.Partitions))
	lc := b.topicConfigOf(b.brokerConfigOf(b.image.Load()), t.Configs).log
	var logs []newLog
	for i := range replicas {
		logs = append(logs, newLog{tp: logstore.TopicPartition{Topic: t.Name, Partition: first + int32(i)}, id: t.ID, cfg: lc})
	}
	if err := b.createLogs(logs); err != nil {
		return fmt.Errorf("%w: %w", errPartitionLogs, err)
	}
	im, err := b.commitLocked(partitionRecords(t.ID, first, replicas))
	if err != nil {
		b.dropLogs(logs)
		return err
	}
	b.log.Info("added partitions", "topic", t.Name, "from", len(t.Partitions), "to", int(first)+len(replicas))
	b.publishLocked(im)
	return nil
}

// message is the error's message, or "".
func (e *adminErr) message() string {
	if e.msg == nil {
		return ""
	}
	return *e.msg
}

// autoTopicRequest is what auto-creation asks for a topic: the broker
// defaults, or for the internal topics their own settings (Kafka's
// AutoTopicCreationManager.creatableTopic). An internal topic's replication
// factor is capped at the brokers registered (Redpanda's rule): Kafka's
// default of 3 would leave a smaller cluster without group coordinators,
// answering COORDINATOR_NOT_AVAILABLE forever.
func (b *Broker) autoTopicRequest(name string, broker *config.Config, brokers int) topicRequest {
	t := topicRequest{name: name, partitions: -1, replication: -1, configs: map[string]*string{}}
	set := func(kv ...string) {
		for i := 0; i+1 < len(kv); i += 2 {
			t.configs[kv[i]] = &kv[i+1]
		}
	}
	internalFactor := func(key string) int16 {
		want := broker.Short(key)
		if brokers > 0 && int(want) > brokers {
			b.log.Warn("creating an internal topic with fewer replicas than configured: only "+
				strconv.Itoa(brokers)+" broker(s) are registered", "topic", name, "key", key,
				"configured", want, "replication_factor", brokers)
			return int16(brokers)
		}
		return want
	}
	switch name {
	case "__consumer_offsets":
		t.partitions = broker.Int("offsets.topic.num.partitions")
		t.replication = internalFactor("offsets.topic.replication.factor")
		set("cleanup.policy", "compact", "compression.type", "producer",
			"segment.bytes", broker.Text("offsets.topic.segment.bytes"))
	case "__transaction_state":
		t.partitions = broker.Int("transaction.state.log.num.partitions")
		t.replication = internalFactor("transaction.state.log.replication.factor")
		set("cleanup.policy", "compact", "compression.type", "uncompressed",
			"min.insync.replicas", broker.Text("transaction.state.log.min.isr"),
			"segment.bytes", broker.Text("transaction.state.log.segment.bytes"),
			"unclean.leader.election.enable", "false")
	}
	return t
}
