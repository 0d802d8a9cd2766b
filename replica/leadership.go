package replica

import (
	"fmt"
	"slices"
	"time"
)

// Assignment is the partition as the metadata image has it.
type Assignment struct {
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
	Replicas       []int32
	ISR            []int32
}

// stale says whether a is older than what the machine has: a lower leader
// epoch, or the same leader epoch with a lower partition epoch.
func (m *Machine) stale(a Assignment) bool {
	return a.LeaderEpoch < m.leaderEpoch ||
		a.LeaderEpoch == m.leaderEpoch && a.PartitionEpoch < m.partitionEpoch
}

// BecomeLeader applies an assignment that names this broker the leader:
// a new leader epoch, or a new ISR or replica set under the same one (the
// commit of a proposal). It returns false, changing nothing, when a is
// stale. As Kafka's Partition.makeLeader: on a new leader epoch the epoch
// starts at the local log end and every follower's fetch state is reset
// (caught up now if it is in the ISR, else never); an ISR proposal in
// flight is dropped, since the image is the truth.
func (m *Machine) BecomeLeader(a Assignment, now time.Time) bool {
	if a.Leader != m.cfg.ID {
		panic(fmt.Sprintf("replica: BecomeLeader on node %d with leader %d", m.cfg.ID, a.Leader))
	}
	if m.stale(a) {
		return false
	}
	m.observe(now)
	isNewLeader := m.role != Leader
	isNewEpoch := a.LeaderEpoch > m.leaderEpoch || isNewLeader
	m.setAssignment(a)
	m.role, m.truncating = Leader, false
	m.pending, m.pendingSent = nil, false

	old := m.followers
	m.followers = m.followers[:0:0]
	for _, id := range m.replicas {
		if id == m.cfg.ID {
			continue
		}
		f := follower{id: id, logEnd: -1, lastFetchLeaderLogEnd: -1}
		if i := slices.IndexFunc(old, func(o follower) bool { return o.id == id }); i >= 0 && !isNewLeader {
			f = old[i]
		}
		if isNewEpoch {
			f.reset(isNewLeader, slices.Contains(m.isr, id), m.logEnd, m.now)
		}
		m.followers = append(m.followers, f)
	}
	if isNewEpoch {
		m.leaderEpochStart = m.logEnd
	}
	m.maybeAdvanceHW()
	return true
}

// BecomeFollower applies an assignment that names another broker the
// leader. Waiting acks=all produces are released with
// NOT_LEADER_OR_FOLLOWER. On a new leader epoch the follower owes a
// truncation check (Status.Truncating): the leader's answer for its latest
// epoch (OffsetForLeaderEpoch, or a fetch's DivergingEpoch) goes to
// TruncateTo, and a fetch answered without divergence settles it
// (LeaderHighWatermark). It returns false, changing
// nothing, when a is stale.
func (m *Machine) BecomeFollower(a Assignment, now time.Time) bool {
	if a.Leader == m.cfg.ID {
		panic(fmt.Sprintf("replica: BecomeFollower on node %d with itself as leader", m.cfg.ID))
	}
	if m.stale(a) {
		return false
	}
	m.observe(now)
	isNewEpoch := a.LeaderEpoch > m.leaderEpoch || m.role != Follower || a.Leader != m.leader
	m.failWaits(NotLeaderOrFollower)
	m.setAssignment(a)
	m.role = Follower
	m.pending, m.pendingSent, m.followers = nil, false, nil
	if isNewEpoch {
		m.truncating = a.Leader >= 0
	}
	return true
}

func (m *Machine) setAssignment(a Assignment) {
	m.leader, m.leaderEpoch, m.partitionEpoch = a.Leader, a.LeaderEpoch, a.PartitionEpoch
	m.replicas, m.isr = slices.Clone(a.Replicas), slices.Clone(a.ISR)
}

// LeaderHighWatermark feeds a follower the high watermark of the leader's
// fetch answer: a follower's high watermark is the leader's, cut to its own
// log end (and never below its log start). The answer carried no
// divergence, so the follower's log is a prefix of the leader's: no
// truncation is owed any more (KIP-595).
func (m *Machine) LeaderHighWatermark(hw int64) {
	if m.role != Follower {
		return
	}
	m.hw = max(min(hw, m.logEnd), m.logStart)
	m.truncating = false
}
