package groups

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Heartbeat handles a Heartbeat and returns its error code.
func (c *Coordinator) Heartbeat(req *kmsg.HeartbeatRequest) int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[req.Group]
	if g == nil {
		return kerr.UnknownMemberID.Code
	}
	if code := g.validateInstance(req.InstanceID, req.MemberID); code != 0 {
		return code
	}
	m := g.members[req.MemberID]
	if m == nil {
		return kerr.UnknownMemberID.Code
	}
	if req.Generation != g.generation {
		return kerr.IllegalGeneration.Code
	}
	switch g.state {
	case PreparingRebalance:
		g.heartbeat(m)
		return kerr.RebalanceInProgress.Code
	case CompletingRebalance, Stable:
		g.heartbeat(m)
		return 0
	}
	return kerr.UnknownMemberID.Code
}

// Leave removes members (by member id, or by instance id for static
// members) and rebalances; one answer per member, in order.
func (c *Coordinator) Leave(group string, members []kmsg.LeaveGroupRequestMember) []kmsg.LeaveGroupResponseMember {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[group]
	var out []kmsg.LeaveGroupResponseMember
	left := false
	for _, lm := range members {
		o := kmsg.NewLeaveGroupResponseMember()
		o.MemberID, o.InstanceID = lm.MemberID, lm.InstanceID
		switch {
		case g == nil:
			o.ErrorCode = kerr.UnknownMemberID.Code
		case lm.InstanceID != nil:
			id, ok := g.static[*lm.InstanceID]
			switch {
			case !ok:
				o.ErrorCode = kerr.UnknownMemberID.Code
			case lm.MemberID != "" && lm.MemberID != id:
				o.ErrorCode = kerr.FencedInstanceID.Code
			default:
				if m := g.members[id]; m != nil {
					g.removeMember(m)
					left = true
				}
			}
		default:
			if m := g.members[lm.MemberID]; m != nil {
				g.removeMember(m)
				left = true
			} else if p := g.pending[lm.MemberID]; p != nil {
				delete(g.pending, p.id)
				p.sessionEnd = zeroTime
			} else {
				o.ErrorCode = kerr.UnknownMemberID.Code
			}
		}
		out = append(out, o)
	}
	if left {
		g.memberLeft()
	}
	return out
}

// memberLeft rebalances after a member went away (or empties the group).
func (g *group) memberLeft() {
	switch g.state {
	case Stable, CompletingRebalance, PreparingRebalance:
		g.rebalance()
	}
}

// removeMember drops m without rebalancing; its waiting request gets
// UNKNOWN_MEMBER_ID.
func (g *group) removeMember(m *member) {
	m.sessionEnd = zeroTime
	delete(g.members, m.id)
	delete(g.pendingSync, m.id)
	if m.instanceID != nil && g.static[*m.instanceID] == m.id {
		delete(g.static, *m.instanceID)
	}
	w := m.waiting
	m.waiting = nil
	switch {
	case w == nil:
	case w.join != nil:
		g.nJoin--
		resp := w.join.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode, resp.Generation, resp.MemberID = kerr.UnknownMemberID.Code, -1, m.id
		w.respond(resp)
	case w.sync != nil:
		resp := w.sync.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = kerr.UnknownMemberID.Code
		w.respond(resp)
	}
}
