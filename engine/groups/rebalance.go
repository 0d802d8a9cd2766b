package groups

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rebalance moves the group to PreparingRebalance (answering syncs that
// wait with REBALANCE_IN_PROGRESS) and completes it when every member has
// joined, or at the rebalance timeout.
func (g *group) rebalance() {
	if g.state == CompletingRebalance {
		for _, m := range g.members {
			m.assignment = nil
			if m.waiting != nil && m.waiting.sync != nil {
				resp := m.waiting.sync.ResponseKind().(*kmsg.SyncGroupResponse)
				resp.ErrorCode = kerr.RebalanceInProgress.Code
				g.reply(m, resp)
			}
		}
	}
	delay := g.c.opts.Config().InitialDelay
	if g.state == Empty && delay > 0 {
		g.initialDelay = true
		g.initialStart = g.c.now()
	}
	if g.state != PreparingRebalance {
		g.setState(PreparingRebalance)
	}
	g.pendingSync = nil
	g.stopTimer()
	if g.initialDelay {
		// Kafka's InitialDelayedJoin: wait the delay, extended by each new
		// member, never past the rebalance timeout.
		left := g.maxRebalanceTimeout() - g.c.now().Sub(g.initialStart)
		g.after(min(delay, max(left, 0)), func() {
			g.initialDelay = false
			if g.nJoin >= len(g.members) || g.c.now().Sub(g.initialStart) >= g.maxRebalanceTimeout() {
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
	g.after(g.maxRebalanceTimeout(), g.completeRebalance)
}

// completeRebalance ends PreparingRebalance: members that did not rejoin
// are dropped, the generation moves on, the protocol is chosen by vote,
// the first joined member (or the old leader) leads, and every JoinGroup
// is answered.
func (g *group) completeRebalance() {
	if g.state != PreparingRebalance {
		return
	}
	g.stopTimer()
	g.initialDelay = false
	for _, m := range g.members {
		if m.waiting == nil || m.waiting.join == nil {
			g.removeMember(m) // answers a stray sync; cannot happen
		}
	}
	g.nJoin = 0
	g.generation++
	if len(g.members) == 0 {
		g.setState(Empty)
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
	g.setState(CompletingRebalance)
	g.pendingSync = map[string]bool{}
	for _, m := range g.members {
		g.pendingSync[m.id] = true
		resp := m.waiting.join.ResponseKind().(*kmsg.JoinGroupResponse)
		g.fillJoin(m.id, resp)
		g.reply(m, resp)
	}
	g.persistMetadata()
	// Members that do not sync within the rebalance timeout are dropped.
	gen := g.generation
	g.after(g.maxRebalanceTimeout(), func() {
		if g.generation != gen || g.state != CompletingRebalance {
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

// reply answers m's waiting request and restarts its session.
func (g *group) reply(m *member, resp kmsg.Response) {
	w := m.waiting
	m.waiting = nil
	if w != nil {
		w.respond(resp)
	}
	g.heartbeat(m)
}
