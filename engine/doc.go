// Package engine is the broker: configuration (engine/config), the request
// dispatch from netio frames to Kafka API handlers, the metadata image
// (engine/metadata), the controller's decisions (engine/controller), and
// the group coordinator.
//
// # A request's way through
//
//  1. netio assembles a frame (the bytes after the 4-byte size) and calls
//     ServeFrame of the listener's handler on the connection's shard.
//  2. parseHeader reads api key, version, correlation id, client id and,
//     for flexible versions, the header's tagged fields, through a reader
//     with a sticky error (header.go, reader.go).
//  3. The api table (dispatch.go) says whether Weir serves that key and
//     version. A key or version it does not serve closes the connection,
//     as Kafka does; ApiVersions alone answers any version (in v0).
//  4. kmsg decodes the body; the handler gets a request holding the
//     decoded body, the connection, the listener name and the metadata
//     image current at arrival, read without locks.
//  5. The handler returns a kmsg response, which respond encodes into a
//     pooled buffer behind the size prefix and response header and hands
//     to Conn.Respond; netio sends responses in request order and releases
//     the buffer. A handler that must wait (acks=all, long polls) returns
//     nil and calls respond later, from any goroutine.
//
// Three kinds of outcome stay apart: protocol outcomes are Kafka error
// codes in the response; a Go error from a handler closes the connection
// (logged); programmer errors panic with their values.
//
// # Adding an API
//
// One file per API key, named by number (18_api_versions.go,
// 03_metadata.go), opening with the versions served and the behaviour, and
// an init that registers the handler: ApiVersions then advertises it.
//
// # On disk
//
// Each log dir holds Kafka's .lock (flock: one broker per dir) and
// meta.properties (metaprops.go), written on first start with a new
// cluster id and checked on every start after. The first also holds the
// metadata log, __cluster_metadata-0, in KRaft's format (package
// metalog's doc draws it); producer id reservations are records in it too.
// Partition logs go to the log dir with the fewest (or the one an
// AlterReplicaLogDirs named before the partition came). AlterReplicaLogDirs
// moves a hosted partition's log to another log dir in the background
// (logmoves.go over logstore's Move): its *logstore.Log stays the same
// value, and its switch to the new files runs on the owner shard.
//
// # Metadata changes (topics, configs)
//
// Admin requests (CreateTopics, DeleteTopics, CreatePartitions,
// AlterConfigs, IncrementalAlterConfigs, ElectLeaders, and Metadata when
// it auto-creates) run on a control-plane goroutine and answer later.
// The decisions are package controller's: pure planning functions of
// (image, request, broker config) that validate and produce the records, and a Proposer
// that commits them (controller.Local over the metadata log on a single
// node, controller.Raft on a cluster's voters). The engine keeps the
// broker's part, serialized by b.ctl.mu (topics_controller.go): plan
// against the proposer's image,
// create the new partitions' logs, propose the records, then publish the
// partition table, the effective configs and the image, in that order,
// and delete the logs of deleted topics (renamed `-delete`, removed in the
// background; topic_deletes.go says how a crash in between is finished).
// When a log cannot be made or the proposal fails, the logs made are
// dropped and the change is answered KAFKA_STORAGE_ERROR. At Open the log
// is replayed and the logs on disk are matched to the image (reconcileLogs:
// logs of no known topic are renamed `-stray` and kept).
//
// # Brokers and their sessions (KIP-631)
//
// Brokers are registered in the metadata log (brokers.go): this node
// registers itself at Open through the controller's planning functions,
// as a remote broker's BrokerRegistration (62) and BrokerHeartbeat (63)
// on a controller listener do; a ticker sends this node's own heartbeat
// in-process and fences the brokers whose sessions expired. Metadata and
// DescribeCluster leave fenced brokers out (DescribeCluster v2 lists
// them on request). APIs whose Kafka spec names only one kind of
// listener (62 and 63: controller; 75: broker) are served only there.
// Another ticker gives partitions back to their preferred leaders every
// leader.imbalance.check.interval.seconds (leader_rebalance.go,
// auto.leader.rebalance.enable).
//
// # A cluster (cluster.go)
//
// With controller.quorum.voters naming other nodes, the single node's
// parts are spread as in Kafka 4. A voter runs controller.Raft over
// package quorum, whose messages go over the controller listener
// (raftnet.go); a broker that is no voter follows the quorum as an
// observer, fetching the committed metadata log from the active
// controller (observer.go, and FetchSnapshot, 59). Only the active
// controller (the quorum's leader) plans and commits; it keeps the
// brokers' sessions and fences the expired ones. Every broker registers
// and heartbeats it over the controller listener, asks it for producer id
// blocks (67), and forwards the admin requests it gets (forward.go).
// Changes create no logs before they commit: every node publishes each
// image it applies, and publishing makes its logs follow it (hostLocked:
// logs for the partitions whose replicas name it, none for deleted topics
// or partitions moved off it) and makes each hosted partition leader or
// follower as the image says (reassign, on the owner shard). Nothing on a
// shard loop waits on the control plane: the quorum's own messages come
// in through those loops.
//
// Followers replicate (fetcher.go, replication.go): one fetcher per leader
// and local shard fetches the partitions this node follows over a fetch
// session, truncating by the DivergingEpoch a leader answers when its log
// ends the follower's last epoch earlier (KIP-595), and appends the
// batches byte for byte itself, off the shard loops (appendFollowed), the
// owner shard then taking their producer state and the leader's high
// watermark in one turn per response; the leader's
// replica learns each follower's log end from its fetch offsets, moves
// the high watermark over the ISR and proposes ISR changes, which go to
// the active controller as AlterPartition (56). acks=all produces wait on
// the replica until the high watermark passes them (the purgatory,
// partition.ackWaits), and min.insync.replicas refuses appends to a small
// ISR. Reassignments (45, 46) grow the replicas, and AlterPartition
// completes them once the whole target is in the ISR.
//
// # The data path (produce, fetch)
//
// A data-path request (Produce, Fetch, ListOffsets, OffsetForLeaderEpoch,
// DeleteRecords) is served for a partition only by its leader in the
// request's image, whatever logs this node keeps: one rule, in
// leadership.go, answers NOT_LEADER_OR_FOLLOWER (with KIP-951's current
// leader and its endpoint where the version carries them) for a partition
// another broker or none leads, and checks the request's leader epoch.
//
// Each partition is a unit (partition.go) that owns its log, its
// producer state (producer_state.go), its replica, which decides the high
// watermark, the fetches long-polling on it (fetch_wait.go) and the
// durable waits of its appends (parked on its log, Log.WhenDurable, and
// answered by the sync that makes them durable), and has an owner shard in the
// broker's shard runtime (shards.go; a stable hash of topic and partition,
// partitions.go). The broker creates that runtime (netio.Runtime) once, in
// Open, before any log or listener: every listener hands its connections
// to it, and any goroutine (control plane, coordinator, later follower
// fetchers and the Raft transport) posts work and timers to its shards.
// Every leader's writer appends through the unit's one write path,
// partition.write (partition_append.go): Produce as originClient, the
// group coordinator as originCoordinator; transaction markers are to come
// through it too (followers append with appendFollowed). Under the unit's
// write lock it refuses the append when the unit no longer leads, checks
// a client's idempotent batch, appends (the log validates each batch and
// decodes its records, as Kafka's LogValidator does on the leader:
// logstore/validate.go), records the producer ids of what it wrote (and,
// when the append rolled a segment, hands the log a copy of the producer
// state below it to write as a `.snapshot` file off the loop, which the
// next open starts from: rebuildProducers) and, when the caller wants
// durability and flush.messages started a sync, hands back the wait for
// it (so coordinator commits honour flush.messages as produce does). The
// owner shard then takes the outcome (appendedOnOwner): the replica
// learns the new log end and publishes the high watermark it decides,
// parked fetches wake. On the uring backend Produce writes off the shard
// loops (appender.go): the loop accepts the append and queues it on the
// partition, a goroutine drains the queue in order and posts the outcomes
// back, so a write that blocks in the kernel holds up its partition, not
// the shard's connections. The coordinator's rare appends, and every
// append on std (whose owners are goroutines), write on the owner.
// Requests that touch partitions of several owners (Produce,
// DeleteRecords) fan out through onOwners (fanout.go): one Runtime.Run per
// owner, and the last part to finish answers. Produce keeps the request
// frame for the batches it queues or posts (netio.Conn.KeepFrame, no
// copy; small frames are copied). The handlers keep the Kafka encoding
// and the mapping of outcomes to error codes. Fetch runs on the
// connection's shard: logstore reads are safe from any goroutine, and the
// response is framed by hand around segment ranges (fetch_encode.go) that
// netio sends without copying them into Go memory. Fsyncs asked for by the
// logs go through a shard's ring (syncer.go), batched per loop turn.
//
// # Consumer groups
//
// The group coordinator is package engine/groups: the classic protocol's
// state machine, committed offsets and their __consumer_offsets records
// (OffsetCommitKey v1 / OffsetCommitValue v3, GroupMetadataKey v2 /
// GroupMetadataValue v3), with an injected clock and no I/O. The engine
// serves the groups whose __consumer_offsets partition this broker leads
// (groupPartition; NOT_COORDINATOR otherwise, COORDINATOR_LOAD_IN_PROGRESS
// while the partition loads): the handlers (08, 09, 11-16, 42, 47) check
// the coordinator errors, decode, call groups and encode, never taking
// its lock. The coordinator follows the leadership of __consumer_offsets
// (group_leadership.go): each published image ends with
// followCoordinatorLeadership, which loads the partitions this broker
// has come to lead (groups.Load, the log read into the replay on a
// goroutine of its own, to the log end) and unloads those it no longer
// leads (groups.Unload: their groups dropped, their waiting joins and
// syncs answered NOT_COORDINATOR), in image order, so a load overtaken by
// an unload installs nothing. Start waits for the loads the images
// published at Open began, so a broker serves its groups from its first
// request. group_coordinator.go wires it: groups.Log
// appends its records as uncompressed batches to the partition on its
// owner shard through the partition's write path (a commit is answered
// after its append, and after its sync when flush.messages started one),
// and only while this broker leads the partition at the epoch the
// coordinator loaded it at (NOT_COORDINATOR otherwise); one time.Timer, reset by groups' Wake, runs its Tick
// (session, rebalance, initial delay timeouts); a ticker runs the offsets
// expiry (offsets.retention.minutes) for the groups this broker still
// coordinates. JoinGroup and SyncGroup that must wait are answered later
// through r.respond.
//
// Locks, in the order they may nest: the control plane's mutex (metadata
// changes; controller.Local's own mutex nests under it as a leaf), a
// fetch's mutex, a partition's waiter mutex; the fetch-session,
// group-coordinator and coordinator-load mutexes are leaves (the
// coordinator posts appends to owner shards and never waits on them under
// its lock; the publisher takes the last two under the control plane's
// to load and unload, and reads no log under either), and so is the log
// moves' mutex (their request mutex, which AlterReplicaLogDirs holds
// while it waits for a cancelled move, nests none of the above).
// The partition table, the image and the effective configs are immutable
// values behind atomic pointers.
//
// engine may import everything below it (netio, ring, logstore, replica);
// nothing in Weir imports engine but cmd/weir. Handlers know nothing of
// io_uring: they see frames and answer through netio.Conn.
package engine
