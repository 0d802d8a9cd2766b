package groups

import (
	"encoding/binary"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Replay rebuilds the groups and offsets from the records of the
// __consumer_offsets partitions this broker leads, read in log order: the
// last record per key wins, tombstones delete. Until Done the coordinator
// answers nothing (Loaded is false) and Replay holds its lock.
type Replay struct {
	c     *Coordinator
	metas map[string]*kmsg.GroupMetadataValue // nil value: a tombstone
}

// Replay starts a replay.
func (c *Coordinator) Replay() *Replay {
	c.mu.Lock()
	return &Replay{c: c, metas: map[string]*kmsg.GroupMetadataValue{}}
}

// Record takes one record of partition part. Records of unknown or
// undecodable keys and values are skipped, as Kafka skips them.
func (r *Replay) Record(part int32, key, value []byte) {
	if len(key) < 2 {
		return
	}
	c := r.c
	switch binary.BigEndian.Uint16(key) {
	case 0, 1:
		var k kmsg.OffsetCommitKey
		if k.ReadFrom(key) != nil {
			return
		}
		g := c.getGroup(k.Group, part, true)
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
		c.getGroup(k.Group, part, true)
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

// Done ends the replay: groups take their last metadata (a group with
// members is Stable, each member with a fresh session), and the
// coordinator is loaded. It returns the number of groups.
func (r *Replay) Done() int {
	c := r.c
	defer c.loaded.Store(true)
	defer c.mu.Unlock()
	for name, v := range r.metas {
		g := c.groups[name]
		if v == nil {
			if len(g.offsets) == 0 {
				delete(c.groups, name)
			}
			continue
		}
		g.restore(v)
	}
	return len(c.groups)
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
