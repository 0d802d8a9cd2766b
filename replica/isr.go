package replica

import (
	"slices"
)

// Proposal is an ISR change the leader asks the controller for
// (AlterPartition). It is in flight until an assignment with a newer
// partition epoch arrives (BecomeLeader) or the controller refuses it
// (ProposalFailed); meanwhile no other change is proposed.
type Proposal struct {
	LeaderEpoch    int32
	PartitionEpoch int32 // the epoch the change is based on
	ISR            []int32
}

// ProposalFailed says the controller refused the proposal in flight (or it
// was lost): the leader may propose again at the next fetch or tick.
func (m *Machine) ProposalFailed() {
	m.pending, m.pendingSent = nil, false
}

func (m *Machine) propose(isr []int32) {
	m.pending = &Proposal{LeaderEpoch: m.leaderEpoch, PartitionEpoch: m.partitionEpoch, ISR: isr}
	m.pendingSent = false
}

// maximalISR says whether id counts for the high watermark as an ISR
// member: committed, or added by the proposal in flight. A member being
// removed still counts until the removal is committed (Kafka's maximal
// ISR), so the high watermark never moves on an ISR the controller has not
// accepted.
func (m *Machine) maximalISR(id int32) bool {
	return slices.Contains(m.isr, id) || m.pending != nil && slices.Contains(m.pending.ISR, id)
}

// maybeAdvanceHW is Kafka's maybeIncrementLeaderHW: the high watermark is
// the least log end among the leader and the followers in the maximal ISR,
// and among followers outside it that are caught up (so one about to join
// gets to the high watermark first). It never goes back on a leader.
func (m *Machine) maybeAdvanceHW() {
	if m.role != Leader {
		return
	}
	hw := m.logEnd
	for i := range m.followers {
		f := &m.followers[i]
		if f.logEnd >= hw {
			continue
		}
		if m.maximalISR(f.id) || f.caughtUp(m.logEnd, m.now, m.cfg.LagTimeMax) {
			hw = f.logEnd
		}
	}
	if hw > m.hw {
		m.hw = hw
		m.releaseWaits()
	}
}

// maybeExpandISR proposes adding a follower outside the ISR once its log
// end reached the high watermark and the start of the leader's epoch
// (Kafka's isFollowerInSync), unless a change is in flight.
func (m *Machine) maybeExpandISR(f *follower) {
	if m.pending != nil || slices.Contains(m.isr, f.id) {
		return
	}
	if f.logEnd < m.hw || f.logEnd < m.leaderEpochStart {
		return
	}
	isr := append(slices.Clone(m.isr), f.id)
	m.propose(isr)
}

// maybeShrinkISR proposes removing the followers of the ISR that are not
// caught up (Kafka's getOutOfSyncReplicas), unless a change is in flight.
// The leader stays.
func (m *Machine) maybeShrinkISR() {
	if m.pending != nil {
		return
	}
	var isr []int32
	shrink := false
	for _, id := range m.isr {
		if id != m.cfg.ID {
			i := slices.IndexFunc(m.followers, func(f follower) bool { return f.id == id })
			if i < 0 || !m.followers[i].caughtUp(m.logEnd, m.now, m.cfg.LagTimeMax) {
				shrink = true
				continue
			}
		}
		isr = append(isr, id)
	}
	if shrink {
		m.propose(isr)
	}
}
