package groups

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A coordinator replaying another's records has its groups (Stable with
// their members, generation and assignments) and offsets, without what
// tombstones deleted.
func TestReplayRestoresGroupsAndOffsets(t *testing.T) {
	h := newHarness(t, testConfig())
	inst := kmsg.StringPtr("inst")
	j := h.join(joinReq(5, "g", "", inst, "a")).join(t)
	s := syncReq("g", j.MemberID, j.Generation, j.MemberID)
	s.InstanceID = inst
	h.sync(s).sync(t)
	commit := commitReq("g", j.MemberID, j.Generation, "t", 0, 10)
	commit.InstanceID = inst
	if code := h.commit(commit); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	h.commit(commitReq("solo", "", -1, "t", 0, 1))
	h.commit(commitReq("solo", "", -1, "t", 0, 2)) // the last record wins
	h.commit(commitReq("solo", "", -1, "t", 1, 3))
	h.commit(commitReq("gone", "", -1, "t", 0, 4))
	dreq := kmsg.NewPtrOffsetDeleteRequest()
	dreq.Group = "solo"
	dt := kmsg.NewOffsetDeleteRequestTopic()
	dt.Topic = "t"
	dp := kmsg.NewOffsetDeleteRequestTopicPartition()
	dp.Partition = 1
	dt.Partitions = append(dt.Partitions, dp)
	dreq.Topics = append(dreq.Topics, dt)
	r := newReply()
	r.take(h.c.DeleteOffsets(dreq, 0, r.respond)).wait(t)
	deleted := make(chan int16, 1)
	h.c.Delete("gone", 0, func(code int16) { deleted <- code })
	if code := <-deleted; code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}

	h2 := newHarness(t, testConfig())
	h2.c = New(Options{Log: h2.log, Config: func() Config { return h2.cfg }, Clock: h2.clock})
	rp := h2.c.Load(0, 0)
	for _, rec := range h.log.records() {
		rp.Record(rec.Key, rec.Value)
	}
	if n, ok := rp.Done(); n != 2 || !ok {
		t.Fatalf("%d groups replayed (%v), want g and solo", n, ok)
	}
	if !h2.c.Loaded(0) {
		t.Fatal("not loaded after Done")
	}
	for _, c := range []struct {
		group string
		p     int32
		want  int64
	}{{"g", 0, 10}, {"solo", 0, 2}, {"solo", 1, -1}, {"gone", 0, -1}} {
		if off, _ := h2.fetch(c.group, "t", c.p); off != c.want {
			t.Errorf("%s t-%d at %d, want %d", c.group, c.p, off, c.want)
		}
	}
	if st := h2.state("g"); st != "Stable" {
		t.Fatalf("replayed state %s", st)
	}
	if code := h2.heartbeat("g", j.MemberID, j.Generation, inst); code != 0 {
		t.Fatalf("replayed member's heartbeat: %v", kerr.ErrorForCode(code))
	}
	s = syncReq("g", j.MemberID, j.Generation)
	s.InstanceID = inst
	if resp := h2.sync(s).sync(t); resp.ErrorCode != 0 || string(resp.MemberAssignment) != "for-"+j.MemberID {
		t.Fatalf("replayed assignment: %v %q", kerr.ErrorForCode(resp.ErrorCode), resp.MemberAssignment)
	}
	// The replayed member got a fresh session, which ends like any other.
	h2.advance(time.Second)
	if st := h2.state("g"); st != "Empty" {
		t.Fatalf("state %s after the replayed member's session ended", st)
	}
}

// Records the coordinator does not know are skipped by the replay.
func TestReplaySkipsUnknownRecords(t *testing.T) {
	h := newHarness(t, testConfig())
	rp := New(Options{Log: h.log, Config: func() Config { return h.cfg }, Clock: h.clock}).Load(0, 0)
	rp.Record([]byte{0}, nil)
	rp.Record([]byte{0, 9, 1, 2}, []byte{3})
	rp.Record([]byte{0, 1, 0xff}, []byte{1})
	if n, _ := rp.Done(); n != 0 {
		t.Fatalf("%d groups from junk", n)
	}
}
