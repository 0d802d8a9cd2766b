// Package quorum is Weir's controller quorum: etcd raft's RawNode
// (go.etcd.io/raft/v3, with pre-vote and check-quorum) over the
// Kafka-format metadata log `__cluster_metadata-0` (logstore/metalog).
// Weir writes no Raft of its own; this package gives raft its storage,
// its clock and its network, and the engine its changes in order.
//
// It imports logstore and logstore/metalog of Weir, nothing else: no
// engine, netio or ring (cmd/weir's layout test checks). controller.Raft
// is the Proposer over a Node; the engine carries its messages over the
// controller listener (engine/raftnet.go) and serves observers (brokers
// that are not voters) the committed batches (ReadCommitted) and
// snapshots (SnapshotData).
//
// # The log: one Raft entry, one record batch
//
// Entry i of the Raft log is the i-th batch after the newest snapshot,
// and its term is the batch's partition leader epoch (Kafka's epoch is
// the Raft term):
//
//	+---------------------------+-------------------------------------+
//	| Raft entry                | batch of __cluster_metadata-0       |
//	+---------------------------+-------------------------------------+
//	| normal, with data         | the data: a batch of the change's   |
//	|                           | metadata records (one change, one   |
//	|                           | batch, as the single node writes)   |
//	| normal, empty (a new      | control batch: LeaderChange {leader |
//	| leader's first)           | of the term, voters, granting: []}  |
//	| EntryConfChange(V2)       | control batch: KRaftVoters (Kafka's |
//	|                           | VotersRecord, type 6) with Voters   |
//	|                           | empty and, in Weir's tagged field,  |
//	|                           | 'C' | entry type | the ConfChange   |
//	+---------------------------+-------------------------------------+
//
// An entry's Data is therefore a whole batch (what the log returns for
// entry i, LeaderChange batches included); its base offset and leader
// epoch, outside the batch's CRC, are stamped by each node as it writes:
// the base offset is the log end (equal on every node whose log matches,
// since offsets count the records of the same batches from the same
// snapshot), the epoch is the entry's term. A leader proposes a batch
// with both zero. Static voters (controller.quorum.voters) need no conf
// change entry: every voter starts with them as its configuration, as
// Kafka's kraft.version 0 does; conf change entries are stored and
// applied, but nothing proposes them yet.
//
// The storage keeps a table in memory, entry -> (base offset, end offset,
// term, append time), rebuilt at open by reading the log's batches (each
// must start where the last ended, epochs never go down): the batch at
// the newest snapshot's end is the entry after the snapshot's, those
// below it are numbered back from there. It also keeps the recent
// entries themselves (4 MiB) so that a leader replicating and a follower
// applying do not read the disk.
//
// # Files, in the metadata log's directory
//
//	__cluster_metadata-0/
//	  00000000000000000000.log ...  the batches (metalog, logstore segments)
//	  <end offset>-<epoch>.checkpoint
//	                                the snapshot (metalog): its header batch
//	                                holds the SnapshotHeader and a
//	                                KRaftVoters record whose voters are the
//	                                configuration's and whose Weir field is
//	                                'S' | index | term | end offset (uvarints) |
//	                                the raftpb.ConfState
//	  quorum-state                  Kafka's QuorumStateData JSON: leaderEpoch
//	                                (the term), votedId (the vote), leaderId,
//	                                currentVoters, data_version 0, and Weir's
//	                                weirCommitIndex
//
// Raft ids are Kafka node ids plus one (raft reserves 0).
//
// # A Ready, in order
//
//  1. A snapshot from the leader: the log is emptied to start at its end
//     (durably), then its file (the leader's .checkpoint, whole, as the
//     MsgSnap's data) is written and fsynced.
//  2. The hard state: quorum-state is rewritten (temporary file, fsync,
//     rename, directory fsync) when the term or the vote changed; before
//     the entries, so that no entry has a term the file has not reached
//     (a log with entries and no quorum-state is refused at open: a
//     single node's log, whose epochs count its starts, is not a
//     quorum's). A new commit index alone is not written then: it goes
//     with the next write, and at Close, so the file's commit index is a
//     lower bound (raft learns the rest from the leader; at open it is
//     clamped into the log).
//  3. Entries: a tail the new entries overwrite is truncated
//     (metalog TruncateTo), then they are appended as batches with one
//     fsync.
//  4. Messages are sent: everything they depend on is durable.
//  5. The snapshot and the committed entries are applied: OnApply gets
//     each change (its records decoded) and snapshots; conf changes go to
//     raft; proposals learn their fate.
//  6. Advance.
//
// So: a change acknowledged to its proposer is fsynced on a majority; a
// vote is durable before it is sent; a crash mid-append leaves a torn
// tail that logstore's recovery cuts at open (it was acknowledged to no
// one).
//
// # Snapshots and compaction
//
// After applying, a node writes a snapshot of the image (SnapshotRecords)
// at its applied index once SnapshotBytes of records were committed since
// the last one, or SnapshotInterval passed. Writing it deletes the older
// snapshot; then the log is compacted to RetainEntries entries below the
// snapshot (the segments wholly below go, the log is rolled), and raft's
// first index moves there. A follower that needs an entry below that gets
// the snapshot (MsgSnap) and installs it (step 1).
//
// # Proposals
//
// Propose encodes the records as one batch and hands it to the node's
// goroutine, which proposes it to raft if it leads (else *NotLeaderError
// with the leader). It learns its entry's index from the next Ready; the
// proposal succeeds when the entry at that index commits with its term,
// and fails with *NotLeaderError when another entry commits there (a new
// leader replaced it). Commit is decided, never guessed: a caller that
// stops waiting gets ErrTimeout and the change may still commit.
//
// # Transport
//
// Transport.Send must not block; Network (in memory: cut links, drops,
// delays) is for tests, TCP (tcp.go) dials the peers and either reads
// what they dial in (its own framing) or, with a Frame, leaves reading to
// the engine's controller listener, which hands messages in (Deliver).
package quorum
