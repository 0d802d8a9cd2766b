package replica

import (
	"slices"
	"time"
)

// follower is the leader's view of one follower, as Kafka's Replica:
// lastCaughtUp is the latest time t at which the follower's fetch offset
// reached the leader's log end as of t. The zero time means never.
type follower struct {
	id                    int32
	logEnd                int64 // its last fetch offset; -1: unknown
	lastFetchLeaderLogEnd int64 // the leader's log end at its last fetch
	lastFetch             time.Time
	lastCaughtUp          time.Time
}

// reset is Kafka's resetReplicaState on a new leader epoch: a follower in
// the ISR counts as caught up now (it is given LagTimeMax to fetch), one
// outside never, so it cannot hold the high watermark back. A new leader
// forgets what it knew of the follower's log.
func (f *follower) reset(newLeader, inISR bool, leaderLogEnd int64, now time.Time) {
	var t time.Time
	if inISR {
		t = now
	}
	f.lastCaughtUp = t
	if newLeader {
		f.logEnd, f.lastFetchLeaderLogEnd, f.lastFetch = -1, -1, time.Time{}
		return
	}
	f.lastFetchLeaderLogEnd, f.lastFetch = leaderLogEnd, t
}

// fetched is Kafka's updateFetchState: the follower is caught up at this
// fetch if its offset reached the leader's log end now, or at the previous
// fetch if it reached the log end the leader had then. The second rule
// lets a follower into the ISR under a steady stream of small produces,
// where its fetch offset is always a little behind.
func (f *follower) fetched(offset, leaderLogEnd int64, now time.Time) {
	switch {
	case offset >= leaderLogEnd:
		f.lastCaughtUp = later(f.lastCaughtUp, now)
	case offset >= f.lastFetchLeaderLogEnd:
		f.lastCaughtUp = later(f.lastCaughtUp, f.lastFetch)
	}
	f.logEnd = offset
	f.lastFetchLeaderLogEnd = leaderLogEnd
	f.lastFetch = now
}

// caughtUp is Kafka's isCaughtUp: at the leader's log end, or caught up
// within the last LagTimeMax.
func (f *follower) caughtUp(leaderLogEnd int64, now time.Time, lagMax time.Duration) bool {
	return f.logEnd == leaderLogEnd || !f.lastCaughtUp.IsZero() && now.Sub(f.lastCaughtUp) <= lagMax
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// EpochEnd is an answer to OffsetForLeaderEpoch: the largest leader epoch
// at most the one asked for that the log knows, and the offset where it
// ended (the log end for the latest epoch). {-1, -1}: none.
type EpochEnd struct {
	Epoch     int32
	EndOffset int64
}

// Fetch is a follower's fetch as the leader receives it.
type Fetch struct {
	Replica int32
	// Offset is the fetch offset: the follower's log end.
	Offset int64
	// CurrentLeaderEpoch is the epoch the follower believes current; -1
	// when the request has none (Fetch v8 and older).
	CurrentLeaderEpoch int32
	// LastFetchedEpoch is the epoch of the follower's last batch (Fetch
	// v12+); -1 when absent. With it, LastFetchedEnd is the leader log's
	// answer for that epoch, which the caller reads from its epoch cache.
	LastFetchedEpoch int32
	LastFetchedEnd   EpochEnd
	Now              time.Time
}

// FetchResult is the leader's answer to a follower's fetch.
type FetchResult struct {
	Code Code
	// Diverging is set when the follower's log diverged from the
	// leader's (KIP-595): it must truncate to Diverging.EndOffset (and to
	// its own end of that epoch) and fetch again. No data is sent.
	Diverging *EpochEnd
	// HighWatermark and LogEnd are the leader's after the fetch counted:
	// the follower reads up to LogEnd.
	HighWatermark int64
	LogEnd        int64
}

// Fetch counts a follower's fetch on the leader: the follower's log end
// moves to the fetch offset, which may let the high watermark advance
// (waits to release) and the follower into the ISR (a proposal). The
// checks are Kafka's, in its order: leadership, the current leader epoch,
// the replica set, divergence, the offset range.
func (m *Machine) Fetch(f Fetch) FetchResult {
	m.observe(f.Now)
	res := FetchResult{HighWatermark: m.hw, LogEnd: m.logEnd}
	if code := m.checkLeaderEpoch(f.CurrentLeaderEpoch); code != None {
		res.Code = code
		return res
	}
	i := slices.IndexFunc(m.followers, func(r follower) bool { return r.id == f.Replica })
	if i < 0 {
		res.Code = NotLeaderOrFollower
		return res
	}
	if f.LastFetchedEpoch >= 0 {
		end := f.LastFetchedEnd
		if end.Epoch < f.LastFetchedEpoch || end.EndOffset < f.Offset {
			res.Diverging = &end
			return res
		}
	}
	if f.Offset < m.logStart || f.Offset > m.logEnd {
		res.Code = OffsetOutOfRange
		return res
	}
	fo := &m.followers[i]
	fo.fetched(f.Offset, m.logEnd, m.now)
	m.maybeExpandISR(fo)
	m.maybeAdvanceHW()
	res.HighWatermark = m.hw
	return res
}

// checkLeaderEpoch is the leader's check of a request's current leader
// epoch (-1: the request carries none).
func (m *Machine) checkLeaderEpoch(current int32) Code {
	switch {
	case m.role != Leader:
		return NotLeaderOrFollower
	case current >= 0 && current < m.leaderEpoch:
		return FencedLeaderEpoch
	case current > m.leaderEpoch:
		return UnknownLeaderEpoch
	}
	return None
}
