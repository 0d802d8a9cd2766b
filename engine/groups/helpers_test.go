package groups

import (
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// harness is a coordinator with a fake clock and a log in memory. Time
// moves only when a test calls advance, which runs Tick.
type harness struct {
	t   *testing.T
	c   *Coordinator
	log *memLog
	cfg Config

	mu   sync.Mutex
	now  time.Time
	wake time.Time // the last time Wake asked for
}

func newHarness(t *testing.T, cfg Config) *harness {
	h := &harness{t: t, log: &memLog{}, cfg: cfg, now: time.UnixMilli(1_700_000_000_000)}
	h.c = New(Options{Log: h.log, Config: func() Config { return h.cfg }, Clock: h.clock,
		Wake: func(at time.Time) { h.wake = at }})
	h.c.Load(0, 0).Done() // partition 0, with nothing to load
	return h
}

func testConfig() Config {
	return Config{MinSessionTimeoutMs: 100, MaxSessionTimeoutMs: 60000, MaxSize: 100,
		OffsetsRetention: 7 * 24 * time.Hour}
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

// advance moves the clock on by d and runs Tick.
func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	now := h.now
	h.mu.Unlock()
	h.c.Tick(now)
}

// memLog is a Log whose appends succeed at once.
type memLog struct {
	mu   sync.Mutex
	recs []partRecord
}

type partRecord struct {
	part, epoch int32
	Record
}

func (l *memLog) Append(part, epoch int32, recs []Record, done func(code int16)) {
	l.mu.Lock()
	for _, r := range recs {
		l.recs = append(l.recs, partRecord{part, epoch, r})
	}
	l.mu.Unlock()
	if done != nil {
		done(0)
	}
}

func (l *memLog) records() []partRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]partRecord(nil), l.recs...)
}

// reply collects the answers of one request: returned or sent later.
type reply struct{ ch chan kmsg.Response }

func newReply() *reply { return &reply{ch: make(chan kmsg.Response, 4)} }

func (r *reply) respond(resp kmsg.Response) { r.ch <- resp }

func (r *reply) take(resp kmsg.Response) *reply {
	if resp != nil {
		r.ch <- resp
	}
	return r
}

// now is the answer if there is one already, else nil.
func (r *reply) now() kmsg.Response {
	select {
	case resp := <-r.ch:
		return resp
	default:
		return nil
	}
}

// wait is the answer, which comes from another goroutine.
func (r *reply) wait(t *testing.T) kmsg.Response {
	t.Helper()
	select {
	case resp := <-r.ch:
		return resp
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
		return nil
	}
}

func (r *reply) join(t *testing.T) *kmsg.JoinGroupResponse {
	t.Helper()
	resp, ok := r.now().(*kmsg.JoinGroupResponse)
	if !ok {
		t.Fatal("JoinGroup not answered")
	}
	return resp
}

func (r *reply) sync(t *testing.T) *kmsg.SyncGroupResponse {
	t.Helper()
	resp, ok := r.now().(*kmsg.SyncGroupResponse)
	if !ok {
		t.Fatal("SyncGroup not answered")
	}
	return resp
}

func joinReq(version int16, group, member string, instance *string, meta string) *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version, req.Group, req.MemberID, req.InstanceID = version, group, member, instance
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis, req.ProtocolType = 1000, 3000, "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", []byte(meta)
	req.Protocols = []kmsg.JoinGroupRequestProtocol{p}
	return req
}

func (h *harness) join(req *kmsg.JoinGroupRequest) *reply {
	r := newReply()
	return r.take(h.c.Join(req, 0, Client{ID: "client", Host: "/127.0.0.1"}, r.respond))
}

// syncReq is a SyncGroup; a leader's carries "for-<member>" assignments.
func syncReq(group, member string, gen int32, assign ...string) *kmsg.SyncGroupRequest {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version, req.Group, req.MemberID, req.Generation = 5, group, member, gen
	for _, m := range assign {
		a := kmsg.NewSyncGroupRequestGroupAssignment()
		a.MemberID, a.MemberAssignment = m, []byte("for-"+m)
		req.GroupAssignment = append(req.GroupAssignment, a)
	}
	return req
}

func (h *harness) sync(req *kmsg.SyncGroupRequest) *reply {
	r := newReply()
	return r.take(h.c.Sync(req, r.respond))
}

func (h *harness) heartbeat(group, member string, gen int32, instance *string) int16 {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.Generation, req.InstanceID = group, member, gen, instance
	return h.c.Heartbeat(req)
}

func (h *harness) state(group string) string {
	out := kmsg.NewDescribeGroupsResponseGroup()
	out.Group = group
	h.c.Describe(&out)
	return out.State
}

// stableOne makes group a Stable group of one dynamic member (JoinGroup
// v3: no MEMBER_ID_REQUIRED step) and returns its id and generation.
func (h *harness) stableOne(group string) (string, int32) {
	t := h.t
	t.Helper()
	j := h.join(joinReq(3, group, "", nil, "a")).join(t)
	if j.ErrorCode != 0 || j.LeaderID != j.MemberID {
		t.Fatalf("join: %v leader %q member %q", kerr.ErrorForCode(j.ErrorCode), j.LeaderID, j.MemberID)
	}
	s := h.sync(syncReq(group, j.MemberID, j.Generation, j.MemberID)).sync(t)
	if s.ErrorCode != 0 || string(s.MemberAssignment) != "for-"+j.MemberID {
		t.Fatalf("sync: %v %q", kerr.ErrorForCode(s.ErrorCode), s.MemberAssignment)
	}
	return j.MemberID, j.Generation
}

// stableTwo makes group a Stable group of two dynamic members: a, the
// leader, and b, and returns them with the generation.
func (h *harness) stableTwo(group string) (a, b string, gen int32) {
	t := h.t
	t.Helper()
	a, gen = h.stableOne(group)
	jb := h.join(joinReq(3, group, "", nil, "b"))
	if jb.now() != nil {
		t.Fatal("a new member's join answered before the others rejoined")
	}
	if code := h.heartbeat(group, a, gen, nil); code != kerr.RebalanceInProgress.Code {
		t.Fatalf("heartbeat during the rebalance: %v", kerr.ErrorForCode(code))
	}
	ja := h.join(joinReq(3, group, a, nil, "a")).join(t)
	jbr := jb.join(t)
	if ja.ErrorCode != 0 || jbr.ErrorCode != 0 || ja.Generation != gen+1 || len(ja.Members) != 2 {
		t.Fatalf("rejoin: %+v / %+v", ja, jbr)
	}
	b, gen = jbr.MemberID, ja.Generation
	sb := h.sync(syncReq(group, b, gen))
	if sb.now() != nil {
		t.Fatal("a follower's sync answered before the leader's")
	}
	if s := h.sync(syncReq(group, a, gen, a, b)).sync(t); s.ErrorCode != 0 {
		t.Fatalf("leader sync: %v", kerr.ErrorForCode(s.ErrorCode))
	}
	if s := sb.sync(t); s.ErrorCode != 0 || string(s.MemberAssignment) != "for-"+b {
		t.Fatalf("follower sync: %v %q", kerr.ErrorForCode(s.ErrorCode), s.MemberAssignment)
	}
	if st := h.state(group); st != "Stable" {
		t.Fatalf("state %s", st)
	}
	return a, b, gen
}
