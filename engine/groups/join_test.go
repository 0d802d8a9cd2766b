package groups

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A member silent for its session timeout is removed and the group
// rebalances; the other member rejoins into a group of one.
func TestSessionTimeoutRemovesMember(t *testing.T) {
	h := newHarness(t, testConfig())
	a, b, gen := h.stableTwo("g")
	if want := h.clock().Add(time.Second); !h.wake.Equal(want) {
		t.Fatalf("Wake asked for %v, want the session end %v", h.wake, want)
	}
	h.advance(600 * time.Millisecond)
	if code := h.heartbeat("g", a, gen, nil); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	h.advance(399 * time.Millisecond)
	if st := h.state("g"); st != "Stable" {
		t.Fatalf("state %s before the session ends", st)
	}
	h.advance(time.Millisecond) // b's session ends; a's was restarted
	if st := h.state("g"); st != "PreparingRebalance" {
		t.Fatalf("state %s after b's session ended", st)
	}
	if code := h.heartbeat("g", b, gen, nil); code != kerr.UnknownMemberID.Code {
		t.Fatalf("b's heartbeat: %v", kerr.ErrorForCode(code))
	}
	if code := h.heartbeat("g", a, gen, nil); code != kerr.RebalanceInProgress.Code {
		t.Fatalf("a's heartbeat: %v", kerr.ErrorForCode(code))
	}
	j := h.join(joinReq(3, "g", a, nil, "a")).join(t)
	if j.ErrorCode != 0 || j.Generation != gen+1 || len(j.Members) != 1 || j.LeaderID != a {
		t.Fatalf("rejoin: %+v", j)
	}
}

// A member that does not rejoin within the rebalance timeout is dropped,
// even though it heartbeats; the rebalance completes without it.
func TestRebalanceTimeoutDropsMember(t *testing.T) {
	h := newHarness(t, testConfig())
	a, b, gen := h.stableTwo("g")
	ja := h.join(joinReq(3, "g", a, nil, "a2")) // new metadata: a rebalance
	for i := 0; i < 3; i++ {
		h.advance(900 * time.Millisecond)
		if code := h.heartbeat("g", b, gen, nil); code != kerr.RebalanceInProgress.Code {
			t.Fatalf("b's heartbeat: %v", kerr.ErrorForCode(code))
		}
	}
	if ja.now() != nil {
		t.Fatal("join answered before the rebalance timeout")
	}
	h.advance(300 * time.Millisecond) // 3s since the rebalance started
	j := ja.join(t)
	if j.ErrorCode != 0 || j.Generation != gen+1 || len(j.Members) != 1 {
		t.Fatalf("join after the rebalance timeout: %+v", j)
	}
	if code := h.heartbeat("g", b, gen, nil); code != kerr.UnknownMemberID.Code {
		t.Fatalf("dropped member's heartbeat: %v", kerr.ErrorForCode(code))
	}
	// The leader does not sync within the rebalance timeout: dropped too,
	// and the group ends Empty.
	h.advance(3 * time.Second)
	if st := h.state("g"); st != "Empty" {
		t.Fatalf("state %s after the sync timeout", st)
	}
}

// A rebalance out of Empty waits group.initial.rebalance.delay.ms, each
// new member extending the wait, then answers every member at once.
func TestInitialRebalanceDelay(t *testing.T) {
	cfg := testConfig()
	cfg.InitialDelay = 3 * time.Second
	h := newHarness(t, cfg)
	slow := func(req *kmsg.JoinGroupRequest) *kmsg.JoinGroupRequest {
		req.RebalanceTimeoutMillis = 10000
		return req
	}
	ja := h.join(slow(joinReq(3, "g", "", nil, "a")))
	h.advance(2 * time.Second)
	if ja.now() != nil {
		t.Fatal("answered within the initial delay")
	}
	jb := h.join(slow(joinReq(3, "g", "", nil, "b")))
	h.advance(2900 * time.Millisecond) // 4.9s: the delay restarted at 2s
	if ja.now() != nil || jb.now() != nil {
		t.Fatal("answered within the extended delay")
	}
	h.advance(100 * time.Millisecond)
	a, b := ja.join(t), jb.join(t)
	if a.ErrorCode != 0 || b.ErrorCode != 0 || a.Generation != 1 || b.Generation != 1 {
		t.Fatalf("joins: %+v / %+v", a, b)
	}
	leader := a
	if b.MemberID == b.LeaderID {
		leader = b
	}
	if len(leader.Members) != 2 {
		t.Fatalf("leader sees %d members", len(leader.Members))
	}
}

// The initial delay never runs past the rebalance timeout.
func TestInitialDelayBoundedByRebalanceTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.InitialDelay = 5 * time.Second
	h := newHarness(t, cfg)
	ja := h.join(joinReq(3, "g", "", nil, "a")) // rebalance timeout 3s
	h.advance(2999 * time.Millisecond)
	if ja.now() != nil {
		t.Fatal("answered before the rebalance timeout")
	}
	h.advance(time.Millisecond)
	if j := ja.join(t); j.ErrorCode != 0 || j.Generation != 1 {
		t.Fatalf("join: %+v", j)
	}
}

// KIP-345: a static member rejoining a Stable group without its member id
// and with the same metadata gets a new id and its old assignment, with
// no rebalance; the old id is fenced.
func TestStaticMemberRejoinsWithoutRebalance(t *testing.T) {
	h := newHarness(t, testConfig())
	inst := kmsg.StringPtr("instance-1")
	j := h.join(joinReq(5, "g", "", inst, "a")).join(t)
	if j.ErrorCode != 0 || j.Generation != 1 {
		t.Fatalf("static join: %+v", j)
	}
	old := j.MemberID
	s := syncReq("g", old, 1, old)
	s.InstanceID = inst
	if r := h.sync(s).sync(t); r.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(r.ErrorCode))
	}
	records := len(h.log.records())

	j2 := h.join(joinReq(9, "g", "", inst, "a")).join(t)
	if j2.ErrorCode != 0 || j2.MemberID == old || j2.Generation != 1 || !j2.SkipAssignment {
		t.Fatalf("static rejoin: %+v", j2)
	}
	if st := h.state("g"); st != "Stable" {
		t.Fatalf("state %s after a static rejoin", st)
	}
	if n := len(h.log.records()); n != records+1 {
		t.Fatalf("%d records appended, want the group's metadata", n-records)
	}
	if code := h.heartbeat("g", old, 1, inst); code != kerr.FencedInstanceID.Code {
		t.Fatalf("old id's heartbeat: %v", kerr.ErrorForCode(code))
	}
	s = syncReq("g", old, 1)
	s.InstanceID = inst
	if r := h.sync(s).sync(t); r.ErrorCode != kerr.FencedInstanceID.Code {
		t.Fatalf("old id's sync: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	s = syncReq("g", j2.MemberID, 1)
	s.InstanceID = inst
	if r := h.sync(s).sync(t); r.ErrorCode != 0 || string(r.MemberAssignment) != "for-"+old {
		t.Fatalf("new id's sync: %v %q", kerr.ErrorForCode(r.ErrorCode), r.MemberAssignment)
	}
	if code := h.heartbeat("g", j2.MemberID, 1, inst); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
}

// A static member waiting in JoinGroup is fenced by its next instance.
func TestStaticMemberFencedWhileWaiting(t *testing.T) {
	h := newHarness(t, testConfig())
	inst := kmsg.StringPtr("i")
	a, gen := h.stableOne("g")
	first := h.join(joinReq(5, "g", "", inst, "s")) // waits for a to rejoin
	if first.now() != nil {
		t.Fatal("answered before the rebalance completed")
	}
	second := h.join(joinReq(5, "g", "", inst, "s"))
	if r := first.join(t); r.ErrorCode != kerr.FencedInstanceID.Code {
		t.Fatalf("first instance: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	h.join(joinReq(3, "g", a, nil, "a")).join(t)
	if r := second.join(t); r.ErrorCode != 0 || r.Generation != gen+1 {
		t.Fatalf("second instance: %+v", r)
	}
}

// UNKNOWN_MEMBER_ID and ILLEGAL_GENERATION for heartbeats, syncs and
// commits with a wrong member or generation.
func TestUnknownMemberAndIllegalGeneration(t *testing.T) {
	h := newHarness(t, testConfig())
	a, gen := h.stableOne("g")
	for _, c := range []struct {
		group, member string
		gen           int32
		want          int16
	}{
		{"g", a, gen, 0},
		{"g", a, gen + 1, kerr.IllegalGeneration.Code},
		{"g", "nobody", gen, kerr.UnknownMemberID.Code},
		{"other", a, gen, kerr.UnknownMemberID.Code},
	} {
		if code := h.heartbeat(c.group, c.member, c.gen, nil); code != c.want {
			t.Errorf("heartbeat %s/%s gen %d: %v, want %v", c.group, c.member, c.gen,
				kerr.ErrorForCode(code), kerr.ErrorForCode(c.want))
		}
		if c.want == 0 {
			continue
		}
		if r := h.sync(syncReq(c.group, c.member, c.gen)).sync(t); r.ErrorCode != c.want {
			t.Errorf("sync %s/%s gen %d: %v", c.group, c.member, c.gen, kerr.ErrorForCode(r.ErrorCode))
		}
	}
	if code := h.commit(commitReq("g", a, gen+1, "t", 0, 1)); code != kerr.IllegalGeneration.Code {
		t.Errorf("commit with a wrong generation: %v", kerr.ErrorForCode(code))
	}
	if code := h.commit(commitReq("g", "nobody", gen, "t", 0, 1)); code != kerr.UnknownMemberID.Code {
		t.Errorf("commit of an unknown member: %v", kerr.ErrorForCode(code))
	}
	if r := h.join(joinReq(3, "g", "nobody", nil, "a")).join(t); r.ErrorCode != kerr.UnknownMemberID.Code {
		t.Errorf("join of an unknown member: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	// Leaving, then heartbeating.
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.MemberID = a
	if out := h.c.Leave("g", []kmsg.LeaveGroupRequestMember{lm}); out[0].ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(out[0].ErrorCode))
	}
	if code := h.heartbeat("g", a, gen, nil); code != kerr.UnknownMemberID.Code {
		t.Errorf("heartbeat after leaving: %v", kerr.ErrorForCode(code))
	}
	if st := h.state("g"); st != "Empty" {
		t.Errorf("state %s after the last member left", st)
	}
}

// KIP-394: a v4+ join without a member id gets MEMBER_ID_REQUIRED and an
// id that expires with the session when not used.
func TestMemberIDRequiredExpires(t *testing.T) {
	h := newHarness(t, testConfig())
	j := h.join(joinReq(9, "g", "", nil, "a")).join(t)
	if j.ErrorCode != kerr.MemberIDRequired.Code || j.MemberID == "" {
		t.Fatalf("first join: %+v", j)
	}
	h.advance(time.Second)
	if r := h.join(joinReq(9, "g", j.MemberID, nil, "a")).join(t); r.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("join with an expired id: %v", kerr.ErrorForCode(r.ErrorCode))
	}
}
