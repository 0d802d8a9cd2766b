package metadata

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/weirmq/weir/logstore/metalog"
)

// Image is one consistent view of the cluster. It is never modified after
// it is built (New, Apply, WithBrokers): build a new one instead.
type Image struct {
	ClusterID    string
	NodeID       int32 // this node
	ControllerID int32
	brokers      []Broker // by NodeID
	topics       map[string]*Topic
	topicsByID   map[[16]byte]*Topic
	// brokerConfigs are the dynamic broker configs by resource name: ""
	// for the cluster-wide default, else a node id.
	brokerConfigs map[string]map[string]string
	// features are the finalized feature levels (metadata.version).
	features map[string]int16
	// nextProducerID is the first producer id not yet reserved.
	nextProducerID int64
}

// Topic is a topic: its partitions by index (0, 1, ... without gaps) and
// its own config values (not the defaults it inherits). Neither may be
// modified.
type Topic struct {
	Name       string
	ID         [16]byte
	Internal   bool
	Partitions []Partition
	Configs    map[string]string
}

// Partition is one partition's registration.
type Partition struct {
	Replicas       []int32
	ISR            []int32
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
	// LeaderRecoveryState is metalog.RecoveringLeader after an unclean
	// election, until the leader says it has recovered.
	LeaderRecoveryState int8
	// AddingReplicas and RemovingReplicas are a reassignment in progress
	// (KIP-455): Replicas holds both the target and the replicas leaving.
	AddingReplicas, RemovingReplicas []int32
}

// internalTopics are Kafka's internal topics (Topic.isInternal).
var internalTopics = map[string]bool{
	"__consumer_offsets": true, "__transaction_state": true, "__share_group_state": true,
}

// IsInternal says whether a topic is one of Kafka's internal topics.
func IsInternal(name string) bool { return internalTopics[name] }

// New builds the Image of node nodeID; brokers are sorted by node id and
// must be unique. topics are taken as given (tests); topics normally come
// from applying records.
func New(clusterID string, nodeID, controllerID int32, brokers []Broker, topics []Topic) *Image {
	im := &Image{
		ClusterID:     clusterID,
		NodeID:        nodeID,
		topics:        map[string]*Topic{},
		topicsByID:    map[[16]byte]*Topic{},
		brokerConfigs: map[string]map[string]string{},
		features:      map[string]int16{},
	}
	im = im.WithBrokers(controllerID, brokers)
	for i := range topics {
		t := &topics[i]
		if _, dup := im.topics[t.Name]; dup {
			panic(fmt.Sprintf("metadata: topic %q listed twice", t.Name))
		}
		im.topics[t.Name] = t
		im.topicsByID[t.ID] = t
	}
	return im
}

// WithBrokers is im with another broker list and controller; the topics
// and configs are shared.
func (im *Image) WithBrokers(controllerID int32, brokers []Broker) *Image {
	n := *im
	n.ControllerID = controllerID
	n.brokers = append([]Broker(nil), brokers...)
	sortBrokers(n.brokers)
	return &n
}

// Brokers lists the brokers by node id; the slice must not be modified.
func (im *Image) Brokers() []Broker { return im.brokers }

// Topic looks a topic up by name.
func (im *Image) Topic(name string) (*Topic, bool) {
	t, ok := im.topics[name]
	return t, ok
}

// TopicByID looks a topic up by id.
func (im *Image) TopicByID(id [16]byte) (*Topic, bool) {
	t, ok := im.topicsByID[id]
	return t, ok
}

// Topics lists every topic, sorted by name.
func (im *Image) Topics() []*Topic {
	out := make([]*Topic, 0, len(im.topics))
	for _, t := range im.topics {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// BrokerConfigs are the dynamic config values of a broker resource: "" for
// the cluster-wide default, else a node id. The map must not be modified;
// it is nil when there are none.
func (im *Image) BrokerConfigs(name string) map[string]string { return im.brokerConfigs[name] }

// FeatureLevel is a finalized feature's level, 0 when it is not set.
func (im *Image) FeatureLevel(name string) int16 { return im.features[name] }

// FeatureNames lists the finalized features, sorted.
func (im *Image) FeatureNames() []string { return slices.Sorted(maps.Keys(im.features)) }

// NextProducerID is the first producer id no ProducerIdsRecord reserved.
func (im *Image) NextProducerID() int64 { return im.nextProducerID }

// Apply returns the image with recs applied in order; im is unchanged. A
// record that does not fit the image (a topic created twice, a partition
// of an unknown topic) is an error: the records are corrupt or the caller
// built them wrong.
func (im *Image) Apply(recs ...Record) (*Image, error) {
	a := applier{im: &Image{
		ClusterID: im.ClusterID, NodeID: im.NodeID, ControllerID: im.ControllerID, brokers: im.brokers,
		topics:        maps.Clone(im.topics),
		topicsByID:    maps.Clone(im.topicsByID),
		brokerConfigs: maps.Clone(im.brokerConfigs),
		features:      maps.Clone(im.features), nextProducerID: im.nextProducerID,
	}, copied: map[*Topic]bool{}}
	for i, r := range recs {
		if err := a.apply(r); err != nil {
			return nil, fmt.Errorf("metadata record %d (%T): %w", i, r, err)
		}
	}
	return a.im, nil
}

// applier applies records to a fresh image, copying each topic it changes
// once.
type applier struct {
	im     *Image
	copied map[*Topic]bool
}

func (a *applier) apply(r Record) error {
	switch r := r.(type) {
	case TopicRecord:
		if _, dup := a.im.topics[r.Name]; dup {
			return fmt.Errorf("topic %q exists", r.Name)
		}
		if _, dup := a.im.topicsByID[r.ID]; dup || r.ID == [16]byte{} || r.Name == "" {
			return fmt.Errorf("topic %q: id %x is zero or taken", r.Name, r.ID)
		}
		t := &Topic{Name: r.Name, ID: r.ID, Internal: IsInternal(r.Name), Configs: map[string]string{}}
		a.copied[t] = true
		a.im.topics[t.Name], a.im.topicsByID[t.ID] = t, t
	case PartitionRecord:
		t, ok := a.im.topicsByID[r.TopicID]
		if !ok {
			return fmt.Errorf("partition %d of unknown topic id %x", r.Partition, r.TopicID)
		}
		if r.Partition < 0 || int(r.Partition) > len(t.Partitions) || len(r.Replicas) == 0 {
			return fmt.Errorf("partition %d of %q (which has %d) with replicas %v",
				r.Partition, t.Name, len(t.Partitions), r.Replicas)
		}
		t = a.mutable(t)
		p := Partition{Replicas: slices.Clone(r.Replicas), ISR: slices.Clone(r.ISR), Leader: r.Leader,
			LeaderEpoch: r.LeaderEpoch, PartitionEpoch: r.PartitionEpoch, LeaderRecoveryState: r.LeaderRecoveryState,
			AddingReplicas: nonEmpty(r.AddingReplicas), RemovingReplicas: nonEmpty(r.RemovingReplicas)}
		if int(r.Partition) == len(t.Partitions) {
			t.Partitions = append(t.Partitions, p)
		} else {
			t.Partitions[r.Partition] = p
		}
	case PartitionChangeRecord:
		return a.applyPartitionChange(r)
	case ConfigRecord:
		return a.applyConfig(r)
	case FeatureLevelRecord:
		if r.FeatureLevel == 0 {
			delete(a.im.features, r.Name)
		} else {
			a.im.features[r.Name] = r.FeatureLevel
		}
	case ProducerIdsRecord:
		if r.NextProducerID < a.im.nextProducerID {
			return fmt.Errorf("producer ids reserved up to %d, then %d", a.im.nextProducerID, r.NextProducerID)
		}
		a.im.nextProducerID = r.NextProducerID
	case NoOpRecord:
	case RegisterBrokerRecord, UnregisterBrokerRecord, FenceBrokerRecord, UnfenceBrokerRecord,
		BrokerRegistrationChangeRecord:
		return a.applyBroker(r)
	case RemoveTopicRecord:
		t, ok := a.im.topicsByID[r.ID]
		if !ok {
			return fmt.Errorf("removing unknown topic id %x", r.ID)
		}
		delete(a.im.topics, t.Name)
		delete(a.im.topicsByID, t.ID)
	default:
		return fmt.Errorf("unknown record type %T", r)
	}
	return nil
}

// applyPartitionChange merges a change into a partition as Kafka's
// PartitionRegistration.merge does: a leader given (even the same one)
// bumps the leader epoch, and every change bumps the partition epoch.
func (a *applier) applyPartitionChange(r PartitionChangeRecord) error {
	t, ok := a.im.topicsByID[r.TopicID]
	if !ok || r.Partition < 0 || int(r.Partition) >= len(t.Partitions) {
		return fmt.Errorf("change of unknown partition %d of topic id %x", r.Partition, r.TopicID)
	}
	if r.Replicas != nil && len(r.Replicas) == 0 {
		return fmt.Errorf("change of partition %d of %q to no replicas", r.Partition, t.Name)
	}
	t = a.mutable(t)
	p := &t.Partitions[r.Partition]
	if r.Replicas != nil {
		p.Replicas = slices.Clone(r.Replicas)
	}
	if r.ISR != nil {
		p.ISR = slices.Clone(r.ISR)
	}
	if r.AddingReplicas != nil {
		p.AddingReplicas = nonEmpty(r.AddingReplicas)
	}
	if r.RemovingReplicas != nil {
		p.RemovingReplicas = nonEmpty(r.RemovingReplicas)
	}
	if r.Leader != metalog.LeaderUnchanged {
		p.Leader = r.Leader
		p.LeaderEpoch++
	}
	if r.LeaderRecoveryState != metalog.RecoveryStateUnchanged {
		p.LeaderRecoveryState = r.LeaderRecoveryState
	}
	p.PartitionEpoch++
	return nil
}

func (a *applier) applyConfig(r ConfigRecord) error {
	switch r.ResourceType {
	case ResourceTopic:
		t, ok := a.im.topics[r.ResourceName]
		if !ok {
			return fmt.Errorf("config %s of unknown topic %q", r.Name, r.ResourceName)
		}
		t = a.mutable(t)
		setOrDelete(t.Configs, r.Name, r.Value)
	case ResourceBroker:
		m := maps.Clone(a.im.brokerConfigs[r.ResourceName])
		if m == nil {
			m = map[string]string{}
		}
		setOrDelete(m, r.Name, r.Value)
		if len(m) == 0 {
			delete(a.im.brokerConfigs, r.ResourceName)
		} else {
			a.im.brokerConfigs[r.ResourceName] = m
		}
	default:
		return fmt.Errorf("config %s of resource type %d", r.Name, r.ResourceType)
	}
	return nil
}

func setOrDelete(m map[string]string, key string, v *string) {
	if v == nil {
		delete(m, key)
	} else {
		m[key] = *v
	}
}

// mutable is t's copy for this Apply, made on first use and put in place
// of t in the image's maps.
func (a *applier) mutable(t *Topic) *Topic {
	if a.copied[t] {
		return t
	}
	n := &Topic{Name: t.Name, ID: t.ID, Internal: t.Internal,
		Partitions: slices.Clone(t.Partitions), Configs: maps.Clone(t.Configs)}
	a.copied[n] = true
	a.im.topics[n.Name], a.im.topicsByID[n.ID] = n, n
	return n
}

// Records are records that build im's features, brokers, topics, configs
// and producer id reservation from an empty image: what a snapshot holds.
// The order is fixed (metadata.version first, as KRaft requires, then the
// brokers by id, topics by name, keys sorted), so equal images give equal
// snapshots.
func (im *Image) Records() []Record {
	var out []Record
	if v, ok := im.features[metalog.MetadataVersionFeature]; ok {
		out = append(out, FeatureLevelRecord{Name: metalog.MetadataVersionFeature, FeatureLevel: v})
	}
	for _, name := range slices.Sorted(maps.Keys(im.features)) {
		if name != metalog.MetadataVersionFeature {
			out = append(out, FeatureLevelRecord{Name: name, FeatureLevel: im.features[name]})
		}
	}
	out = append(out, im.brokerRecords()...)
	for _, t := range im.Topics() {
		out = append(out, TopicRecord{Name: t.Name, ID: t.ID})
		for _, k := range slices.Sorted(maps.Keys(t.Configs)) {
			v := t.Configs[k]
			out = append(out, ConfigRecord{ResourceType: ResourceTopic, ResourceName: t.Name, Name: k, Value: &v})
		}
		for i, p := range t.Partitions {
			out = append(out, PartitionRecord{TopicID: t.ID, Partition: int32(i), Replicas: p.Replicas,
				ISR: p.ISR, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch,
				LeaderRecoveryState: p.LeaderRecoveryState, AddingReplicas: p.AddingReplicas,
				RemovingReplicas: p.RemovingReplicas})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(im.brokerConfigs)) {
		m := im.brokerConfigs[name]
		for _, k := range slices.Sorted(maps.Keys(m)) {
			v := m[k]
			out = append(out, ConfigRecord{ResourceType: ResourceBroker, ResourceName: name, Name: k, Value: &v})
		}
	}
	if im.nextProducerID > 0 {
		out = append(out, ProducerIdsRecord{BrokerID: im.NodeID, BrokerEpoch: -1, NextProducerID: im.nextProducerID})
	}
	return out
}

// nonEmpty is a copy of s, nil when it is empty.
func nonEmpty(s []int32) []int32 {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}
