package replica

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

const lagMax = 10 * time.Second

var t0 = time.Unix(1_700_000_000, 0)

// at is t0 plus ms milliseconds: the tests' clock is a value.
func at(ms int64) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// op is one input and what the Ready after it must hold. Every op drains
// the machine (Ready, checks, Advance), as the engine does.
type op struct {
	desc     string
	in       func(t *testing.T, m *Machine)
	hw       int64     // Ready.HighWatermark
	proposal []int32   // Ready.Proposal's ISR; nil: no proposal
	released []Release // Ready.Released; nil: none
	isr      []int32   // committed ISR; nil: not checked
}

func run(t *testing.T, m *Machine, ops []op) {
	t.Helper()
	for i, o := range ops {
		o.in(t, m)
		rd := m.Ready()
		where := fmt.Sprintf("op %d (%s)", i, o.desc)
		if rd.HighWatermark != o.hw {
			t.Fatalf("%s: high watermark %d, want %d", where, rd.HighWatermark, o.hw)
		}
		var got []int32
		if rd.Proposal != nil {
			got = rd.Proposal.ISR
		}
		if !slices.Equal(got, o.proposal) || (got == nil) != (o.proposal == nil) {
			t.Fatalf("%s: proposal %v, want %v", where, got, o.proposal)
		}
		if !slices.Equal(rd.Released, o.released) {
			t.Fatalf("%s: released %v, want %v", where, rd.Released, o.released)
		}
		if o.isr != nil && !slices.Equal(m.Status().ISR, o.isr) {
			t.Fatalf("%s: ISR %v, want %v", where, m.Status().ISR, o.isr)
		}
		m.Advance(rd)
		if m.HasReady() {
			t.Fatalf("%s: still ready after Advance: %+v", where, m.Ready())
		}
	}
}

// Inputs as ops.

func lead(epoch, partEpoch int32, replicas, isr []int32, ms int64) func(*testing.T, *Machine) {
	return func(t *testing.T, m *Machine) {
		a := Assignment{Leader: 1, LeaderEpoch: epoch, PartitionEpoch: partEpoch, Replicas: replicas, ISR: isr}
		if !m.BecomeLeader(a, at(ms)) {
			t.Fatalf("BecomeLeader(%+v) refused as stale", a)
		}
	}
}

func follow(leader, epoch int32, replicas []int32, ms int64) func(*testing.T, *Machine) {
	return func(t *testing.T, m *Machine) {
		a := Assignment{Leader: leader, LeaderEpoch: epoch, PartitionEpoch: epoch, Replicas: replicas, ISR: replicas}
		if !m.BecomeFollower(a, at(ms)) {
			t.Fatalf("BecomeFollower(%+v) refused as stale", a)
		}
	}
}

func logEnd(end int64) func(*testing.T, *Machine) {
	return func(t *testing.T, m *Machine) { m.LogEnd(end) }
}

func tick(ms int64) func(*testing.T, *Machine) {
	return func(t *testing.T, m *Machine) { m.Tick(at(ms)) }
}

// fetch is a follower's fetch without epochs; it must succeed.
func fetch(replica int32, offset, ms int64) func(*testing.T, *Machine) {
	return func(t *testing.T, m *Machine) {
		r := m.Fetch(Fetch{Replica: replica, Offset: offset, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1, Now: at(ms)})
		if r.Code != None || r.Diverging != nil {
			t.Fatalf("fetch by %d at %d: %+v", replica, offset, r)
		}
	}
}

func waitFor(id uint64, offset int64, minInsync int, want Code) func(*testing.T, *Machine) {
	return func(t *testing.T, m *Machine) {
		if got := m.Wait(id, offset, minInsync); got != want {
			t.Fatalf("Wait(%d, %d, %d) = %v, want %v", id, offset, minInsync, got, want)
		}
	}
}

func ok(ids ...uint64) []Release {
	var rs []Release
	for _, id := range ids {
		rs = append(rs, Release{ID: id})
	}
	return rs
}

func cfg() Config { return Config{ID: 1, LagTimeMax: lagMax} }

var one = []int32{1}

// TestOneReplica is today's broker: the leader is the whole ISR, so the
// high watermark is the log end at once and acks=all waits are released at
// once.
func TestOneReplica(t *testing.T) {
	tests := []struct {
		name string
		log  Log
		ops  []op
	}{
		{"high watermark follows the log end", Log{}, []op{
			{desc: "lead", in: lead(0, 0, one, one, 0), hw: 0, isr: one},
			{desc: "append", in: logEnd(10), hw: 10},
			{desc: "append", in: logEnd(25), hw: 25},
			{desc: "tick changes nothing", in: tick(60_000), hw: 25, isr: one},
		}},
		{"a checkpointed high watermark that lags moves to the log end", Log{Start: 5, End: 100, HighWatermark: 40}, []op{
			{desc: "lead", in: lead(3, 7, one, one, 0), hw: 100},
		}},
		{"acks=all released at once", Log{}, []op{
			{desc: "lead", in: lead(0, 0, one, one, 0), hw: 0},
			{desc: "append", in: logEnd(10), hw: 10},
			{desc: "wait for 9", in: waitFor(7, 9, 1, None), hw: 10, released: ok(7)},
			{desc: "append and wait", in: func(t *testing.T, m *Machine) {
				m.LogEnd(11)
				waitFor(8, 10, 1, None)(t, m)
				m.LogEnd(20)
				waitFor(9, 19, 1, None)(t, m)
			}, hw: 20, released: ok(8, 9)},
		}},
		{"not a leader yet", Log{End: 10, HighWatermark: 4}, []op{
			{desc: "wait refused", in: waitFor(1, 5, 1, NotLeaderOrFollower), hw: 4},
			{desc: "append moves nothing", in: logEnd(12), hw: 4},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run(t, New(cfg(), tc.log), tc.ops)
		})
	}
}

func TestAccept(t *testing.T) {
	tests := []struct {
		name      string
		isr       []int32 // nil: not a leader
		acks      int16
		minInsync int
		want      Code
	}{
		{"RF=1 acks=all min.insync=1", one, -1, 1, None},
		{"RF=1 acks=all min.insync=2 refuses", one, -1, 2, NotEnoughReplicas},
		{"RF=1 acks=1 min.insync=2", one, 1, 2, None},
		{"RF=1 acks=0 min.insync=2", one, 0, 2, None},
		{"RF=3 ISR of 2, min.insync=2", []int32{1, 2}, -1, 2, None},
		{"RF=3 ISR of 1, min.insync=2", one, -1, 2, NotEnoughReplicas},
		{"not a leader", nil, 1, 1, NotLeaderOrFollower},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New(cfg(), Log{})
			if tc.isr != nil {
				m.BecomeLeader(Assignment{Leader: 1, Replicas: []int32{1, 2, 3}, ISR: tc.isr}, t0)
			}
			if got := m.Accept(tc.acks, tc.minInsync); got != tc.want {
				t.Fatalf("Accept(%d, %d) = %v, want %v", tc.acks, tc.minInsync, got, tc.want)
			}
		})
	}
}

var three = []int32{1, 2, 3}

// TestThreeReplicas drives a leader (node 1) with followers 2 and 3.
func TestThreeReplicas(t *testing.T) {
	// Three in sync at log end 10, high watermark 10.
	synced := []op{
		{desc: "lead", in: lead(1, 0, three, three, 0), hw: 0, isr: three},
		{desc: "append", in: logEnd(10), hw: 0},
		{desc: "2 fetches 10", in: fetch(2, 10, 100), hw: 0},
		{desc: "3 fetches 10", in: fetch(3, 10, 100), hw: 10},
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{"followers advance the high watermark", []op{
			{desc: "lead", in: lead(1, 0, three, three, 0), hw: 0},
			{desc: "append", in: logEnd(10), hw: 0},
			{desc: "wait for 4 and 9", in: func(t *testing.T, m *Machine) {
				waitFor(1, 4, 2, None)(t, m)
				waitFor(2, 9, 2, None)(t, m)
			}, hw: 0},
			{desc: "2 fetches 10, 3 unknown", in: fetch(2, 10, 100), hw: 0},
			{desc: "3 fetches 5", in: fetch(3, 5, 100), hw: 5, released: ok(1)},
			{desc: "3 fetches 10", in: fetch(3, 10, 200), hw: 10, released: ok(2)},
			{desc: "append", in: logEnd(30), hw: 10},
			{desc: "3 fetches 30", in: fetch(3, 30, 300), hw: 10},
			{desc: "2 fetches 20", in: fetch(2, 20, 300), hw: 20},
		}},
		{"a lagging follower leaves the ISR after the lag time", append(synced[:len(synced):len(synced)], []op{
			{desc: "append", in: logEnd(20), hw: 10},
			{desc: "2 keeps up", in: fetch(2, 20, 1_000), hw: 10},
			{desc: "wait for 15", in: waitFor(5, 15, 2, None), hw: 10},
			{desc: "within the lag time", in: tick(10_100), hw: 10},
			{desc: "2 keeps up", in: fetch(2, 20, 10_000), hw: 10},
			{desc: "past the lag time: shrink", in: tick(10_101), hw: 10, proposal: []int32{1, 2}, isr: three},
			{desc: "no second proposal while one is in flight", in: tick(20_000), hw: 10, isr: three},
			{desc: "committed", in: lead(1, 1, three, []int32{1, 2}, 20_001), hw: 20, released: ok(5), isr: []int32{1, 2}},
		}...)},
		{"a follower behind by one produce at every fetch stays in the ISR", append(synced[:len(synced):len(synced)], []op{
			{desc: "append", in: logEnd(12), hw: 10},
			{desc: "3 keeps up", in: fetch(3, 12, 1_000), hw: 10},
			{desc: "2 fetches 10 of 12", in: fetch(2, 10, 1_000), hw: 10},
			{desc: "append", in: logEnd(14), hw: 10},
			{desc: "2 fetches 12 of 14: caught up at 1s", in: fetch(2, 12, 2_000), hw: 12},
			{desc: "3 keeps up", in: fetch(3, 14, 2_000), hw: 12},
			{desc: "lag time from 1s", in: tick(11_000), hw: 12},
			{desc: "past it", in: tick(11_001), hw: 12, proposal: []int32{1, 3}},
		}...)},
		{"a follower rejoins the ISR once at the high watermark", append(synced[:len(synced):len(synced)], []op{
			{desc: "3 out (last caught up at 0.1s)", in: lead(1, 1, three, []int32{1, 2}, 10_200), hw: 10, isr: []int32{1, 2}},
			{desc: "append", in: logEnd(30), hw: 10},
			{desc: "2 fetches 30", in: fetch(2, 30, 10_300), hw: 30},
			{desc: "3 fetches 20: below the high watermark", in: fetch(3, 20, 10_400), hw: 30},
			{desc: "3 fetches 30", in: fetch(3, 30, 10_500), hw: 30, proposal: three},
			{desc: "committed", in: lead(1, 2, three, three, 10_600), hw: 30, isr: three},
			{desc: "append", in: logEnd(40), hw: 30},
			{desc: "2 fetches 40", in: fetch(2, 40, 10_700), hw: 30},
			{desc: "3 holds it", in: fetch(3, 35, 10_700), hw: 35},
		}...)},
		{"a caught-up follower outside the ISR holds the high watermark", append(synced[:len(synced):len(synced)], []op{
			{desc: "3 out", in: lead(1, 1, three, []int32{1, 2}, 1_000), hw: 10},
			{desc: "3 fetches 10, at the log end: proposed", in: fetch(3, 10, 1_100), hw: 10, proposal: three},
			{desc: "refused", in: func(t *testing.T, m *Machine) { m.ProposalFailed() }, hw: 10},
			{desc: "append", in: logEnd(20), hw: 10},
			{desc: "2 fetches 20; 3 caught up 1s ago", in: fetch(2, 20, 2_000), hw: 10},
			{desc: "3 fetches 20: proposed again", in: fetch(3, 20, 2_100), hw: 20, proposal: three},
		}...)},
		{"the ISR down to min.insync.replicas answers NOT_ENOUGH_REPLICAS_AFTER_APPEND", append(synced[:len(synced):len(synced)], []op{
			{desc: "append", in: logEnd(20), hw: 10},
			{desc: "wait for 19, min.insync 2", in: waitFor(3, 19, 2, None), hw: 10},
			{desc: "2 and 3 out, last caught up at 0.1s", in: lead(1, 1, three, one, 10_200), hw: 20,
				released: []Release{{ID: 3, Code: NotEnoughReplicasAfterAppend}}, isr: one},
		}...)},
		{"leadership lost: waits fail", append(synced[:len(synced):len(synced)], []op{
			{desc: "append", in: logEnd(20), hw: 10},
			{desc: "waits", in: func(t *testing.T, m *Machine) {
				waitFor(1, 12, 1, None)(t, m)
				waitFor(2, 19, 1, None)(t, m)
			}, hw: 10},
			{desc: "2 leads", in: follow(2, 2, three, 1_000), hw: 10,
				released: []Release{{1, NotLeaderOrFollower}, {2, NotLeaderOrFollower}}},
			{desc: "a wait now", in: waitFor(3, 19, 1, NotLeaderOrFollower), hw: 10},
		}...)},
		{"a new leader epoch resets the followers", append(synced[:len(synced):len(synced)], []op{
			{desc: "3 stops; re-elected at 5s", in: lead(2, 1, three, three, 5_000), hw: 10},
			{desc: "append", in: logEnd(20), hw: 10},
			{desc: "2 fetches 20", in: fetch(2, 20, 6_000), hw: 10},
			{desc: "3 counts as caught up from 5s", in: tick(15_000), hw: 10},
			{desc: "then not", in: tick(15_001), hw: 10, proposal: []int32{1, 2}},
		}...)},
		{"a new leader counts no follower outside the ISR", []op{
			{desc: "lead, 3 out of sync", in: lead(1, 0, three, []int32{1, 2}, 0), hw: 0},
			{desc: "append", in: logEnd(10), hw: 0},
			{desc: "2 fetches 10", in: fetch(2, 10, 100), hw: 10},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run(t, New(cfg(), Log{}), tc.ops)
		})
	}
}

// TestExpandNeedsEpochStart: a follower joins the ISR only once it has the
// leader's current epoch (its log end reached where the epoch began).
func TestExpandNeedsEpochStart(t *testing.T) {
	m := New(cfg(), Log{End: 50, HighWatermark: 10})
	run(t, m, []op{
		{desc: "lead at 50, 3 out", in: lead(4, 0, three, []int32{1, 2}, 0), hw: 10},
		{desc: "3 fetches 10: at the high watermark, not the epoch start", in: fetch(3, 10, 100), hw: 10},
		{desc: "2 fetches 50", in: fetch(2, 50, 200), hw: 50},
		{desc: "3 fetches 50", in: fetch(3, 50, 300), hw: 50, proposal: three},
	})
}

func TestFetchChecks(t *testing.T) {
	leader := func() *Machine {
		m := New(cfg(), Log{Start: 5, End: 40, HighWatermark: 40})
		m.BecomeLeader(Assignment{Leader: 1, LeaderEpoch: 3, Replicas: three, ISR: three}, t0)
		return m
	}
	tests := []struct {
		name      string
		m         func() *Machine
		f         Fetch
		code      Code
		diverging *EpochEnd
	}{
		{"fine", leader, Fetch{Replica: 2, Offset: 40, CurrentLeaderEpoch: 3, LastFetchedEpoch: 3, LastFetchedEnd: EpochEnd{3, 40}}, None, nil},
		{"no epochs", leader, Fetch{Replica: 2, Offset: 40, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1}, None, nil},
		{"fenced", leader, Fetch{Replica: 2, Offset: 40, CurrentLeaderEpoch: 2, LastFetchedEpoch: -1}, FencedLeaderEpoch, nil},
		{"unknown epoch", leader, Fetch{Replica: 2, Offset: 40, CurrentLeaderEpoch: 4, LastFetchedEpoch: -1}, UnknownLeaderEpoch, nil},
		{"not a replica", leader, Fetch{Replica: 9, Offset: 40, CurrentLeaderEpoch: 3, LastFetchedEpoch: -1}, NotLeaderOrFollower, nil},
		{"itself", leader, Fetch{Replica: 1, Offset: 40, CurrentLeaderEpoch: 3, LastFetchedEpoch: -1}, NotLeaderOrFollower, nil},
		{"past the log end", leader, Fetch{Replica: 2, Offset: 41, CurrentLeaderEpoch: 3, LastFetchedEpoch: -1}, OffsetOutOfRange, nil},
		{"below the log start", leader, Fetch{Replica: 2, Offset: 4, CurrentLeaderEpoch: 3, LastFetchedEpoch: -1}, OffsetOutOfRange, nil},
		{"diverged: an epoch the leader lacks", leader,
			Fetch{Replica: 2, Offset: 38, CurrentLeaderEpoch: 3, LastFetchedEpoch: 2, LastFetchedEnd: EpochEnd{1, 30}}, None, &EpochEnd{1, 30}},
		{"diverged: past the epoch's end", leader,
			Fetch{Replica: 2, Offset: 38, CurrentLeaderEpoch: 3, LastFetchedEpoch: 2, LastFetchedEnd: EpochEnd{2, 35}}, None, &EpochEnd{2, 35}},
		{"not the leader", func() *Machine { return New(cfg(), Log{}) }, Fetch{Replica: 2, LastFetchedEpoch: -1}, NotLeaderOrFollower, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m()
			r := m.Fetch(tc.f)
			if r.Code != tc.code || (r.Diverging == nil) != (tc.diverging == nil) ||
				r.Diverging != nil && *r.Diverging != *tc.diverging {
				t.Fatalf("Fetch(%+v) = %+v (diverging %v), want %v, diverging %v", tc.f, r, r.Diverging, tc.code, tc.diverging)
			}
			if tc.code != None || tc.diverging != nil {
				if i := slices.IndexFunc(m.followers, func(f follower) bool { return f.id == tc.f.Replica }); i >= 0 && m.followers[i].logEnd != -1 {
					t.Fatalf("a refused fetch moved the follower's log end to %d", m.followers[i].logEnd)
				}
			}
		})
	}
}

func TestStaleAssignments(t *testing.T) {
	m := New(cfg(), Log{})
	if !m.BecomeLeader(Assignment{Leader: 1, LeaderEpoch: 5, PartitionEpoch: 9, Replicas: three, ISR: three}, t0) {
		t.Fatal("first assignment refused")
	}
	for _, a := range []Assignment{
		{Leader: 1, LeaderEpoch: 4, PartitionEpoch: 20, Replicas: three, ISR: three},
		{Leader: 1, LeaderEpoch: 5, PartitionEpoch: 8, Replicas: three, ISR: one},
		{Leader: 2, LeaderEpoch: 4, PartitionEpoch: 20, Replicas: three, ISR: three},
	} {
		var applied bool
		if a.Leader == 1 {
			applied = m.BecomeLeader(a, t0)
		} else {
			applied = m.BecomeFollower(a, t0)
		}
		if applied {
			t.Fatalf("stale %+v applied", a)
		}
	}
	if s := m.Status(); s.Role != Leader || s.LeaderEpoch != 5 || s.PartitionEpoch != 9 || !slices.Equal(s.ISR, three) {
		t.Fatalf("status after stale assignments: %+v", s)
	}
}

// TestTruncation: becoming a follower, then OffsetForLeaderEpoch answers.
// The follower's log ends at 100 with high watermark 80; its epochs are
// 1 [0, 40), 3 [40, 100).
func TestTruncation(t *testing.T) {
	tests := []struct {
		name         string
		askedUnder   int32 // the leader epoch the request went out under
		leader       EpochEnd
		local        EpochEnd // the follower's answer for leader.Epoch
		want         Truncation
		code         Code
		hw, logEnd   int64
		stillTruncat bool
	}{
		{"same epoch, the leader's end lower", 5, EpochEnd{3, 90}, EpochEnd{3, 100}, Truncation{90, true}, None, 80, 90, false},
		{"same epoch, the leader's end past ours", 5, EpochEnd{3, 150}, EpochEnd{3, 100}, Truncation{100, true}, None, 80, 100, false},
		{"below the high watermark: it follows", 5, EpochEnd{3, 60}, EpochEnd{3, 100}, Truncation{60, true}, None, 60, 60, false},
		{"an epoch we lack: ours below it, ask again", 5, EpochEnd{2, 70}, EpochEnd{1, 40}, Truncation{40, false}, None, 40, 40, true},
		{"no epoch of ours at or below the leader's", 5, EpochEnd{0, 30}, EpochEnd{-1, -1}, Truncation{30, true}, None, 30, 30, false},
		{"the leader knows no epoch: the high watermark", 5, EpochEnd{-1, -1}, EpochEnd{-1, -1}, Truncation{80, true}, None, 80, 80, false},
		{"an answer from an older epoch", 4, EpochEnd{3, 90}, EpochEnd{3, 100}, Truncation{}, FencedLeaderEpoch, 80, 100, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New(cfg(), Log{End: 100, HighWatermark: 80})
			m.BecomeLeader(Assignment{Leader: 1, LeaderEpoch: 3, Replicas: three, ISR: three}, t0)
			m.BecomeFollower(Assignment{Leader: 2, LeaderEpoch: 5, PartitionEpoch: 1, Replicas: three, ISR: three}, t0)
			if !m.Status().Truncating {
				t.Fatal("a new follower does not ask to truncate")
			}
			got, code := m.TruncateTo(tc.askedUnder, tc.leader, tc.local)
			if got != tc.want || code != tc.code {
				t.Fatalf("TruncateTo = %+v, %v; want %+v, %v", got, code, tc.want, tc.code)
			}
			s := m.Status()
			if s.HighWatermark != tc.hw || s.LogEnd != tc.logEnd || s.Truncating != tc.stillTruncat {
				t.Fatalf("after: hw %d, log end %d, truncating %v; want %d, %d, %v",
					s.HighWatermark, s.LogEnd, s.Truncating, tc.hw, tc.logEnd, tc.stillTruncat)
			}
		})
	}
}

// TestFollower: a follower's high watermark is the leader's, cut to its log
// end; it never accepts appends or waits; a leader refuses TruncateTo.
func TestFollower(t *testing.T) {
	m := New(cfg(), Log{End: 50, HighWatermark: 20})
	run(t, m, []op{
		{desc: "follow 2", in: follow(2, 1, three, 0), hw: 20},
		{desc: "leader's high watermark 40", in: func(t *testing.T, m *Machine) { m.LeaderHighWatermark(40) }, hw: 40},
		{desc: "leader's high watermark 70, past our end", in: func(t *testing.T, m *Machine) { m.LeaderHighWatermark(70) }, hw: 50},
		{desc: "appended to 80", in: logEnd(80), hw: 50},
		{desc: "leader's high watermark 70", in: func(t *testing.T, m *Machine) { m.LeaderHighWatermark(70) }, hw: 70},
	})
	if c := m.Accept(1, 1); c != NotLeaderOrFollower {
		t.Fatalf("follower Accept = %v", c)
	}
	l := New(cfg(), Log{})
	l.BecomeLeader(Assignment{Leader: 1, Replicas: one, ISR: one}, t0)
	if _, c := l.TruncateTo(0, EpochEnd{0, 0}, EpochEnd{0, 0}); c != NotLeaderOrFollower {
		t.Fatalf("leader TruncateTo = %v", c)
	}
}

// TestReadyIsStable: Ready changes nothing until Advance; what is decided
// between Ready and Advance stays for the next Ready.
func TestReadyIsStable(t *testing.T) {
	m := New(cfg(), Log{})
	m.BecomeLeader(Assignment{Leader: 1, Replicas: one, ISR: one}, t0)
	m.LogEnd(5)
	m.Wait(1, 4, 1)
	rd := m.Ready()
	if again := m.Ready(); again.HighWatermark != rd.HighWatermark || len(again.Released) != 1 {
		t.Fatalf("second Ready differs: %+v vs %+v", again, rd)
	}
	m.LogEnd(6)
	m.Wait(2, 5, 1)
	m.Advance(rd)
	if !m.HasReady() {
		t.Fatal("decisions after Ready lost by Advance")
	}
	rd = m.Ready()
	if rd.HighWatermark != 6 || !slices.Equal(rd.Released, ok(2)) {
		t.Fatalf("next Ready: %+v", rd)
	}
}
