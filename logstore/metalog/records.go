package metalog

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// UUID is Kafka's Uuid: 16 bytes, written as 22 characters of base64url
// without padding.
type UUID [16]byte

func (u UUID) String() string { return base64.RawURLEncoding.EncodeToString(u[:]) }

// MarshalText writes the id as Kafka's JSON does.
func (u UUID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// ParseUUID reads the 22-character form.
func ParseUUID(s string) (UUID, error) {
	var id UUID
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("bad id %q", s)
	}
	copy(id[:], b)
	return id, nil
}

// RecordType is a metadata record's type: the apiKey of its Kafka JSON
// spec (metadata/src/main/resources/common/metadata). These numbers are
// part of the format and must not change.
type RecordType uint16

const (
	TypeRegisterBroker           RecordType = 0
	TypeUnregisterBroker         RecordType = 1
	TypeFenceBroker              RecordType = 7
	TypeUnfenceBroker            RecordType = 8
	TypeBrokerRegistrationChange RecordType = 17
	TypeTopic                    RecordType = 2
	TypePartition                RecordType = 3
	TypeConfig                   RecordType = 4
	TypePartitionChange          RecordType = 5
	TypeRemoveTopic              RecordType = 9
	TypeFeatureLevel             RecordType = 12
	TypeProducerIDs              RecordType = 15
	TypeNoOp                     RecordType = 20
)

var typeNames = map[RecordType]string{
	TypeRegisterBroker: "REGISTER_BROKER_RECORD", TypeUnregisterBroker: "UNREGISTER_BROKER_RECORD",
	TypeFenceBroker: "FENCE_BROKER_RECORD", TypeUnfenceBroker: "UNFENCE_BROKER_RECORD",
	TypeBrokerRegistrationChange: "BROKER_REGISTRATION_CHANGE_RECORD",
	TypeTopic:                    "TOPIC_RECORD", TypePartition: "PARTITION_RECORD", TypeConfig: "CONFIG_RECORD",
	TypePartitionChange: "PARTITION_CHANGE_RECORD", TypeRemoveTopic: "REMOVE_TOPIC_RECORD",
	TypeFeatureLevel: "FEATURE_LEVEL_RECORD", TypeProducerIDs: "PRODUCER_IDS_RECORD", TypeNoOp: "NO_OP_RECORD",
}

// String is the name Kafka's MetadataRecordType gives the type, as its
// dump tool prints it.
func (t RecordType) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("UNKNOWN_%d", uint16(t))
}

// Record is one metadata record, as KRaft's metadata log holds them: the
// image is what applying every record in order gives. Records are values;
// they are never modified once built. The json tags are the field names of
// Kafka's JSON form (its dump tool's output).
type Record interface {
	Type() RecordType
}

// TopicRecord creates a topic. Its configs and partitions follow in
// ConfigRecords and PartitionRecords of the same batch.
type TopicRecord struct {
	Name string `json:"name"`
	ID   UUID   `json:"topicId"`
}

// PartitionRecord creates a topic's next partition (Partition equal to the
// topic's partition count) or replaces an existing one's registration.
// Directories (v1+) and the eligible leader replicas (v2+) are kept when
// read; Weir writes neither, so it writes version 0.
type PartitionRecord struct {
	Partition              int32   `json:"partitionId"`
	TopicID                UUID    `json:"topicId"`
	Replicas               []int32 `json:"replicas"`
	ISR                    []int32 `json:"isr"`
	RemovingReplicas       []int32 `json:"removingReplicas"`
	AddingReplicas         []int32 `json:"addingReplicas"`
	Leader                 int32   `json:"leader"`
	LeaderRecoveryState    int8    `json:"leaderRecoveryState"`
	LeaderEpoch            int32   `json:"leaderEpoch"`
	PartitionEpoch         int32   `json:"partitionEpoch"`
	Directories            []UUID  `json:"directories,omitempty"`
	EligibleLeaderReplicas []int32 `json:"eligibleLeaderReplicas,omitempty"`
	LastKnownELR           []int32 `json:"lastKnownElr,omitempty"`
}

// MarshalJSON writes the arrays that cannot be null as [] when empty, as
// Kafka's JSON does (the decoder reads an empty one as nil).
func (p PartitionRecord) MarshalJSON() ([]byte, error) {
	type plain PartitionRecord
	q := plain(p)
	for _, s := range []*[]int32{&q.Replicas, &q.ISR, &q.RemovingReplicas, &q.AddingReplicas} {
		if *s == nil {
			*s = []int32{}
		}
	}
	return json.Marshal(q)
}

// PartitionChangeRecord changes an existing partition: nil slices and the
// Unchanged values leave a field as it is. A new leader (even the same one)
// bumps the leader epoch; every change bumps the partition epoch.
type PartitionChangeRecord struct {
	Partition              int32   `json:"partitionId"`
	TopicID                UUID    `json:"topicId"`
	ISR                    []int32 `json:"isr,omitempty"`
	Leader                 int32   `json:"leader"` // LeaderUnchanged, NoLeader or a node id
	Replicas               []int32 `json:"replicas,omitempty"`
	RemovingReplicas       []int32 `json:"removingReplicas,omitempty"`
	AddingReplicas         []int32 `json:"addingReplicas,omitempty"`
	LeaderRecoveryState    int8    `json:"leaderRecoveryState"` // RecoveryStateUnchanged, 0 or 1
	Directories            []UUID  `json:"directories,omitempty"`
	EligibleLeaderReplicas []int32 `json:"eligibleLeaderReplicas,omitempty"`
	LastKnownELR           []int32 `json:"lastKnownElr,omitempty"`
}

// Leader recovery states (KIP-704): after an unclean election the leader
// is RECOVERING until it has truncated; then RECOVERED again.
const (
	RecoveredLeader  int8 = 0
	RecoveringLeader int8 = 1
)

// Defaults of PartitionChangeRecord's fields that mean "no change".
const (
	LeaderUnchanged        int32 = -2
	NoLeader               int32 = -1
	RecoveryStateUnchanged int8  = -1
)

// ConfigRecord sets (Value non-nil) or deletes (nil) one config key of a
// resource: a topic (by name) or a broker ("" for the cluster-wide
// default, else the node id).
type ConfigRecord struct {
	ResourceType int8    `json:"resourceType"` // ResourceTopic or ResourceBroker
	ResourceName string  `json:"resourceName"`
	Name         string  `json:"name"`
	Value        *string `json:"value"`
}

// Config resource types, Kafka's ConfigResource.Type ids.
const (
	ResourceTopic  int8 = 2
	ResourceBroker int8 = 4
)

// RemoveTopicRecord deletes a topic with its partitions and configs.
type RemoveTopicRecord struct {
	ID UUID `json:"topicId"`
}

// FeatureLevelRecord sets a finalized feature's level. A metadata log and
// every snapshot begin with the one of metadata.version.
type FeatureLevelRecord struct {
	Name         string `json:"name"`
	FeatureLevel int16  `json:"featureLevel"`
}

// MetadataVersionFeature is the feature that says how to read the log.
const MetadataVersionFeature = "metadata.version"

// MetadataVersion is the metadata.version Weir writes: 3.3-IV3 (7), the
// lowest Kafka 4 reads, whose record versions are the ones Weir writes
// (PartitionRecord and PartitionChangeRecord v0: no directories, no ELR).
const MetadataVersion int16 = 7

// ProducerIdsRecord reserves producer ids: every id below NextProducerID
// has been handed out (or may have been).
type ProducerIdsRecord struct {
	BrokerID       int32 `json:"brokerId"`
	BrokerEpoch    int64 `json:"brokerEpoch"`
	NextProducerID int64 `json:"nextProducerId"`
}

// NoOpRecord changes nothing (KRaft's leader writes them to advance the
// high watermark).
type NoOpRecord struct{}

func (TopicRecord) Type() RecordType           { return TypeTopic }
func (PartitionRecord) Type() RecordType       { return TypePartition }
func (ConfigRecord) Type() RecordType          { return TypeConfig }
func (PartitionChangeRecord) Type() RecordType { return TypePartitionChange }
func (RemoveTopicRecord) Type() RecordType     { return TypeRemoveTopic }
func (FeatureLevelRecord) Type() RecordType    { return TypeFeatureLevel }
func (ProducerIdsRecord) Type() RecordType     { return TypeProducerIDs }
func (NoOpRecord) Type() RecordType            { return TypeNoOp }
