package replica

// Ready is what the machine decided since the last Advance, for the caller
// to carry out: publish the high watermark (and wake consumers waiting on
// it), send the ISR proposal to the controller, answer the released
// produces. Then it calls Advance with the same Ready.
type Ready struct {
	// HighWatermark is the current high watermark; HighWatermarkChanged
	// says it moved since the last Advance.
	HighWatermark        int64
	HighWatermarkChanged bool
	// Proposal is an ISR change to send (AlterPartition); nil: none.
	Proposal *Proposal
	// Released are the acks=all produces to answer. The slice is the
	// machine's: it is valid until Advance.
	Released []Release
}

// HasReady says whether Ready has anything to carry out.
func (m *Machine) HasReady() bool {
	return m.hw != m.publishedHW || m.pending != nil && !m.pendingSent || len(m.released) > 0
}

// Ready returns what is to be carried out. It changes nothing: calling it
// twice without Advance returns the same.
func (m *Machine) Ready() Ready {
	rd := Ready{HighWatermark: m.hw, HighWatermarkChanged: m.hw != m.publishedHW,
		Released: m.released}
	if m.pending != nil && !m.pendingSent {
		rd.Proposal = m.pending
	}
	return rd
}

// Advance says rd was carried out: its high watermark is published, its
// proposal sent, its releases answered. What was decided after Ready
// returned stays for the next one.
func (m *Machine) Advance(rd Ready) {
	m.publishedHW = rd.HighWatermark
	if rd.Proposal != nil && rd.Proposal == m.pending {
		m.pendingSent = true
	}
	n := copy(m.released, m.released[len(rd.Released):])
	clear(m.released[n:])
	m.released = m.released[:n]
}
