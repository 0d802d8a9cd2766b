package metadata

// Record is one change of the metadata, as KRaft's metadata log records
// are: the image is what applying every record in order gives. Records are
// values; they are never modified once built.
type Record interface{ record() }

// TopicRecord creates a topic. Its configs and partitions follow in
// ConfigRecords and PartitionRecords of the same batch.
type TopicRecord struct {
	Name string
	ID   [16]byte
}

// PartitionRecord creates a topic's next partition (Partition equal to the
// topic's partition count) or replaces an existing one's registration (a
// later leader or ISR change).
type PartitionRecord struct {
	TopicID        [16]byte
	Partition      int32
	Replicas       []int32
	ISR            []int32
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
}

// ConfigRecord sets (Value non-nil) or deletes (nil) one config key of a
// resource: a topic (by name) or a broker ("" for the cluster-wide
// default, else the node id).
type ConfigRecord struct {
	ResourceType int8 // ResourceTopic or ResourceBroker
	ResourceName string
	Name         string
	Value        *string
}

// RemoveTopicRecord deletes a topic with its partitions and configs.
type RemoveTopicRecord struct {
	ID [16]byte
}

// Config resource types, Kafka's ConfigResource.Type ids.
const (
	ResourceTopic  int8 = 2
	ResourceBroker int8 = 4
)

func (TopicRecord) record()       {}
func (PartitionRecord) record()   {}
func (ConfigRecord) record()      {}
func (RemoveTopicRecord) record() {}
