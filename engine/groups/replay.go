package groups

import (
	"encoding/binary"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Replay rebuilds the groups and offsets of one __consumer_offsets
// partition from its records, read in log order: the last record per key
// wins, tombstones delete. Load starts it; it collects the records
// without the coordinator's lock, and Done installs the groups, unless a
// Load or Unload of the partition came after it.
type Replay struct {
	c    *Coordinator
	part int32
	seq  uint64
	// groups and metas are the partition's groups as read so far; a nil
	// meta is a tombstone.
	groups map[string]*group
	metas  map[string]*kmsg.GroupMetadataValue
}

// Record takes the partition's next record. Records of unknown or
// undecodable keys and values are skipped, as Kafka skips them.
func (r *Replay) Record(key, value []byte) {
	if len(key) < 2 {
		return
	}
	get := func(name string) *group {
		g := r.groups[name]
		if g == nil {
			g = r.c.newGroup(name, r.part)
			r.groups[name] = g
		}
		return g
	}
	switch binary.BigEndian.Uint16(key) {
	case 0, 1:
		var k kmsg.OffsetCommitKey
		if k.ReadFrom(key) != nil {
			return
		}
		g := get(k.Group)
		pk := partitionKey{k.Topic, k.Partition}
		if value == nil {
			delete(g.offsets, pk)
			return
		}
		var v kmsg.OffsetCommitValue
		if v.ReadFrom(value) != nil {
			return
		}
		g.offsets[pk] = offsetEntry{offset: v.Offset, leaderEpoch: v.LeaderEpoch, metadata: v.Metadata,
			commitTime: v.CommitTimestamp}
	case 2:
		var k kmsg.GroupMetadataKey
		if k.ReadFrom(key) != nil {
			return
		}
		get(k.Group)
		if value == nil {
			r.metas[k.Group] = nil
			return
		}
		v := new(kmsg.GroupMetadataValue)
		if v.ReadFrom(value) != nil {
			return
		}
		r.metas[k.Group] = v
	}
}

// Current says whether the replay is still its partition's load: no Load
// or Unload of the partition came after it and the coordinator is open.
// A reader may stop early when it is not.
func (r *Replay) Current() bool {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	return r.currentLocked()
}

func (r *Replay) currentLocked() bool {
	st := r.c.parts[r.part]
	return !r.c.closed && st != nil && st.seq == r.seq && !st.loaded
}

// Done ends the replay: the groups take their last metadata (a group with
// members is Stable, each member with a fresh session) and serve, and the
// partition is loaded. It returns the partition's number of groups, and
// false (installing nothing) when the replay is no longer current.
func (r *Replay) Done() (int, bool) {
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !r.currentLocked() {
		return 0, false
	}
	n := 0
	for name, g := range r.groups {
		if v, ok := r.metas[name]; ok {
			if v == nil && len(g.offsets) == 0 {
				continue // deleted
			}
			if v != nil {
				g.restore(v)
			}
		}
		c.groups[name] = g
		n++
	}
	c.parts[r.part].loaded = true
	return n, true
}

// restore sets g from its GroupMetadataValue.
func (g *group) restore(v *kmsg.GroupMetadataValue) {
	g.protocolType, g.generation = v.ProtocolType, v.Generation
	if v.Protocol != nil {
		g.protocol = *v.Protocol
	}
	if v.Leader != nil {
		g.leader = *v.Leader
	}
	for _, vm := range v.Members {
		m := &member{id: vm.MemberID, instanceID: vm.InstanceID, clientID: vm.ClientID, clientHost: vm.ClientHost,
			protocolType: v.ProtocolType, sessionTimeout: vm.SessionTimeoutMillis,
			rebalanceTimeout: vm.RebalanceTimeoutMillis, assignment: vm.Assignment}
		if m.rebalanceTimeout <= 0 {
			m.rebalanceTimeout = m.sessionTimeout
		}
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = g.protocol, vm.Subscription
		m.protocols = []kmsg.JoinGroupRequestProtocol{p}
		g.members[m.id] = m
		if m.instanceID != nil {
			g.static[*m.instanceID] = m.id
		}
		g.heartbeat(m)
	}
	if v.CurrentStateTimestamp > 0 {
		g.stateTime = time.UnixMilli(v.CurrentStateTimestamp)
	}
	if len(g.members) > 0 {
		g.state = Stable
	}
}
