package engine

import (
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// startGroupBroker runs a broker with a small __consumer_offsets, created
// by a FindCoordinator, and a topic "t" of 4 partitions for the tests to
// commit offsets of, and returns it with its address.
func startGroupBroker(t *testing.T, dir string, kv ...string) (*Broker, string) {
	t.Helper()
	args := append([]string{"listeners=PLAINTEXT://127.0.0.1:0", "offsets.topic.replication.factor=1",
		"offsets.topic.num.partitions=3", "group.initial.rebalance.delay.ms=0", "group.min.session.timeout.ms=100"}, kv...)
	if dir != "" {
		args = append(args, "log.dirs="+dir)
	}
	b := newTestBroker(t, args...)
	b.opts.IO, b.opts.Shards = "std", 2
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	addr := b.Servers()[0].Addr().String()
	c := dialRaw(t, addr)
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.Version, fc.CoordinatorKey = 3, "g"
	if resp := send(t, c, fc).(*kmsg.FindCoordinatorResponse); resp.ErrorCode != 0 {
		t.Fatalf("FindCoordinator: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	if _, ok := b.image.Load().Topic("t"); !ok {
		createTopic(t, b, "t", 4)
	}
	return b, addr
}

func joinReq(group, member string, instance *string, meta string) *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version, req.Group, req.MemberID, req.InstanceID = 9, group, member, instance
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis, req.ProtocolType = 10000, 3000, "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", []byte(meta)
	req.Protocols = []kmsg.JoinGroupRequestProtocol{p}
	return req
}

// joinOne joins alone (two steps for a dynamic member) and syncs.
func joinOne(t *testing.T, c *rawClient, group string) (member string, gen int32) {
	t.Helper()
	resp := send(t, c, joinReq(group, "", nil, "m")).(*kmsg.JoinGroupResponse)
	if resp.ErrorCode != kerr.MemberIDRequired.Code || resp.MemberID == "" {
		t.Fatalf("first join: %v %q", kerr.ErrorForCode(resp.ErrorCode), resp.MemberID)
	}
	resp = send(t, c, joinReq(group, resp.MemberID, nil, "m")).(*kmsg.JoinGroupResponse)
	if resp.ErrorCode != 0 || resp.LeaderID != resp.MemberID || len(resp.Members) != 1 || *resp.Protocol != "range" {
		t.Fatalf("second join: %+v", resp)
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Version, sync.Group, sync.MemberID, sync.Generation = 5, group, resp.MemberID, resp.Generation
	sync.ProtocolType, sync.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
	a := kmsg.NewSyncGroupRequestGroupAssignment()
	a.MemberID, a.MemberAssignment = resp.MemberID, []byte("assigned")
	sync.GroupAssignment = append(sync.GroupAssignment, a)
	sresp := send(t, c, sync).(*kmsg.SyncGroupResponse)
	if sresp.ErrorCode != 0 || string(sresp.MemberAssignment) != "assigned" {
		t.Fatalf("sync: %+v", sresp)
	}
	return resp.MemberID, resp.Generation
}

func commitReq(group, member string, gen int32, topic string, p int32, off int64) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version, req.Group, req.MemberID, req.Generation = 8, group, member, gen
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = p, off
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func commitCode(t *testing.T, c *rawClient, req *kmsg.OffsetCommitRequest) int16 {
	t.Helper()
	return send(t, c, req).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
}

func fetchOffset(t *testing.T, c *rawClient, group, topic string, p int32) int64 {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 8
	g := kmsg.NewOffsetFetchRequestGroup()
	g.Group = group
	gt := kmsg.NewOffsetFetchRequestGroupTopic()
	gt.Topic, gt.Partitions = topic, []int32{p}
	g.Topics = append(g.Topics, gt)
	req.Groups = append(req.Groups, g)
	resp := send(t, c, req).(*kmsg.OffsetFetchResponse)
	if resp.Groups[0].ErrorCode != 0 {
		t.Fatalf("offset fetch: %v", kerr.ErrorForCode(resp.Groups[0].ErrorCode))
	}
	return resp.Groups[0].Topics[0].Partitions[0].Offset
}

func TestGroupBeforeOffsetsTopic(t *testing.T) {
	b := newTestBroker(t, "listeners=PLAINTEXT://127.0.0.1:0")
	b.opts.IO, b.opts.Shards = "std", 1
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, b.Servers()[0].Addr().String())
	resp := send(t, c, joinReq("g", "", nil, "m")).(*kmsg.JoinGroupResponse)
	if resp.ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("join before __consumer_offsets: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
}

func TestGroupErrors(t *testing.T) {
	_, addr := startGroupBroker(t, "")
	c := dialRaw(t, addr)
	member, gen := joinOne(t, c, "g")

	// Commits: current generation ok, stale ILLEGAL_GENERATION, unknown
	// member UNKNOWN_MEMBER_ID, simple commit to a group with members
	// UNKNOWN_MEMBER_ID, simple commit to a new group ok.
	if code := commitCode(t, c, commitReq("g", member, gen, "t", 0, 5)); code != 0 {
		t.Fatalf("commit: %v", kerr.ErrorForCode(code))
	}
	if code := commitCode(t, c, commitReq("g", member, gen-1, "t", 0, 6)); code != kerr.IllegalGeneration.Code {
		t.Fatalf("stale generation commit: %v", kerr.ErrorForCode(code))
	}
	if code := commitCode(t, c, commitReq("g", "nobody", gen, "t", 0, 6)); code != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown member commit: %v", kerr.ErrorForCode(code))
	}
	if code := commitCode(t, c, commitReq("g", "", -1, "t", 0, 6)); code != kerr.UnknownMemberID.Code {
		t.Fatalf("simple commit to a live group: %v", kerr.ErrorForCode(code))
	}
	if code := commitCode(t, c, commitReq("standalone", "", -1, "t", 1, 42)); code != 0 {
		t.Fatalf("simple commit: %v", kerr.ErrorForCode(code))
	}
	if got := fetchOffset(t, c, "g", "t", 0); got != 5 {
		t.Fatalf("fetched offset %d, want 5", got)
	}
	if got := fetchOffset(t, c, "standalone", "t", 1); got != 42 {
		t.Fatalf("standalone offset %d, want 42", got)
	}
	if got := fetchOffset(t, c, "standalone", "t", 2); got != -1 {
		t.Fatalf("uncommitted offset %d, want -1", got)
	}

	// Unknown protocol type or no common protocol.
	bad := joinReq("g", "", nil, "m")
	bad.ProtocolType = "connect"
	if resp := send(t, c, bad).(*kmsg.JoinGroupResponse); resp.ErrorCode != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("join with another protocol type: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	bad = joinReq("g", "", nil, "m")
	bad.Protocols[0].Name = "roundrobin"
	if resp := send(t, c, bad).(*kmsg.JoinGroupResponse); resp.ErrorCode != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("join with no common protocol: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	// Heartbeats.
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Version, hb.Group, hb.MemberID, hb.Generation = 4, "g", member, gen
	if resp := send(t, c, hb).(*kmsg.HeartbeatResponse); resp.ErrorCode != 0 {
		t.Fatalf("heartbeat: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	hb.Generation = gen + 1
	if resp := send(t, c, hb).(*kmsg.HeartbeatResponse); resp.ErrorCode != kerr.IllegalGeneration.Code {
		t.Fatalf("heartbeat with a wrong generation: %v", kerr.ErrorForCode(resp.ErrorCode))
	}

	// Describe and list.
	dg := kmsg.NewPtrDescribeGroupsRequest()
	dg.Version, dg.Groups = 5, []string{"g"}
	d := send(t, c, dg).(*kmsg.DescribeGroupsResponse).Groups[0]
	if d.State != "Stable" || d.Protocol != "range" || len(d.Members) != 1 || string(d.Members[0].MemberAssignment) != "assigned" {
		t.Fatalf("describe: %+v", d)
	}
	lg := kmsg.NewPtrListGroupsRequest()
	lg.Version, lg.StatesFilter = 4, []string{"stable"}
	if l := send(t, c, lg).(*kmsg.ListGroupsResponse); len(l.Groups) != 1 || l.Groups[0].Group != "g" {
		t.Fatalf("list stable: %+v", l.Groups)
	}

	// Delete: a group with members cannot go; after LeaveGroup it can,
	// and its offsets go with it.
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Version, del.Groups = 2, []string{"g"}
	if r := send(t, c, del).(*kmsg.DeleteGroupsResponse); r.Groups[0].ErrorCode != kerr.NonEmptyGroup.Code {
		t.Fatalf("delete non-empty: %v", kerr.ErrorForCode(r.Groups[0].ErrorCode))
	}
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Version, leave.Group = 4, "g"
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.MemberID = member
	leave.Members = append(leave.Members, lm)
	if r := send(t, c, leave).(*kmsg.LeaveGroupResponse); r.ErrorCode != 0 || r.Members[0].ErrorCode != 0 {
		t.Fatalf("leave: %+v", r)
	}
	d = send(t, c, dg).(*kmsg.DescribeGroupsResponse).Groups[0]
	if d.State != "Empty" {
		t.Fatalf("after leave: %s", d.State)
	}
	if r := send(t, c, del).(*kmsg.DeleteGroupsResponse); r.Groups[0].ErrorCode != 0 {
		t.Fatalf("delete: %v", kerr.ErrorForCode(r.Groups[0].ErrorCode))
	}
	if got := fetchOffset(t, c, "g", "t", 0); got != -1 {
		t.Fatalf("offset after delete %d", got)
	}

	// OffsetDelete on the standalone group.
	od := kmsg.NewPtrOffsetDeleteRequest()
	od.Group = "standalone"
	odt := kmsg.NewOffsetDeleteRequestTopic()
	odt.Topic = "t"
	odp := kmsg.NewOffsetDeleteRequestTopicPartition()
	odp.Partition = 1
	odt.Partitions = append(odt.Partitions, odp)
	od.Topics = append(od.Topics, odt)
	if r := send(t, c, od).(*kmsg.OffsetDeleteResponse); r.ErrorCode != 0 || r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("offset delete: %+v", r)
	}
	if got := fetchOffset(t, c, "standalone", "t", 1); got != -1 {
		t.Fatalf("offset after OffsetDelete %d", got)
	}
}

func TestGroupRebalanceTwoMembers(t *testing.T) {
	_, addr := startGroupBroker(t, "")
	c1, c2 := dialRaw(t, addr), dialRaw(t, addr)
	m1, gen := joinOne(t, c1, "g")
	// A second member joins: the first learns of the rebalance from its
	// heartbeat and rejoins; both get generation gen+1.
	r2 := send(t, c2, joinReq("g", "", nil, "m2")).(*kmsg.JoinGroupResponse)
	done := make(chan *kmsg.JoinGroupResponse, 1)
	go func() {
		resp, err := c2.request(joinReq("g", r2.MemberID, nil, "m2"))
		if err != nil {
			t.Error(err)
		}
		done <- resp.(*kmsg.JoinGroupResponse)
	}()
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Version, hb.Group, hb.MemberID, hb.Generation = 4, "g", m1, gen
	deadline := time.Now().Add(5 * time.Second)
	for {
		if resp := send(t, c1, hb).(*kmsg.HeartbeatResponse); resp.ErrorCode == kerr.RebalanceInProgress.Code {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no REBALANCE_IN_PROGRESS")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A commit of the old generation is still taken while preparing.
	if code := commitCode(t, c1, commitReq("g", m1, gen, "t", 0, 1)); code != 0 {
		t.Fatalf("commit while preparing: %v", kerr.ErrorForCode(code))
	}
	j1 := send(t, c1, joinReq("g", m1, nil, "m1")).(*kmsg.JoinGroupResponse)
	j2 := <-done
	if j1.ErrorCode != 0 || j2.ErrorCode != 0 || j1.Generation != gen+1 || j2.Generation != gen+1 ||
		j1.LeaderID != m1 || len(j1.Members) != 2 || len(j2.Members) != 0 {
		t.Fatalf("rejoin: %+v / %+v", j1, j2)
	}
	// The old generation's commit is now stale.
	if code := commitCode(t, c1, commitReq("g", m1, gen, "t", 0, 2)); code != kerr.IllegalGeneration.Code {
		t.Fatalf("stale commit: %v", kerr.ErrorForCode(code))
	}
	// Commits before the leader synced: REBALANCE_IN_PROGRESS.
	if code := commitCode(t, c1, commitReq("g", m1, gen+1, "t", 0, 2)); code != kerr.RebalanceInProgress.Code {
		t.Fatalf("commit in CompletingRebalance: %v", kerr.ErrorForCode(code))
	}
	// The follower's sync waits for the leader's.
	sdone := make(chan *kmsg.SyncGroupResponse, 1)
	go func() {
		s := kmsg.NewPtrSyncGroupRequest()
		s.Version, s.Group, s.MemberID, s.Generation = 3, "g", j2.MemberID, j2.Generation
		resp, err := c2.request(s)
		if err != nil {
			t.Error(err)
		}
		sdone <- resp.(*kmsg.SyncGroupResponse)
	}()
	time.Sleep(50 * time.Millisecond)
	s := kmsg.NewPtrSyncGroupRequest()
	s.Version, s.Group, s.MemberID, s.Generation = 3, "g", m1, j1.Generation
	for _, m := range []string{m1, j2.MemberID} {
		a := kmsg.NewSyncGroupRequestGroupAssignment()
		a.MemberID, a.MemberAssignment = m, []byte("for "+m)
		s.GroupAssignment = append(s.GroupAssignment, a)
	}
	if resp := send(t, c1, s).(*kmsg.SyncGroupResponse); string(resp.MemberAssignment) != "for "+m1 {
		t.Fatalf("leader sync: %+v", resp)
	}
	if resp := <-sdone; resp.ErrorCode != 0 || string(resp.MemberAssignment) != "for "+j2.MemberID {
		t.Fatalf("follower sync: %+v", resp)
	}
}

func TestGroupStaticMemberRejoinsWithoutRebalance(t *testing.T) {
	_, addr := startGroupBroker(t, "")
	c := dialRaw(t, addr)
	inst := kmsg.StringPtr("instance-1")
	j := send(t, c, joinReq("s", "", inst, "m")).(*kmsg.JoinGroupResponse)
	if j.ErrorCode != 0 || j.LeaderID != j.MemberID {
		t.Fatalf("static join: %+v", j)
	}
	s := kmsg.NewPtrSyncGroupRequest()
	s.Version, s.Group, s.MemberID, s.Generation, s.InstanceID = 3, "s", j.MemberID, j.Generation, inst
	a := kmsg.NewSyncGroupRequestGroupAssignment()
	a.MemberID, a.MemberAssignment = j.MemberID, []byte("mine")
	s.GroupAssignment = append(s.GroupAssignment, a)
	if resp := send(t, c, s).(*kmsg.SyncGroupResponse); resp.ErrorCode != 0 {
		t.Fatalf("sync: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	// The instance restarts: same generation, a new member id, the old one
	// fenced, and the assignment kept.
	j2 := send(t, c, joinReq("s", "", inst, "m")).(*kmsg.JoinGroupResponse)
	if j2.ErrorCode != 0 || j2.Generation != j.Generation || j2.MemberID == j.MemberID || !j2.SkipAssignment {
		t.Fatalf("static rejoin: %+v", j2)
	}
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Version, hb.Group, hb.MemberID, hb.Generation, hb.InstanceID = 4, "s", j.MemberID, j.Generation, inst
	if resp := send(t, c, hb).(*kmsg.HeartbeatResponse); resp.ErrorCode != kerr.FencedInstanceID.Code {
		t.Fatalf("old instance heartbeat: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	s.MemberID, s.GroupAssignment = j2.MemberID, nil
	if resp := send(t, c, s).(*kmsg.SyncGroupResponse); resp.ErrorCode != 0 || string(resp.MemberAssignment) != "mine" {
		t.Fatalf("sync after static rejoin: %+v", resp)
	}
}

func TestGroupMaxSizeAndSessionTimeout(t *testing.T) {
	_, addr := startGroupBroker(t, "", "group.max.size=1")
	c1, c2 := dialRaw(t, addr), dialRaw(t, addr)
	req := joinReq("g", "", nil, "m")
	req.SessionTimeoutMillis = 300
	r := send(t, c1, req).(*kmsg.JoinGroupResponse)
	req.MemberID = r.MemberID
	if r = send(t, c1, req).(*kmsg.JoinGroupResponse); r.ErrorCode != 0 {
		t.Fatalf("join: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	if r2 := send(t, c2, joinReq("g", "", nil, "m")).(*kmsg.JoinGroupResponse); r2.ErrorCode != kerr.GroupMaxSizeReached.Code {
		t.Fatalf("join beyond group.max.size: %v", kerr.ErrorForCode(r2.ErrorCode))
	}
	// No sync, no heartbeat: the session ends and the group empties.
	time.Sleep(800 * time.Millisecond)
	dg := kmsg.NewPtrDescribeGroupsRequest()
	dg.Version, dg.Groups = 5, []string{"g"}
	if d := send(t, c1, dg).(*kmsg.DescribeGroupsResponse).Groups[0]; d.State != "Empty" || len(d.Members) != 0 {
		t.Fatalf("after the session timeout: %s with %d members", d.State, len(d.Members))
	}
}

func TestGroupOffsetsReload(t *testing.T) {
	dir := t.TempDir()
	b, addr := startGroupBroker(t, dir)
	c := dialRaw(t, addr)
	member, gen := joinOne(t, c, "g")
	if code := commitCode(t, c, commitReq("g", member, gen, "t", 3, 77)); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	if code := commitCode(t, c, commitReq("simple", "", -1, "t", 0, 9)); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	if code := commitCode(t, c, commitReq("simple", "", -1, "t", 0, 10)); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	b.Close()
	b, addr = startGroupBroker(t, dir)
	defer b.Close()
	c = dialRaw(t, addr)
	if got := fetchOffset(t, c, "g", "t", 3); got != 77 {
		t.Fatalf("reloaded offset %d, want 77", got)
	}
	if got := fetchOffset(t, c, "simple", "t", 0); got != 10 {
		t.Fatalf("reloaded offset %d, want 10", got)
	}
	// The member and generation came back too.
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Version, hb.Group, hb.MemberID, hb.Generation = 4, "g", member, gen
	if resp := send(t, c, hb).(*kmsg.HeartbeatResponse); resp.ErrorCode != 0 {
		t.Fatalf("heartbeat after reload: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
}

func TestGroupOffsetsExpire(t *testing.T) {
	b, addr := startGroupBroker(t, "")
	c := dialRaw(t, addr)
	if code := commitCode(t, c, commitReq("old", "", -1, "t", 0, 9)); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	member, gen := joinOne(t, c, "live")
	if code := commitCode(t, c, commitReq("live", member, gen, "t", 0, 3)); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	b.coord().expireOffsets(time.Now().Add(time.Hour)) // within a week: kept
	if got := fetchOffset(t, c, "old", "t", 0); got != 9 {
		t.Fatalf("offset %d before retention", got)
	}
	b.coord().expireOffsets(time.Now().Add(8 * 24 * time.Hour))
	if got := fetchOffset(t, c, "old", "t", 0); got != -1 {
		t.Fatalf("expired offset still %d", got)
	}
	if got := fetchOffset(t, c, "live", "t", 0); got != 3 {
		t.Fatalf("a group with members lost its offset: %d", got)
	}
	lg := kmsg.NewPtrListGroupsRequest()
	lg.Version = 4
	if l := send(t, c, lg).(*kmsg.ListGroupsResponse); len(l.Groups) != 1 || l.Groups[0].Group != "live" {
		t.Fatalf("groups after expiry: %+v", l.Groups)
	}
}

// A member that does not rejoin within the rebalance timeout (a consumer
// stuck past max.poll.interval.ms) is dropped; the others go on without it.
func TestGroupRebalanceTimeoutDropsSlowMember(t *testing.T) {
	_, addr := startGroupBroker(t, "")
	c1, c2 := dialRaw(t, addr), dialRaw(t, addr)
	m1, gen := joinOne(t, c1, "g")
	req := joinReq("g", "", nil, "m2")
	req.RebalanceTimeoutMillis = 400
	r2 := send(t, c2, req).(*kmsg.JoinGroupResponse)
	req.MemberID = r2.MemberID
	start := time.Now()
	j2 := send(t, c2, req).(*kmsg.JoinGroupResponse) // m1 never rejoins
	// The group waits the longest rebalance timeout of its members (m1's 3 s).
	if j2.ErrorCode != 0 || j2.Generation != gen+1 || j2.LeaderID != j2.MemberID || len(j2.Members) != 1 {
		t.Fatalf("join after the rebalance timeout: %+v", j2)
	}
	if took := time.Since(start); took < 2500*time.Millisecond {
		t.Fatalf("rebalance completed after %v, before the rebalance timeout", took)
	}
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Version, hb.Group, hb.MemberID, hb.Generation = 4, "g", m1, gen
	if resp := send(t, c1, hb).(*kmsg.HeartbeatResponse); resp.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("dropped member's heartbeat: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
}

// A new group waits group.initial.rebalance.delay.ms for more members,
// and a member joining meanwhile is in the first generation.
func TestGroupInitialRebalanceDelay(t *testing.T) {
	_, addr := startGroupBroker(t, "", "group.initial.rebalance.delay.ms=300")
	c1, c2 := dialRaw(t, addr), dialRaw(t, addr)
	r1 := send(t, c1, joinReq("d", "", nil, "m1")).(*kmsg.JoinGroupResponse)
	r2 := send(t, c2, joinReq("d", "", nil, "m2")).(*kmsg.JoinGroupResponse)
	start := time.Now()
	done := make(chan *kmsg.JoinGroupResponse, 1)
	go func() {
		resp, err := c2.request(joinReq("d", r2.MemberID, nil, "m2"))
		if err != nil {
			t.Error(err)
		}
		done <- resp.(*kmsg.JoinGroupResponse)
	}()
	j1 := send(t, c1, joinReq("d", r1.MemberID, nil, "m1")).(*kmsg.JoinGroupResponse)
	j2 := <-done
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Fatalf("first rebalance after %v, before the initial delay", took)
	}
	if j1.ErrorCode != 0 || j2.ErrorCode != 0 || j1.Generation != 1 || j2.Generation != 1 {
		t.Fatalf("joins: %+v / %+v", j1, j2)
	}
}

func TestMemberRequestsWithEmptyGroupID(t *testing.T) {
	b := newTestBroker(t)
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Version = 4
	if c := roundTrip(t, b, hb).(*kmsg.HeartbeatResponse).ErrorCode; c != kerr.InvalidGroupID.Code {
		t.Errorf("heartbeat: error %d, want INVALID_GROUP_ID", c)
	}
	sg := kmsg.NewPtrSyncGroupRequest()
	sg.Version = 5
	if c := roundTrip(t, b, sg).(*kmsg.SyncGroupResponse).ErrorCode; c != kerr.InvalidGroupID.Code {
		t.Errorf("sync group: error %d, want INVALID_GROUP_ID", c)
	}
	lg := kmsg.NewPtrLeaveGroupRequest()
	lg.Version = 4
	if c := roundTrip(t, b, lg).(*kmsg.LeaveGroupResponse).ErrorCode; c != kerr.InvalidGroupID.Code {
		t.Errorf("leave group: error %d, want INVALID_GROUP_ID", c)
	}
}

// Kafka answers UNKNOWN_TOPIC_OR_PARTITION for a partition of no topic or
// past the topic's partition count, and commits the rest of the request.
func TestOffsetCommitUnknownTopics(t *testing.T) {
	_, addr := startGroupBroker(t, "")
	c := dialRaw(t, addr)
	req := commitReq("simple", "", -1, "t", 1, 11)
	req.Topics[0].Partitions = append(req.Topics[0].Partitions,
		kmsg.OffsetCommitRequestTopicPartition{Partition: 4, Offset: 12},
		kmsg.OffsetCommitRequestTopicPartition{Partition: -1, Offset: 12},
		kmsg.OffsetCommitRequestTopicPartition{Partition: 3, Offset: 13})
	req.Topics = append(req.Topics, commitReq("", "", 0, "nosuch", 0, 14).Topics...)
	for _, v := range []int16{2, 8, 9} {
		req.Version = v
		resp := send(t, c, req).(*kmsg.OffsetCommitResponse)
		got := map[string][]int16{}
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				got[rt.Topic] = append(got[rt.Topic], rp.ErrorCode)
			}
		}
		unknown := kerr.UnknownTopicOrPartition.Code
		if !reflect.DeepEqual(got, map[string][]int16{"t": {0, unknown, unknown, 0}, "nosuch": {unknown}}) {
			t.Fatalf("v%d: codes %v", v, got)
		}
	}
	if got := fetchOffset(t, c, "simple", "t", 1); got != 11 {
		t.Errorf("t-1 committed %d, want 11", got)
	}
	if got := fetchOffset(t, c, "simple", "t", 3); got != 13 {
		t.Errorf("t-3 committed %d, want 13", got)
	}
	if got := fetchOffset(t, c, "simple", "nosuch", 0); got != -1 {
		t.Errorf("nosuch-0 committed %d, want none (-1)", got)
	}
	// Only unknown partitions: answered before the group is looked at
	// (an empty group id would be INVALID_GROUP_ID otherwise).
	only := commitReq("", "", -1, "nosuch", 0, 1)
	if code := commitCode(t, c, only); code != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("only unknown partitions: %v", kerr.ErrorForCode(code))
	}
}
