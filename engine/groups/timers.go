package groups

import (
	"time"
)

// Timers are deadlines in the groups, fired by Tick: a member's session,
// and a group's one rebalance, initial-delay or sync timer. The
// coordinator runs no goroutine and sleeps nowhere; the caller runs Tick
// when Wake asks (the engine with a time.Timer, tests with a fake clock).

// Tick fires every deadline at or before now, including those that
// firing arms at or before now.
func (c *Coordinator) Tick(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.wakeAt = time.Time{}
	for fired := true; fired; {
		fired = false
		for _, g := range c.groups {
			if c.groups[g.name] == g && g.tick(now) {
				fired = true
			}
		}
	}
	var next time.Time
	for _, g := range c.groups {
		next = earliest(next, g.nextDeadline())
	}
	if !next.IsZero() {
		c.arm(next)
	}
}

// NextDeadline is the earliest deadline armed, or zero when none is.
func (c *Coordinator) NextDeadline() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var next time.Time
	for _, g := range c.groups {
		next = earliest(next, g.nextDeadline())
	}
	return next
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// arm makes sure Wake was told of a deadline at or before at. c.mu held.
func (c *Coordinator) arm(at time.Time) {
	if !c.wakeAt.IsZero() && !at.Before(c.wakeAt) {
		return
	}
	c.wakeAt = at
	if c.opts.Wake != nil {
		c.opts.Wake(at)
	}
}

func (g *group) nextDeadline() time.Time {
	next := g.timerEnd
	for _, m := range g.members {
		next = earliest(next, m.sessionEnd)
	}
	for _, m := range g.pending {
		next = earliest(next, m.sessionEnd)
	}
	return next
}

// tick fires one of g's deadlines due at now and reports whether it did.
func (g *group) tick(now time.Time) bool {
	for _, m := range g.pending {
		if due(m.sessionEnd, now) {
			m.sessionEnd = time.Time{}
			delete(g.pending, m.id)
			return true
		}
	}
	for _, m := range g.members {
		if due(m.sessionEnd, now) {
			m.sessionEnd = time.Time{}
			if m.waiting != nil {
				return true // a member waiting in JoinGroup is bounded by the rebalance timeout
			}
			g.removeMember(m)
			g.memberLeft()
			return true
		}
	}
	if due(g.timerEnd, now) {
		fn := g.timerFn
		g.stopTimer()
		fn()
		return true
	}
	return false
}

func due(deadline, now time.Time) bool { return !deadline.IsZero() && !now.Before(deadline) }

// after sets g's timer to run fn after d, replacing the one set.
func (g *group) after(d time.Duration, fn func()) {
	g.timerEnd, g.timerFn = g.c.now().Add(d), fn
	g.c.arm(g.timerEnd)
}

func (g *group) stopTimer() { g.timerEnd, g.timerFn = time.Time{}, nil }

// heartbeat restarts m's session: at its end, m is removed and the group
// rebalances.
func (g *group) heartbeat(m *member) {
	m.sessionEnd = g.c.now().Add(time.Duration(m.sessionTimeout) * time.Millisecond)
	g.c.arm(m.sessionEnd)
}

// zeroTime is an unset deadline.
var zeroTime time.Time
