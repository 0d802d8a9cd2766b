package replica

import (
	"cmp"
	"fmt"
	"slices"
)

// Release answers one acks=all produce the caller registered with Wait.
type Release struct {
	ID   uint64
	Code Code // None, NOT_ENOUGH_REPLICAS_AFTER_APPEND or NOT_LEADER_OR_FOLLOWER
}

type wait struct {
	id        uint64
	offset    int64 // released once offset < high watermark
	minInsync int
}

// Accept says whether an append may be taken: only a leader appends, and
// with acks=all (-1) only while the ISR has at least minInsync members
// (min.insync.replicas), else NOT_ENOUGH_REPLICAS, as Kafka's
// appendRecordsToLeader. The committed ISR counts, not a proposal.
func (m *Machine) Accept(acks int16, minInsync int) Code {
	switch {
	case m.role != Leader:
		return NotLeaderOrFollower
	case acks == -1 && len(m.isr) < minInsync:
		return NotEnoughReplicas
	}
	return None
}

// Wait registers an acks=all produce whose last offset is offset: it is
// released (Ready.Released) once the high watermark is past offset, with
// NOT_ENOUGH_REPLICAS_AFTER_APPEND if by then the ISR has fewer than
// minInsync members (Kafka's checkEnoughReplicasReachOffset), or with
// NOT_LEADER_OR_FOLLOWER if leadership goes first. Off a leader it is not
// registered and Wait returns NOT_LEADER_OR_FOLLOWER. A wait already below
// the high watermark is released at the next Ready.
func (m *Machine) Wait(id uint64, offset int64, minInsync int) Code {
	if m.role != Leader {
		return NotLeaderOrFollower
	}
	if offset >= m.logEnd {
		panic(fmt.Sprintf("replica: wait %d for offset %d at or past the log end %d", id, offset, m.logEnd))
	}
	w := wait{id: id, offset: offset, minInsync: minInsync}
	// Appends come in offset order: the search is for the odd caller.
	i, _ := slices.BinarySearchFunc(m.waits, offset+1, func(w wait, off int64) int {
		return cmp.Compare(w.offset, off)
	})
	m.waits = slices.Insert(m.waits, i, w)
	m.releaseWaits()
	return None
}

// Waiting is how many acks=all produces wait.
func (m *Machine) Waiting() int { return len(m.waits) }

// releaseWaits releases the waits below the high watermark.
func (m *Machine) releaseWaits() {
	if m.role != Leader {
		return
	}
	n := 0
	for n < len(m.waits) && m.waits[n].offset < m.hw {
		w := m.waits[n]
		code := None
		if len(m.isr) < w.minInsync {
			code = NotEnoughReplicasAfterAppend
		}
		m.released = append(m.released, Release{ID: w.id, Code: code})
		n++
	}
	m.waits = slices.Delete(m.waits, 0, n)
}

// failWaits releases every wait with code.
func (m *Machine) failWaits(code Code) {
	for _, w := range m.waits {
		m.released = append(m.released, Release{ID: w.id, Code: code})
	}
	m.waits = m.waits[:0]
}
