// Package replica is one partition replica's state machine: leader or
// follower, the log end and high watermark, the ISR and the proposals to
// change it, leader epochs and the truncation a new follower owes, and the
// acks=all produces waiting on the high watermark. It holds Kafka's rules
// (Partition and Replica in Kafka's broker; KIP-101, KIP-279, KIP-595) in
// one place.
//
// Like etcd raft's RawNode it does no I/O: no goroutines, sockets, clock
// reads or log access. The engine feeds it events as values, time
// included, and carries out what it decides. It imports nothing of Weir's
// (the layout allows logstore; its own small types are enough).
//
// # Inputs
//
//   - BecomeLeader, BecomeFollower: the partition's assignment from the
//     metadata image (leader, leader epoch, partition epoch, replicas, ISR).
//     A stale one (older epochs) is refused. A committed ISR change arrives
//     the same way, as a newer partition epoch.
//   - LogEnd, LogStart: the local log after an append (durable or just
//     written: the caller chooses the semantics), a truncation, a deletion.
//   - Fetch: a follower's fetch on the leader (replica id, fetch offset,
//     current leader epoch, last fetched epoch with the leader log's answer
//     for it, the time). The answer comes back at once (FetchResult).
//   - Tick: the time passes; a leader looks for followers out of sync.
//   - Accept, Wait: an append's admission (leadership, min.insync.replicas
//     for acks=all) and an acks=all produce to release later.
//   - TruncateTo: on a follower, the leader's answer for the follower's
//     latest epoch (a fetch's DivergingEpoch, or OffsetForLeaderEpoch) and
//     the local log's for the same epoch; the decision comes back at once.
//     LeaderHighWatermark: the high watermark a fetch answer without
//     divergence carried.
//   - ProposalFailed: the controller refused an ISR proposal.
//
// # Outputs
//
// Answers to requests are return values: Kafka error codes (Code) and
// small structs. What follows from any input is gathered in a Ready: the
// high watermark to publish, an ISR proposal to send (AlterPartition),
// the acks=all produces to answer. The caller carries it out and calls
// Advance:
//
//	if m.HasReady() {
//		rd := m.Ready()
//		if rd.HighWatermarkChanged {
//			log.SetHighWatermark(rd.HighWatermark) // then wake fetches
//		}
//		if rd.Proposal != nil {
//			sendAlterPartition(rd.Proposal)
//		}
//		for _, r := range rd.Released {
//			answerProduce(r.ID, r.Code)
//		}
//		m.Advance(rd)
//	}
//
// # The rules, in short
//
//   - Leader high watermark: the least log end over the leader and the
//     followers in the ISR (with a proposed addition, and a proposed
//     removal until it is committed), and over caught-up followers outside
//     it. It never goes back. With no followers it is the log end at once.
//   - Caught up: a follower whose fetch offset reached the leader's log end
//     at the time of the fetch (or, at the next fetch, the log end the
//     leader had at the previous one) is caught up at that time. A follower
//     of the ISR not caught up for LagTimeMax is proposed for removal; one
//     outside whose log end reached the high watermark and the start of the
//     leader's epoch is proposed for addition. One proposal at a time.
//   - A new leader epoch resets the followers' state: in the ISR, caught up
//     now; outside, never.
//   - acks=all: refused with NOT_ENOUGH_REPLICAS while the ISR is smaller
//     than min.insync.replicas; released once the high watermark passes
//     the produce's last offset (NOT_ENOUGH_REPLICAS_AFTER_APPEND if the
//     ISR shrank below it meanwhile), or with NOT_LEADER_OR_FOLLOWER when
//     leadership goes.
//   - A follower truncates by leader epochs (KIP-101/279), not by the high
//     watermark; only a leader that knows no epoch leaves the high
//     watermark as the point to truncate to, as in Kafka.
//
// # How the engine drives it
//
// Each hosted partition owns a Machine, made with the partition
// (engine's newPartition) from its log's start, end and checkpointed high
// watermark, and given its assignment there, before the partition is
// published. From then on only the partition's owner shard drives it: the
// appends (produce, the group coordinator's writes to __consumer_offsets)
// feed it the log end and publish the high watermark from its Ready;
// DeleteRecords feeds it the log start. A single node leads every
// partition with itself the whole ISR, so the high watermark follows the
// log end at once, as before the machine.
//
// Not driven yet (the replication issue): Fetch, Tick, TruncateTo,
// LeaderHighWatermark and proposals, which need followers; Accept and Wait,
// since the engine still answers acks=all produces itself (after the
// append, or after the sync flush.messages started); log start moves made
// by retention inside logstore.
package replica
