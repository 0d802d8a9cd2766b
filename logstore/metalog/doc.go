// Package metalog is the cluster metadata log in Kafka's KRaft format: the
// records (TopicRecord, PartitionRecord, ...) and their encoding, the
// control records of the Raft layer (LeaderChange, SnapshotHeader,
// SnapshotFooter), record batches, snapshot files, and the Log that keeps
// them in `__cluster_metadata-0` through logstore. Kafka's tools read what
// it writes (kafka-dump-log.sh --cluster-metadata-decoder), and so does
// `weir dump-log --cluster-metadata-decoder`.
//
// It lives under logstore and imports only logstore. One file per concern: records.go (the types),
// codec.go (a record's bytes), wire.go (Kafka's primitive types),
// control.go, batch.go (batches of records), snapshot.go (snapshot files),
// log.go (the log on disk), legacy.go (reading Weir's earlier format once,
// to migrate it), raft.go (what engine/quorum needs: OpenQuorum, which
// writes nothing, raw reads, snapshots below the log end and installed
// from a leader, and Kafka's VotersRecord). A Raft layer can use the codec and batches without the
// Log, and the Log without the engine: a leader appends changes with
// Append (one batch in its epoch), a follower copies the leader's batches
// with AppendBatches (offsets and epochs kept) after TruncateTo, and both
// read entries back with ReadBatches and compact with Snapshot.
//
// # On disk
//
//	<first log dir>/__cluster_metadata-0/
//	  00000000000000000000.log          record batches (logstore segments,
//	  00000000000000000000.index        8 MiB each by default)
//	  00000000000000000000.timeindex
//	  leader-epoch-checkpoint
//	  partition.metadata                topic_id: AAAAAAAAAAAAAAAAAAAAAQ (Kafka's)
//	  00000000000000000042-0000000003.checkpoint
//	                                    snapshot: the state below offset
//	                                    42, last written in epoch 3
//
// The log is logstore's format (magic-2 batches, see its doc); every batch
// is written by this node as leader: producer id -1, producer epoch -1,
// base sequence -1, partition leader epoch = the Raft epoch, uncompressed,
// all records with the batch's timestamp. One change is one batch, fsynced
// before the change is applied.
//
// # A metadata record (the value of a data batch's record; key null)
//
// These numbers are part of Kafka's format and must not change.
//
//	+------------------+---------+-------------------------------------+
//	| frame version    | uvarint | 1 (Kafka refuses 0)                 |
//	| type             | uvarint | the spec's apiKey: 0 RegisterBroker,|
//	|                  |         | 1 UnregisterBroker, 2 Topic,        |
//	|                  |         | 3 Partition, 4 Config, 5 Partition- |
//	|                  |         | Change, 7 FenceBroker, 8 Unfence-   |
//	|                  |         | Broker, 9 RemoveTopic, 12 Feature-  |
//	|                  |         | Level, 15 ProducerIds, 17 Broker-   |
//	|                  |         | RegistrationChange, 20 NoOp         |
//	| version          | uvarint | of the record's schema              |
//	| body             |         | the fields in schema order; strings |
//	|                  |         | and arrays compact (uvarint n+1,    |
//	|                  |         | 0 = null), uuids 16 bytes, ints BE; |
//	|                  |         | then tagged fields: uvarint count,  |
//	|                  |         | (uvarint tag, uvarint size, bytes)* |
//	+------------------+---------+-------------------------------------+
//
// e.g. TopicRecord v0 {Name: "a", TopicId: X}:
//
//	01 02 00 | 02 61 | X (16 bytes) | 00
//
// # A control record (in a control batch: attributes bit 5)
//
//	key:   version i16 (0) | type i16: 2 LeaderChange, 3 SnapshotHeader,
//	       4 SnapshotFooter, 6 KRaftVoters (raft.go; its value is
//	       flexible, with Weir's tagged field QuorumTag)
//	value: the message at version 0: LeaderChange {Version i16, LeaderId
//	       i32, Voters [VoterId i32], GrantingVoters [VoterId i32]},
//	       SnapshotHeader {Version i16, LastContainedLogTimestamp i64},
//	       SnapshotFooter {Version i16}; each struct ends in tagged fields
//
// # Snapshots
//
// `<end offset: 20 digits>-<epoch: 10 digits>.checkpoint` holds batches
// numbered from offset 0: a control batch with the SnapshotHeader, the
// records of the whole image (metadata.version first), a control batch
// with the SnapshotFooter. It is written to `.checkpoint.part`, fsynced
// and renamed; then older snapshots and every segment below its end
// offset are deleted (the log is rolled so its active segment starts
// there).
//
// # Open
//
// Open loads the newest snapshot that reads whole, then replays the
// batches from its end offset; logstore's recovery has cut a torn tail.
// It then starts a new epoch (one past the last seen) by appending a
// LeaderChange control batch, as a KRaft leader does at each election,
// and begins a new log with FeatureLevelRecord{metadata.version, 7}.
// Epochs therefore count the node's starts.
package metalog
