package replica

// Truncation is a follower's decision after the leader's answer for its
// latest epoch (DivergingEpoch, or OffsetForLeaderEpoch): truncate the log
// to Offset (nothing to do when it is the log end). When Done is false the
// follower must ask again, for its latest epoch after this truncation
// (KIP-279): its next fetch names that epoch.
type Truncation struct {
	Offset int64
	Done   bool
}

// TruncateTo decides a follower's truncation from the leader's answer for
// the follower's latest epoch (DivergingEpoch or OffsetForLeaderEpoch). leaderEpoch is the
// leader epoch the request was sent under; an answer for an older one is
// stale and refused with FENCED_LEADER_EPOCH. local is the follower's own
// log's answer for the epoch the leader named (leader.Epoch), which the
// caller reads from its epoch cache.
//
// The rules are Kafka's (KIP-101, KIP-279), never the high watermark alone:
//   - the leader knows the epoch: truncate to the lesser of the two ends
//     of that epoch;
//   - the leader named an epoch the follower does not have: truncate to the
//     end of the follower's largest epoch below it and ask again;
//   - the follower has no epoch at or below the leader's: truncate to the
//     leader's end offset;
//   - the leader knows no epoch at all (EndOffset -1): the follower's high
//     watermark is the only point known committed; Kafka's fallback.
//
// Never past the log end. The machine's log end and high watermark move to
// the offset at once; the caller truncates the log, then fetches.
func (m *Machine) TruncateTo(leaderEpoch int32, leader, local EpochEnd) (Truncation, Code) {
	switch {
	case m.role != Follower:
		return Truncation{}, NotLeaderOrFollower
	case leaderEpoch != m.leaderEpoch:
		return Truncation{}, FencedLeaderEpoch
	}
	var t Truncation
	switch {
	case leader.EndOffset < 0:
		t = Truncation{Offset: m.hw, Done: true}
	case local.Epoch < 0 || local.EndOffset < 0:
		t = Truncation{Offset: leader.EndOffset, Done: true}
	case local.Epoch != leader.Epoch:
		t = Truncation{Offset: local.EndOffset, Done: false}
	default:
		t = Truncation{Offset: min(local.EndOffset, leader.EndOffset), Done: true}
	}
	t.Offset = max(min(t.Offset, m.logEnd), m.logStart)
	m.logEnd = t.Offset
	m.hw = min(m.hw, t.Offset)
	m.truncating = !t.Done
	return t, None
}
