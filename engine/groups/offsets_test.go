package groups

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func commitReq(group, member string, gen int32, topic string, p int32, off int64) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version, req.Group, req.MemberID, req.Generation = 8, group, member, gen
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.Metadata = p, off, kmsg.StringPtr("md")
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// commitResp is the response the engine hands Commit: every code 0.
func commitResp(req *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// commit commits and returns the first partition's code.
func (h *harness) commit(req *kmsg.OffsetCommitRequest) int16 {
	h.t.Helper()
	r := newReply()
	resp := r.take(h.c.Commit(req, 0, commitResp(req), r.respond)).wait(h.t)
	return resp.(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
}

// fetch returns the committed offset and metadata (-1: none).
func (h *harness) fetch(group, topic string, p int32) (int64, string) {
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	gt := kmsg.NewOffsetFetchRequestGroupTopic()
	gt.Topic, gt.Partitions = topic, []int32{p}
	rg.Topics = append(rg.Topics, gt)
	out := h.c.FetchOffsets(rg, 0)
	op := out.Topics[0].Partitions[0]
	return op.Offset, *op.Metadata
}

func TestOffsetsCommitFetch(t *testing.T) {
	h := newHarness(t, testConfig())
	// A standalone consumer's commit (no member, generation -1).
	if code := h.commit(commitReq("solo", "", -1, "t", 0, 5)); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	if off, md := h.fetch("solo", "t", 0); off != 5 || md != "md" {
		t.Fatalf("fetched %d %q", off, md)
	}
	if off, _ := h.fetch("solo", "t", 1); off != -1 {
		t.Fatalf("uncommitted partition at %d", off)
	}
	if off, _ := h.fetch("nobody", "t", 0); off != -1 {
		t.Fatalf("unknown group at %d", off)
	}
	// A member's commit, which counts as a heartbeat.
	a, gen := h.stableOne("g")
	h.advance(900 * time.Millisecond)
	if code := h.commit(commitReq("g", a, gen, "t", 2, 7)); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	h.advance(900 * time.Millisecond)
	if st := h.state("g"); st != "Stable" {
		t.Fatalf("state %s: the commit did not restart the session", st)
	}
	if code := h.commit(commitReq("g", "", -1, "t", 2, 8)); code != kerr.UnknownMemberID.Code {
		t.Fatalf("simple commit to a group with members: %v", kerr.ErrorForCode(code))
	}
	big := commitReq("g", a, gen, "t", 3, 1)
	big.Topics[0].Partitions[0].Metadata = kmsg.StringPtr(strings.Repeat("x", MetadataMaxBytes+1))
	if code := h.commit(big); code != kerr.OffsetMetadataTooLarge.Code {
		t.Fatalf("large metadata: %v", kerr.ErrorForCode(code))
	}
	// Every committed partition, sorted, when no topic is asked.
	h.commit(commitReq("g", a, gen, "a-topic", 1, 1))
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = "g"
	out := h.c.FetchOffsets(rg, 0)
	if len(out.Topics) != 2 || out.Topics[0].Topic != "a-topic" || out.Topics[1].Partitions[0].Offset != 7 {
		t.Fatalf("all offsets: %+v", out.Topics)
	}
	// OffsetDelete refuses a topic the group subscribes to only for
	// "consumer" metadata; ours is not decodable, so it deletes.
	dreq := kmsg.NewPtrOffsetDeleteRequest()
	dreq.Group = "g"
	dt := kmsg.NewOffsetDeleteRequestTopic()
	dt.Topic = "t"
	dp := kmsg.NewOffsetDeleteRequestTopicPartition()
	dp.Partition = 2
	dt.Partitions = append(dt.Partitions, dp)
	dreq.Topics = append(dreq.Topics, dt)
	r := newReply()
	if resp := r.take(h.c.DeleteOffsets(dreq, 0, r.respond)).wait(t).(*kmsg.OffsetDeleteResponse); resp.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(resp.ErrorCode))
	}
	if off, _ := h.fetch("g", "t", 2); off != -1 {
		t.Fatalf("deleted offset at %d", off)
	}
}

// Offsets of Empty groups expire offsets.retention after the later of
// their commit and the moment the group became Empty; a group left with
// no offsets is deleted, with tombstones for both.
func TestOffsetsExpireInEmptyGroups(t *testing.T) {
	h := newHarness(t, testConfig())
	owned := func(string) bool { return true }
	day := 24 * time.Hour
	h.commit(commitReq("solo", "", -1, "t", 0, 9))
	live, gen := h.stableOne("live")
	h.commit(commitReq("live", live, gen, "t", 0, 3))
	left, gen2 := h.stableOne("left")
	h.commit(commitReq("left", left, gen2, "t", 0, 4))

	// "left"'s member leaves: the group is Empty, "live" keeps its member.
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.MemberID = left
	h.c.Leave("left", []kmsg.LeaveGroupRequestMember{lm})
	if st := h.state("left"); st != "Empty" {
		t.Fatalf("state %s", st)
	}
	start := h.clock()
	h.c.ExpireOffsets(start.Add(day), owned) // within the week: kept
	if off, _ := h.fetch("solo", "t", 0); off != 9 {
		t.Fatalf("offset %d before retention", off)
	}
	before := len(h.log.records())
	h.c.ExpireOffsets(start.Add(8*day), owned)
	for _, g := range []string{"solo", "left"} {
		if off, _ := h.fetch(g, "t", 0); off != -1 {
			t.Fatalf("%s's expired offset still %d", g, off)
		}
	}
	if off, _ := h.fetch("live", "t", 0); off != 3 {
		t.Fatalf("a group with members lost its offset: %d", off)
	}
	if l := h.c.List(); len(l) != 1 || l[0].Group != "live" {
		t.Fatalf("groups after expiry: %+v", l)
	}
	var tombs int
	for _, r := range h.log.records()[before:] {
		if r.Value != nil {
			t.Fatalf("expiry wrote a value: %x", r.Key)
		}
		tombs++
	}
	if tombs != 4 { // two offsets, two groups' metadata
		t.Fatalf("%d tombstones, want 4", tombs)
	}
}

// The retention of an Empty group's offsets counts from when it became
// Empty, not from the commit.
func TestOffsetsRetentionFromEmptyTime(t *testing.T) {
	cfg := testConfig()
	cfg.OffsetsRetention = time.Hour
	h := newHarness(t, cfg)
	owned := func(string) bool { return true }
	a, gen := h.stableOne("g")
	h.commit(commitReq("g", a, gen, "t", 0, 4))
	for i := 0; i < 90*60*2; i++ { // 90 minutes of heartbeats
		h.advance(500 * time.Millisecond)
		h.heartbeat("g", a, gen, nil)
	}
	if st := h.state("g"); st != "Stable" {
		t.Fatalf("state %s after the heartbeats", st)
	}
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.MemberID = a
	h.c.Leave("g", []kmsg.LeaveGroupRequestMember{lm})
	h.c.ExpireOffsets(h.clock().Add(59*time.Minute), owned)
	if off, _ := h.fetch("g", "t", 0); off != 4 {
		t.Fatalf("offset %d expired counting from its commit", off)
	}
	h.c.ExpireOffsets(h.clock().Add(time.Hour), owned)
	if off, _ := h.fetch("g", "t", 0); off != -1 {
		t.Fatalf("offset %d kept past the retention", off)
	}
	// Groups the broker no longer coordinates are left alone.
	h.commit(commitReq("other", "", -1, "t", 0, 1))
	h.c.ExpireOffsets(h.clock().Add(2*time.Hour), func(string) bool { return false })
	if off, _ := h.fetch("other", "t", 0); off != 1 {
		t.Fatalf("offset of a group coordinated elsewhere expired: %d", off)
	}
}
