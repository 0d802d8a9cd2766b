// Package metadata holds the broker's view of the cluster as one immutable
// Image: the cluster id, the brokers with their endpoints, the controller,
// the topics with their ids, partitions (replicas, ISR, leader, epochs)
// and configs, and the dynamic broker configs. Request handlers read the
// current Image without locks; a change builds a new Image and swaps it in
// whole (engine keeps it in an atomic.Pointer), so a handler never sees
// half an update.
//
// # Records
//
// Every change is a list of Records (TopicRecord, PartitionRecord,
// ConfigRecord, RemoveTopicRecord, after KRaft's), applied by the pure
// Image.Apply. Today the engine's controller writes them to the local Log
// and applies them; the Raft quorum will feed the same records from its
// replicated log.
//
// # The local metadata log (on disk)
//
//	<first log dir>/__cluster_metadata-0/
//	  metadata.records    frames appended since the snapshot, one per change
//	  metadata.snapshot   one frame: the records of a whole image
//
// A frame (these offsets are part of the format and must not change):
//
//	+-----------------+-----------------+--------------------------------+
//	| length u32 (BE) | crc u32 (BE)    | payload: length bytes of JSON  |
//	+-----------------+-----------------+--------------------------------+
//	crc: CRC-32C (Castagnoli) of the payload
//	payload: {"seq": N, "records": [{"topic": {"name": .., "id": ..}},
//	          {"partition": {...}}, {"config": {...}}, {"remove_topic": {...}}]}
//
// seq counts changes from 1; a snapshot carries the seq of the last change
// it holds, and replay skips log frames at or below it (a crash between
// writing the snapshot and emptying the log). Each append is fsynced
// before the change is applied; a torn or corrupt tail is cut on open.
// Ids are Kafka's 22-character base64url UUIDs. The engine writes a
// snapshot and empties the log when the log passes a few MiB.
//
// metadata imports nothing of Weir.
package metadata
