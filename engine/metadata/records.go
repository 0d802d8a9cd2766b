package metadata

import "github.com/weirmq/weir/logstore/metalog"

// The records are metalog's, which encodes them in Kafka's format; they are
// named here too so the engine speaks of metadata records in one package.
type (
	Record                = metalog.Record
	TopicRecord           = metalog.TopicRecord
	PartitionRecord       = metalog.PartitionRecord
	PartitionChangeRecord = metalog.PartitionChangeRecord
	ConfigRecord          = metalog.ConfigRecord
	RemoveTopicRecord     = metalog.RemoveTopicRecord
	FeatureLevelRecord    = metalog.FeatureLevelRecord
	ProducerIdsRecord     = metalog.ProducerIdsRecord
	NoOpRecord            = metalog.NoOpRecord

	RegisterBrokerRecord           = metalog.RegisterBrokerRecord
	UnregisterBrokerRecord         = metalog.UnregisterBrokerRecord
	FenceBrokerRecord              = metalog.FenceBrokerRecord
	UnfenceBrokerRecord            = metalog.UnfenceBrokerRecord
	BrokerRegistrationChangeRecord = metalog.BrokerRegistrationChangeRecord
	BrokerEndpoint                 = metalog.BrokerEndpoint
	BrokerFeature                  = metalog.BrokerFeature
)

// Config resource types, Kafka's ConfigResource.Type ids.
const (
	ResourceTopic  = metalog.ResourceTopic
	ResourceBroker = metalog.ResourceBroker
)
