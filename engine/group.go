package engine

import (
	"bytes"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The classic consumer group protocol's state machine, Kafka's:
//
//	Empty --join--> PreparingRebalance --all joined or rebalance timeout-->
//	CompletingRebalance --leader's SyncGroup--> Stable
//
// A join with new metadata, a leader's rejoin, a leave or a session timeout
// sends a CompletingRebalance or Stable group back to PreparingRebalance;
// a rebalance that ends with no member leaves it Empty; DeleteGroups makes
// an Empty group Dead. Every change happens under the group's mutex;
// requests that must wait (JoinGroup until the rebalance completes,
// SyncGroup until the leader's assignment) are answered later with
// r.respond, from the request that completes them or from a timer.

type groupState int8

const (
	groupEmpty groupState = iota
	groupPreparingRebalance
	groupCompletingRebalance
	groupStable
	groupDead
)

func (s groupState) String() string {
	switch s {
	case groupEmpty:
		return "Empty"
	case groupPreparingRebalance:
		return "PreparingRebalance"
	case groupCompletingRebalance:
		return "CompletingRebalance"
	case groupStable:
		return "Stable"
	}
	return "Dead"
}

// groupMember is one member of a classic group.
type groupMember struct {
	id         string
	instanceID *string
	clientID   string
	clientHost string
	// From the member's latest JoinGroup.
	protocolType     string
	protocols        []kmsg.JoinGroupRequestProtocol
	sessionTimeout   int32
	rebalanceTimeout int32

	assignment []byte
	// waiting is the member's JoinGroup or SyncGroup waiting for an
	// answer, or nil.
	waiting *request
	// session is the session timer; sessionSeq tells a stale timer.
	session    *time.Timer
	sessionSeq uint64
}

// offsetEntry is one committed offset.
type offsetEntry struct {
	offset      int64
	leaderEpoch int32
	metadata    string
	commitTime  int64 // ms
}

type group struct {
	c    *groupCoordinator
	name string
	part int32 // its __consumer_offsets partition

	state        groupState
	protocolType string
	protocol     string
	generation   int32
	leader       string
	stateTime    time.Time

	members map[string]*groupMember
	pending map[string]*groupMember // KIP-394: ids handed out, not joined yet
	static  map[string]string       // group.instance.id -> member id
	nJoin   int                     // members with a JoinGroup waiting
	// pendingSync are the members that have not sent SyncGroup in
	// CompletingRebalance.
	pendingSync map[string]bool

	rebalanceTimer *time.Timer
	timerSeq       uint64 // tells stale rebalance/sync timers
	// initialDelay: a rebalance out of Empty, started at initialStart,
	// waits group.initial.rebalance.delay.ms for more members (extended
	// per new member, up to the rebalance timeout).
	initialDelay bool
	initialStart time.Time

	offsets map[partitionKey]offsetEntry
}

func (g *group) protocolCounts() map[string]int {
	n := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			n[p.Name]++
		}
	}
	return n
}

// protocolsMatch is Kafka's supportsProtocols: the type must match the
// group's and one of the protocols must be supported by every member.
func (g *group) protocolsMatch(ptype string, ps []kmsg.JoinGroupRequestProtocol) bool {
	if ptype == "" || len(ps) == 0 {
		return false
	}
	if len(g.members) == 0 {
		return g.protocolType == "" || g.state == groupEmpty || g.protocolType == ptype
	}
	if ptype != g.protocolType {
		return false
	}
	counts := g.protocolCounts()
	for _, p := range ps {
		if counts[p.Name] == len(g.members) {
			return true
		}
	}
	return false
}

func (g *group) setState(s groupState) {
	g.state = s
	g.stateTime = time.Now()
}

// rebalance moves the group to PreparingRebalance (answering syncs that
// wait with REBALANCE_IN_PROGRESS) and completes it when every member has
// joined, or at the rebalance timeout.
func (g *group) rebalance() {
	if g.state == groupCompletingRebalance {
		for _, m := range g.members {
			m.assignment = nil
			if m.waiting != nil {
				if sreq, ok := m.waiting.kreq.(*kmsg.SyncGroupRequest); ok {
					resp := sreq.ResponseKind().(*kmsg.SyncGroupResponse)
					resp.ErrorCode = kerr.RebalanceInProgress.Code
					g.reply(m, resp)
				}
			}
		}
	}
	if g.state == groupEmpty && g.c.initialDelay() > 0 {
		g.initialDelay = true
		g.initialStart = time.Now()
	}
	if g.state != groupPreparingRebalance {
		g.setState(groupPreparingRebalance)
	}
	g.pendingSync = nil
	g.timerSeq++
	if g.rebalanceTimer != nil {
		g.rebalanceTimer.Stop()
		g.rebalanceTimer = nil
	}
	if g.initialDelay {
		// Kafka's InitialDelayedJoin: wait the delay, extended by each new
		// member, never past the rebalance timeout.
		left := time.Duration(g.maxRebalanceTimeout())*time.Millisecond - time.Since(g.initialStart)
		d := min(g.c.initialDelay(), max(left, 0))
		g.after(d, func() {
			g.initialDelay = false
			if g.nJoin >= len(g.members) || time.Since(g.initialStart) >= time.Duration(g.maxRebalanceTimeout())*time.Millisecond {
				g.completeRebalance()
				return
			}
			g.rebalance()
		})
		return
	}
	if g.nJoin >= len(g.members) {
		g.completeRebalance()
		return
	}
	g.after(time.Duration(g.maxRebalanceTimeout())*time.Millisecond, g.completeRebalance)
}

// after runs fn under the group's lock after d, unless another rebalance
// or sync timer was set meanwhile.
func (g *group) after(d time.Duration, fn func()) {
	seq := g.timerSeq
	g.rebalanceTimer = time.AfterFunc(d, func() {
		g.c.mu.Lock()
		defer g.c.mu.Unlock()
		if g.timerSeq != seq || g.c.groups[g.name] != g || g.c.closed.Load() {
			return
		}
		g.rebalanceTimer = nil
		fn()
	})
}

func (g *group) maxRebalanceTimeout() int32 {
	var mx int32
	for _, m := range g.members {
		mx = max(mx, m.rebalanceTimeout)
	}
	return mx
}

// completeRebalance ends PreparingRebalance: members that did not rejoin
// are dropped, the generation moves on, the protocol is chosen by vote,
// the first joined member (or the old leader) leads, and every JoinGroup
// is answered.
func (g *group) completeRebalance() {
	if g.state != groupPreparingRebalance {
		return
	}
	g.timerSeq++
	if g.rebalanceTimer != nil {
		g.rebalanceTimer.Stop()
		g.rebalanceTimer = nil
	}
	g.initialDelay = false
	for _, m := range g.members {
		if m.waiting == nil {
			g.removeMember(m)
		} else if _, ok := m.waiting.kreq.(*kmsg.JoinGroupRequest); !ok {
			g.removeMember(m) // answers the stray request; cannot happen
		}
	}
	g.nJoin = 0
	g.generation++
	if len(g.members) == 0 {
		g.setState(groupEmpty)
		g.protocol, g.leader = "", ""
		g.persistMetadata()
		return
	}
	if _, ok := g.members[g.leader]; !ok {
		g.leader = ""
		for id := range g.members {
			if g.leader == "" || id < g.leader {
				g.leader = id
			}
		}
	}
	// Vote: each member votes for its first protocol all support.
	counts := g.protocolCounts()
	votes := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if counts[p.Name] == len(g.members) {
				votes[p.Name]++
				break
			}
		}
	}
	g.protocol = ""
	best := -1
	for _, p := range g.members[g.leader].protocols { // ties go to the leader's preference
		if v, ok := votes[p.Name]; ok && v > best {
			g.protocol, best = p.Name, v
		}
	}
	g.setState(groupCompletingRebalance)
	g.pendingSync = map[string]bool{}
	for _, m := range g.members {
		g.pendingSync[m.id] = true
		jreq := m.waiting.kreq.(*kmsg.JoinGroupRequest)
		resp := jreq.ResponseKind().(*kmsg.JoinGroupResponse)
		g.fillJoin(m.id, resp)
		g.reply(m, resp)
	}
	g.persistMetadata()
	// Members that do not sync within the rebalance timeout are dropped.
	gen := g.generation
	g.after(time.Duration(g.maxRebalanceTimeout())*time.Millisecond, func() {
		if g.generation != gen || g.state != groupCompletingRebalance {
			return
		}
		for id := range g.pendingSync {
			if m := g.members[id]; m != nil {
				g.removeMember(m)
			}
		}
		g.rebalance()
	})
}

func (g *group) fillJoin(memberID string, resp *kmsg.JoinGroupResponse) {
	resp.Generation = g.generation
	resp.ProtocolType = kmsg.StringPtr(g.protocolType)
	resp.Protocol = kmsg.StringPtr(g.protocol)
	resp.LeaderID = g.leader
	resp.MemberID = memberID
	if memberID == g.leader {
		for _, m := range g.members {
			jm := kmsg.NewJoinGroupResponseMember()
			jm.MemberID, jm.InstanceID = m.id, m.instanceID
			for _, p := range m.protocols {
				if p.Name == g.protocol {
					jm.ProtocolMetadata = p.Metadata
				}
			}
			resp.Members = append(resp.Members, jm)
		}
	}
}

// completeSync stores the leader's assignment, answers every waiting
// SyncGroup and makes the group Stable.
func (g *group) completeSync(req *kmsg.SyncGroupRequest) {
	for _, m := range g.members {
		m.assignment = nil
	}
	for _, a := range req.GroupAssignment {
		if m := g.members[a.MemberID]; m != nil {
			// The request's bytes alias its frame, reused once it is served.
			m.assignment = bytes.Clone(a.MemberAssignment)
		}
	}
	g.timerSeq++
	if g.rebalanceTimer != nil {
		g.rebalanceTimer.Stop()
		g.rebalanceTimer = nil
	}
	g.setState(groupStable)
	g.pendingSync = nil
	for _, m := range g.members {
		if m.waiting == nil {
			continue
		}
		if sreq, ok := m.waiting.kreq.(*kmsg.SyncGroupRequest); ok {
			resp := sreq.ResponseKind().(*kmsg.SyncGroupResponse)
			g.fillSync(m, resp)
			g.reply(m, resp)
		}
	}
	g.persistMetadata()
}

func (g *group) fillSync(m *groupMember, resp *kmsg.SyncGroupResponse) {
	resp.ProtocolType = kmsg.StringPtr(g.protocolType)
	resp.Protocol = kmsg.StringPtr(g.protocol)
	resp.MemberAssignment = m.assignment
	if len(resp.MemberAssignment) == 0 && g.protocolType == "consumer" {
		// An empty ConsumerMemberAssignment, so every client can decode it.
		a := kmsg.NewConsumerMemberAssignment()
		resp.MemberAssignment = a.AppendTo(nil)
	}
}

// reply answers m's waiting request and restarts its session.
func (g *group) reply(m *groupMember, resp kmsg.Response) {
	r := m.waiting
	m.waiting = nil
	if r != nil {
		r.respond(resp)
	}
	g.heartbeat(m)
}

// heartbeat restarts m's session timer: at its end, m is removed and the
// group rebalances.
func (g *group) heartbeat(m *groupMember) {
	if m.session != nil {
		m.session.Stop()
	}
	m.sessionSeq++
	seq := m.sessionSeq
	m.session = time.AfterFunc(time.Duration(m.sessionTimeout)*time.Millisecond, func() {
		g.c.mu.Lock()
		defer g.c.mu.Unlock()
		if m.sessionSeq != seq || g.c.groups[g.name] != g || g.c.closed.Load() {
			return
		}
		if g.pending[m.id] == m {
			delete(g.pending, m.id)
			return
		}
		if g.members[m.id] != m || m.waiting != nil {
			return // a member waiting in JoinGroup is bounded by the rebalance timeout
		}
		g.removeMember(m)
		g.memberLeft()
	})
}

// memberLeft rebalances after a member went away (or empties the group).
func (g *group) memberLeft() {
	switch g.state {
	case groupStable, groupCompletingRebalance, groupPreparingRebalance:
		g.rebalance()
	}
}

// removeMember drops m without rebalancing.
func (g *group) removeMember(m *groupMember) {
	if m.session != nil {
		m.session.Stop()
	}
	m.sessionSeq++
	delete(g.members, m.id)
	delete(g.pendingSync, m.id)
	if m.instanceID != nil && g.static[*m.instanceID] == m.id {
		delete(g.static, *m.instanceID)
	}
	if m.waiting != nil {
		if _, ok := m.waiting.kreq.(*kmsg.JoinGroupRequest); ok {
			g.nJoin--
		}
		// Its waiting request gets UNKNOWN_MEMBER_ID.
		switch req := m.waiting.kreq.(type) {
		case *kmsg.JoinGroupRequest:
			resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
			resp.ErrorCode, resp.Generation, resp.MemberID = kerr.UnknownMemberID.Code, -1, m.id
			m.waiting.respond(resp)
		case *kmsg.SyncGroupRequest:
			resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
			resp.ErrorCode = kerr.UnknownMemberID.Code
			m.waiting.respond(resp)
		}
		m.waiting = nil
	}
}

// cloneProtocols copies a JoinGroup's protocols for a member to keep:
// kmsg decodes bytes fields as slices of the request frame, which netio
// reuses once the frame is served (strings are copies).
func cloneProtocols(ps []kmsg.JoinGroupRequestProtocol) []kmsg.JoinGroupRequestProtocol {
	out := make([]kmsg.JoinGroupRequestProtocol, len(ps))
	for i, p := range ps {
		out[i] = p
		out[i].Metadata = bytes.Clone(p.Metadata)
	}
	return out
}

func (m *groupMember) sameProtocols(ps []kmsg.JoinGroupRequestProtocol) bool {
	if len(m.protocols) != len(ps) {
		return false
	}
	for i := range ps {
		if m.protocols[i].Name != ps[i].Name || !bytes.Equal(m.protocols[i].Metadata, ps[i].Metadata) {
			return false
		}
	}
	return true
}

// validateInstance is Kafka's static member check.
func (g *group) validateInstance(instanceID *string, memberID string) int16 {
	if instanceID == nil {
		return 0
	}
	known, ok := g.static[*instanceID]
	if !ok {
		return kerr.UnknownMemberID.Code
	}
	if known != memberID {
		return kerr.FencedInstanceID.Code
	}
	return 0
}
