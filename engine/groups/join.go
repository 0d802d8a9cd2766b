package groups

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Client names the connection a JoinGroup came on.
type Client struct {
	ID   string // the request header's client id
	Host string // "/" and the peer's IP, as Kafka shows it
}

// Join handles a JoinGroup for the group of __consumer_offsets partition
// part (NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS unless it is
// loaded). It returns the answer, or nil when the request waits for the
// rebalance to complete: respond is then called once with the answer,
// under the coordinator's lock, by the request or Tick that completes it.
func (c *Coordinator) Join(req *kmsg.JoinGroupRequest, part int32, cl Client,
	respond func(kmsg.Response)) kmsg.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	resp.Generation = -1
	fail := func(code int16) kmsg.Response { resp.ErrorCode = code; return resp }
	if code := c.partError(part); code != 0 {
		return fail(code)
	}
	cfg := c.opts.Config()
	if req.SessionTimeoutMillis < cfg.MinSessionTimeoutMs || req.SessionTimeoutMillis > cfg.MaxSessionTimeoutMs {
		return fail(kerr.InvalidSessionTimeout.Code)
	}
	if req.Version == 0 {
		req.RebalanceTimeoutMillis = req.SessionTimeoutMillis
	}
	g := c.getGroup(req.Group, part, req.MemberID == "")
	if g == nil {
		return fail(kerr.UnknownMemberID.Code)
	}
	if g.state == Dead {
		return fail(kerr.CoordinatorNotAvailable.Code)
	}
	if !g.protocolsMatch(req.ProtocolType, req.Protocols) {
		if len(g.members) == 0 && g.state == Empty && len(g.offsets) == 0 {
			delete(c.groups, g.name)
		}
		return fail(kerr.InconsistentGroupProtocol.Code)
	}
	w := &waiter{join: req, respond: respond}
	newMember := func() *member {
		m := &member{id: newMemberID(cl.ID, req.InstanceID), instanceID: req.InstanceID,
			clientID: cl.ID, clientHost: cl.Host}
		m.setJoin(req)
		return m
	}
	if req.MemberID == "" {
		if req.InstanceID != nil {
			if old, ok := g.static[*req.InstanceID]; ok && g.members[old] != nil {
				return g.replaceStatic(w, g.members[old], newMember())
			}
		}
		if int32(len(g.members)+len(g.pending)) >= cfg.MaxSize {
			return fail(kerr.GroupMaxSizeReached.Code)
		}
		m := newMember()
		if req.Version >= 4 && req.InstanceID == nil {
			// KIP-394: the member must come back with this id.
			g.pending[m.id] = m
			g.heartbeat(m)
			resp.MemberID = m.id
			return fail(kerr.MemberIDRequired.Code)
		}
		if req.InstanceID != nil {
			g.static[*req.InstanceID] = m.id
		}
		g.addMember(w, m)
		return nil
	}
	if code := g.validateInstance(req.InstanceID, req.MemberID); code != 0 {
		return fail(code)
	}
	if m := g.pending[req.MemberID]; m != nil {
		delete(g.pending, m.id)
		m.sessionEnd = zeroTime
		if int32(len(g.members)) >= cfg.MaxSize {
			return fail(kerr.GroupMaxSizeReached.Code)
		}
		m.setJoin(req)
		g.addMember(w, m)
		return nil
	}
	m := g.members[req.MemberID]
	if m == nil {
		return fail(kerr.UnknownMemberID.Code)
	}
	switch g.state {
	case PreparingRebalance:
		g.updateMember(w, m)
		return nil
	case CompletingRebalance:
		if m.sameProtocols(req.Protocols) {
			// A retried join: the same answer again.
			g.fillJoin(m.id, resp)
			g.heartbeat(m)
			return resp
		}
		g.updateMember(w, m)
		return nil
	case Stable:
		if m.id != g.leader && m.sameProtocols(req.Protocols) {
			g.fillJoin(m.id, resp)
			g.heartbeat(m)
			return resp
		}
		g.updateMember(w, m)
		return nil
	}
	return fail(kerr.UnknownMemberID.Code)
}

// setJoin takes what a member's JoinGroup tells of it.
func (m *member) setJoin(req *kmsg.JoinGroupRequest) {
	m.protocolType, m.protocols = req.ProtocolType, cloneProtocols(req.Protocols)
	m.sessionTimeout, m.rebalanceTimeout = req.SessionTimeoutMillis, req.RebalanceTimeoutMillis
}

func (g *group) addMember(w *waiter, m *member) {
	if len(g.members) == 0 {
		g.protocolType = m.protocolType
	}
	g.members[m.id] = m
	m.waiting = w
	g.nJoin++
	m.sessionEnd = zeroTime
	if g.state == PreparingRebalance && !g.initialDelay && g.nJoin < len(g.members) {
		return // the rebalance under way takes it in
	}
	// Otherwise a rebalance starts, or a new member extends the initial
	// delay.
	g.rebalance()
}

func (g *group) updateMember(w *waiter, m *member) {
	m.setJoin(w.join)
	// A join replacing an older join (a retry) or a sync still waiting.
	g.failWaiting(m, kerr.RebalanceInProgress.Code)
	m.waiting = w
	g.nJoin++
	m.sessionEnd = zeroTime
	if g.state == PreparingRebalance && !g.initialDelay {
		if g.nJoin >= len(g.members) {
			g.completeRebalance()
		}
		return
	}
	if g.state != PreparingRebalance {
		g.rebalance()
	}
}

// failWaiting answers the join or sync m is parked on, if any, with code.
func (g *group) failWaiting(m *member, code int16) {
	w := m.waiting
	if w == nil {
		return
	}
	m.waiting = nil
	switch {
	case w.join != nil:
		resp := w.join.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode, resp.Generation = code, -1
		w.respond(resp)
		g.nJoin--
	case w.sync != nil:
		resp := w.sync.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = code
		w.respond(resp)
	}
}

// replaceStatic is KIP-345: a static member rejoining without its member
// id replaces the old one (fenced); when nothing changed in a Stable group
// it gets its old assignment back without a rebalance.
func (g *group) replaceStatic(w *waiter, old, m *member) kmsg.Response {
	req := w.join
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	m.assignment = old.assignment
	g.failWaiting(old, kerr.FencedInstanceID.Code)
	same := old.sameProtocols(req.Protocols)
	wasLeader := g.leader == old.id
	old.sessionEnd = zeroTime
	delete(g.members, old.id)
	delete(g.pendingSync, old.id)
	g.members[m.id] = m
	g.static[*req.InstanceID] = m.id
	if wasLeader {
		g.leader = m.id
	}
	if g.state == Stable && same {
		g.fillJoin(m.id, resp)
		if wasLeader && req.Version >= 9 {
			resp.SkipAssignment = true // KIP-814: the old assignment stands
		}
		g.heartbeat(m)
		g.persistMetadata()
		return resp
	}
	m.waiting = w
	g.nJoin++
	if g.state == PreparingRebalance {
		if g.nJoin >= len(g.members) && !g.initialDelay {
			g.completeRebalance()
		}
		return nil
	}
	g.rebalance()
	return nil
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
