package groups

import (
	"bytes"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Sync handles a SyncGroup. It returns the answer, or nil when the
// request waits for the leader's: respond is then called once, under the
// coordinator's lock.
func (c *Coordinator) Sync(req *kmsg.SyncGroupRequest, respond func(kmsg.Response)) kmsg.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	fail := func(code int16) kmsg.Response { resp.ErrorCode = code; return resp }
	g := c.groups[req.Group]
	if g == nil {
		return fail(kerr.UnknownMemberID.Code)
	}
	if code := g.validateInstance(req.InstanceID, req.MemberID); code != 0 {
		return fail(code)
	}
	m := g.members[req.MemberID]
	if m == nil {
		return fail(kerr.UnknownMemberID.Code)
	}
	if req.Generation != g.generation {
		return fail(kerr.IllegalGeneration.Code)
	}
	if (req.ProtocolType != nil && *req.ProtocolType != g.protocolType) ||
		(req.Protocol != nil && *req.Protocol != g.protocol) {
		return fail(kerr.InconsistentGroupProtocol.Code)
	}
	switch g.state {
	case PreparingRebalance:
		return fail(kerr.RebalanceInProgress.Code)
	case CompletingRebalance:
		delete(g.pendingSync, m.id)
		if w := m.waiting; w != nil && w.sync != nil {
			wr := w.sync.ResponseKind().(*kmsg.SyncGroupResponse)
			wr.ErrorCode = kerr.RebalanceInProgress.Code
			w.respond(wr)
		}
		m.waiting = &waiter{sync: req, respond: respond}
		g.heartbeat(m)
		if m.id == g.leader {
			g.completeSync(req)
		}
		return nil
	case Stable:
		g.fillSync(m, resp)
		g.heartbeat(m)
		return resp
	}
	return fail(kerr.UnknownMemberID.Code)
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
	g.stopTimer()
	g.setState(Stable)
	g.pendingSync = nil
	for _, m := range g.members {
		if m.waiting == nil || m.waiting.sync == nil {
			continue
		}
		resp := m.waiting.sync.ResponseKind().(*kmsg.SyncGroupResponse)
		g.fillSync(m, resp)
		g.reply(m, resp)
	}
	g.persistMetadata()
}

func (g *group) fillSync(m *member, resp *kmsg.SyncGroupResponse) {
	resp.ProtocolType = kmsg.StringPtr(g.protocolType)
	resp.Protocol = kmsg.StringPtr(g.protocol)
	resp.MemberAssignment = m.assignment
	if len(resp.MemberAssignment) == 0 && g.protocolType == "consumer" {
		// An empty ConsumerMemberAssignment, so every client can decode it.
		a := kmsg.NewConsumerMemberAssignment()
		resp.MemberAssignment = a.AppendTo(nil)
	}
}
