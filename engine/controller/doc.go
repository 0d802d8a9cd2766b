// Package controller makes the cluster's metadata decisions: whether a
// CreateTopics, DeleteTopics, CreatePartitions, AlterConfigs,
// IncrementalAlterConfigs or ElectLeaders change may be made, and the
// records that make it; and it commits those records through a Proposer.
//
// # Planning
//
// Planning is pure: PlanTopics, PlanTopic, PlanPartitions,
// ResolveDeletions, PlanAlterations and PlanElectLeaders are functions of
// the current metadata.Image, the request and the broker's effective
// configuration (ids come from the caller), with Kafka's checks in
// Kafka's order and its messages. A refused resource gets a Refusal (a
// Kafka error code and message, a protocol outcome, not a Go error). The
// records come in KRaft's order: a topic's TopicRecord, its ConfigRecords
// by name, its PartitionRecords by index. Placement (placement.go)
// stripes leaders over the registered brokers listed alternating by rack
// and puts a partition's followers on racks it is not on yet (brokers
// without broker.rack are one rack, as in Kafka 4; no racks at all is
// plain round robin); auto-created internal topics have their
// replication factor capped at the brokers registered, and
// AutoTopicRequest says so for the broker to warn.
//
// # Brokers (KIP-631)
//
// PlanRegistration (BrokerRegistration), PlanHeartbeat (BrokerHeartbeat)
// and PlanSessionExpiry decide a broker's registration, fencing,
// unfencing and controlled shutdown as Kafka's ClusterControlManager,
// ReplicationControlManager and BrokerHeartbeatManager do, at
// metadata.version 3.3-IV3: RegisterBrokerRecord v1 and
// BrokerRegistrationChangeRecord. Fencing takes the broker out of every
// ISR and moves its leadership (leaderChanges, Kafka's
// PartitionChangeBuilder without ELR): a new leader from the ISR with the
// leader epoch bumped, or -1 when no ISR member may lead and unclean
// election is off. Sessions hold the heartbeats: soft state, not in the
// log, with times given by the caller (no clock is read here). New
// partitions are placed over unfenced brokers first and their ISR is the
// active replicas.
//
// # Leader elections
//
// PlanElectLeaders is ElectLeaders (KIP-460): preferred elections give a
// partition back to its first replica, unclean ones give a leaderless
// partition any live replica (elect_leaders.go, Kafka's
// PartitionChangeBuilder elections). PlanLeaderRebalance is the automatic
// rebalance (auto.leader.rebalance.enable): preferred elections for the
// brokers whose share of preferred partitions they do not lead is above
// leader.imbalance.per.broker.percentage. Both bump the leader epochs
// through PartitionChangeRecords, as fencing does.
//
// # Committing
//
// A Proposer commits one change (a list of records) all or none and
// returns the committed image; it also says the offset the next change
// starts at (a new broker's epoch) and describes the quorum
// (DescribeQuorum). Local is a single node's one-voter quorum over the
// metadata log (logstore/metalog, in `<first log dir>/__cluster_metadata-0`):
// append the batch (fsynced), apply it to the image, snapshot the image
// once the log passes LocalOptions.SnapshotBytes or SnapshotInterval has
// passed. Raft is a voter of a controller quorum (engine/quorum: etcd
// raft's RawNode over the same log):
//
//  1. Every voter, leader or not, builds its image from the changes its
//     quorum.Node commits and applies, and from the snapshots it
//     installs, with Local's apply code (apply.go); the node's snapshots
//     hold the image's records, as Local's do.
//  2. Propose on the leader waits until it has applied its whole log (a
//     new leader's first entry commits its predecessors' changes), checks
//     the records against that image (ErrStaleImage if they no longer
//     apply: plan again), commits them as one batch and returns the image
//     of that change. On a follower it answers *NotControllerError with
//     the leader's id (NOT_CONTROLLER, or forward to it).
//  3. The first leader of an empty log commits metadata.version before
//     any other change: a caught-up leader whose image has none proposes
//     it, so it is in the log once.
//  4. NextOffset and Quorum come from the node's status: on the leader
//     its view of every voter, on a follower its own log and the leader
//     it knows.
//
// # The way of a change
//
//  1. The engine takes its control-plane mutex, so that nothing is
//     proposed between planning and proposing.
//  2. It plans here against the image it last published.
//  3. It does the broker's part that must come first: the partition logs
//     of new topics and partitions are created before the records are
//     proposed, and dropped when the proposal fails (answered
//     KAFKA_STORAGE_ERROR).
//  4. It proposes; the committed image comes back.
//  5. It publishes the image and partition table, deletes the logs of
//     deleted topics and answers.
//
// controller imports engine/config, engine/metadata, engine/quorum (for
// Raft) and logstore/metalog; never engine, netio, ring or replica
// (cmd/weir's layout test checks). It opens no sockets: Raft's node talks
// through the quorum.Transport it is given. Only Local and Raft's node
// touch the disk.
package controller
