package groups

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The coordinator serves the groups of the __consumer_offsets partitions
// the broker leads, as Kafka's GroupCoordinator does with onElection and
// onResignation: Load when the broker becomes a partition's leader (its
// groups answer COORDINATOR_LOAD_IN_PROGRESS until the replay is Done),
// Unload when it stops leading it (its groups are dropped and answer
// NOT_COORDINATOR). The caller makes these calls for a partition in the
// order of its leader epochs (the engine makes them as it publishes each
// image): the last call wins, whatever the order in which replays end.

// partState is a partition led here.
type partState struct {
	epoch  int32  // the leader epoch it was loaded at
	seq    uint64 // the load that made it (Replay.seq)
	loaded bool   // the load is Done
}

// Load is the broker becoming leader of partition part at leader epoch
// epoch. It returns the replay to feed the partition's records to, or nil
// when there is nothing to load: the partition is loaded or loading
// already (a new epoch of the same leadership, as when its ISR changes:
// its groups stay, with the epoch they were loaded at), or the
// coordinator is closed. A replay started earlier and not done yet loses
// to this one.
func (c *Coordinator) Load(part, epoch int32) *Replay {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.parts[part] != nil {
		return nil
	}
	c.seq++
	c.parts[part] = &partState{epoch: epoch, seq: c.seq}
	return &Replay{c: c, part: part, seq: c.seq, groups: map[string]*group{},
		metas: map[string]*kmsg.GroupMetadataValue{}}
}

// Unload is the broker no longer leading partition part: its load, if
// under way, is abandoned, and its groups are dropped: the JoinGroup and
// SyncGroup requests their members wait in are answered NOT_COORDINATOR,
// their timers stop, and commits still being appended change nothing
// here once written. It returns the number of groups dropped.
func (c *Coordinator) Unload(part int32) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.parts, part)
	n := 0
	for name, g := range c.groups {
		if g.part == part {
			g.unload()
			delete(c.groups, name)
			n++
		}
	}
	return n
}

// Loaded says whether partition part's groups are loaded: it is led here
// and its replay is done.
func (c *Coordinator) Loaded(part int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.parts[part]
	return st != nil && st.loaded
}

// Partition tells whether partition part is led here (led: Load was
// called and no Unload since), the leader epoch it was loaded at, and
// whether its groups are loaded.
func (c *Coordinator) Partition(part int32) (epoch int32, led, loaded bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.parts[part]
	if st == nil {
		return -1, false, false
	}
	return st.epoch, true, st.loaded
}

// partError is the coordinator error for the groups of partition part:
// NOT_COORDINATOR when it is not led here, COORDINATOR_LOAD_IN_PROGRESS
// while it loads, else 0. c.mu held.
func (c *Coordinator) partError(part int32) int16 {
	st := c.parts[part]
	switch {
	case st == nil:
		return kerr.NotCoordinator.Code
	case !st.loaded:
		return kerr.CoordinatorLoadInProgress.Code
	}
	return 0
}

// loadedSeq is the load of partition part when it is loaded, else 0.
// c.mu held.
func (c *Coordinator) loadedSeq(part int32) uint64 {
	if st := c.parts[part]; st != nil && st.loaded {
		return st.seq
	}
	return 0
}

// unload ends g as Kafka's onGroupUnloaded does: it is Dead, and the
// requests its members wait in are answered NOT_COORDINATOR, so their
// clients find the new coordinator.
func (g *group) unload() {
	for _, m := range g.members {
		g.failWaiting(m, kerr.NotCoordinator.Code)
		m.sessionEnd = zeroTime
	}
	for _, m := range g.pending {
		m.sessionEnd = zeroTime
	}
	g.stopTimer()
	g.setState(Dead)
}
