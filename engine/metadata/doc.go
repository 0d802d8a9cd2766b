// Package metadata holds the broker's view of the cluster as one immutable
// Image: the cluster id, the brokers with their endpoints, the controller,
// the finalized features (metadata.version), the topics with their ids,
// partitions (replicas, ISR, leader, epochs) and configs, the dynamic
// broker configs and the producer ids reserved. Request handlers read the
// current Image without locks; a change builds a new Image and swaps it in
// whole (engine keeps it in an atomic.Pointer), so a handler never sees
// half an update.
//
// # Records
//
// Every change is a list of Records (TopicRecord, PartitionRecord,
// PartitionChangeRecord, ConfigRecord, RemoveTopicRecord,
// FeatureLevelRecord, ProducerIdsRecord, NoOpRecord, and the broker
// records RegisterBrokerRecord, UnregisterBrokerRecord,
// BrokerRegistrationChangeRecord, FenceBrokerRecord, UnfenceBrokerRecord:
// KRaft's, defined and encoded by package metalog), applied by the pure
// Image.Apply. The brokers are what their records say (brokers.go): a
// registration with its epoch, incarnation id, rack, endpoints, features,
// and fenced and controlled-shutdown state; a change naming a broker or
// epoch not registered does not apply.
// Image.Records gives the records that rebuild an image, which is what a
// snapshot holds. Today the engine's controller writes each change to the
// local metalog.Log as one batch, fsynced, then applies it; the Raft
// quorum will feed the same records from its replicated log.
//
// # On disk
//
// The metadata log lives in `<first log dir>/__cluster_metadata-0` in
// Kafka's KRaft layout: segments of record batches and
// `<offset>-<epoch>.checkpoint` snapshots. metalog's package doc draws the
// format. (Weir's earlier JSON-frame files, metadata.records and
// metadata.snapshot, are migrated by metalog.Open and removed.)
//
// metadata imports nothing of Weir but metalog.
package metadata
