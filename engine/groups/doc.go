// Package groups is the coordinator of Kafka's classic consumer groups:
// the group state machine, committed offsets, and their records in
// __consumer_offsets. It does no I/O, starts no goroutine that waits on
// time and reads no clock of its own, so its tests drive it in one
// thread with a fake clock.
//
// It must not import anything of Weir's (no engine, netio, ring or
// logstore): cmd/weir's layout test keeps it so. Requests and responses
// are franz-go's kmsg values.
//
// # State machine
//
// Kafka's, one per group (group.go, join.go, sync.go, rebalance.go,
// members.go):
//
//	Empty --join--> PreparingRebalance --all joined or rebalance timeout-->
//	CompletingRebalance --leader's SyncGroup--> Stable
//
// A join with new metadata, a leader's rejoin, a leave or a session
// timeout sends a CompletingRebalance or Stable group back to
// PreparingRebalance; a rebalance that ends with no member leaves it
// Empty; Delete and offsets expiry make an Empty group Dead. Static
// members (KIP-345) rejoining with unchanged metadata replace their old
// member id without a rebalance; the old id is fenced. A v4+ JoinGroup
// without a member id gets MEMBER_ID_REQUIRED and an id (KIP-394).
//
// # Use
//
//  1. New with Options: a Log to append records to, the broker Config, a
//     Clock and a Wake hook.
//  2. Follow leadership (partitions.go): when the broker becomes leader
//     of a __consumer_offsets partition, Load(part, epoch) returns a
//     Replay; feed it the partition's records in log order
//     (Replay.Record, without the coordinator's lock, on any goroutine);
//     Replay.Done rebuilds its groups and marks it Loaded. Until then
//     the partition's groups answer COORDINATOR_LOAD_IN_PROGRESS. When
//     the broker stops leading it, Unload(part) drops its groups (their
//     waiting joins and syncs answered NOT_COORDINATOR); groups of a
//     partition not led here answer NOT_COORDINATOR. Calls for one
//     partition come in the order of its leader epochs; a Replay whose
//     partition was loaded or unloaded again since it started installs
//     nothing.
//  3. Serve: Join, Sync, Heartbeat, Leave, Commit, FetchOffsets,
//     DeleteOffsets, Describe, List, Delete. A JoinGroup or SyncGroup
//     that must wait returns nil; its respond callback gets the answer
//     later, from the request or Tick that completes it (under the
//     coordinator's lock: respond must not call back). Appends go to
//     Log.Append with the leader epoch the partition was loaded at (the
//     Log refuses them, NOT_COORDINATOR, if that leadership ended), which
//     reports its outcome through done; a commit is
//     answered, and its offsets visible, only after its append.
//  4. Time: session, rebalance, initial-delay and sync timeouts are
//     deadlines. Wake(at) asks the caller to run Tick at or after at;
//     Tick(now) fires what is due. ExpireOffsets(now, owned) is the
//     offsets.retention pass, run by the caller every
//     offsets.retention.check.interval.ms, over the loaded groups only:
//     a partition's offsets are expired by the broker that leads it.
//  5. Close stops timers, expiry, appends and loads.
//
// One mutex guards every group and partition; operations are short and
// never wait on I/O under it (a Replay collects its records without it).
// Done callbacks may run under it (Log.Append may call done at once), so
// Commit applies its offsets on a goroutine of its own, and only if its
// partition was not unloaded in the meantime.
//
// # Records
//
// Kafka's __consumer_offsets schemas (records.go); the key's version
// tells its kind. These are part of the format and must not change:
//
//	key version | key                          | value
//	------------+------------------------------+-----------------------------
//	0, 1        | OffsetCommitKey (writes v1)  | OffsetCommitValue v3, or
//	            |   group, topic, partition    |   null: offset deleted
//	2           | GroupMetadataKey (v2)        | GroupMetadataValue v3, or
//	            |   group                      |   null: group deleted
//
// The replay keeps the last record per key; a null value deletes. A group
// with members comes back Stable with its generation, protocol, leader and
// assignments, each member with a fresh session. Records of other kinds
// or that do not decode are skipped.
package groups
