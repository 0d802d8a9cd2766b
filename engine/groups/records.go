package groups

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record is one __consumer_offsets record; a nil Value is a tombstone.
type Record struct{ Key, Value []byte }

// offsetRecord is a committed offset's OffsetCommitKey v1 /
// OffsetCommitValue v3, or its tombstone when e is nil.
func offsetRecord(group, topic string, part int32, e *offsetEntry) Record {
	k := kmsg.NewOffsetCommitKey()
	k.Version, k.Group, k.Topic, k.Partition = 1, group, topic, part
	rec := Record{Key: k.AppendTo(nil)}
	if e != nil {
		v := kmsg.NewOffsetCommitValue()
		v.Version, v.Offset, v.LeaderEpoch, v.Metadata, v.CommitTimestamp = 3, e.offset, e.leaderEpoch, e.metadata, e.commitTime
		rec.Value = v.AppendTo(nil)
	}
	return rec
}

// metadataRecord is the group's GroupMetadataKey v2 / GroupMetadataValue
// v3, or its tombstone when tomb.
func (g *group) metadataRecord(tomb bool) Record {
	k := kmsg.NewGroupMetadataKey()
	k.Version, k.Group = 2, g.name
	rec := Record{Key: k.AppendTo(nil)}
	if tomb {
		return rec
	}
	v := kmsg.NewGroupMetadataValue()
	v.Version, v.ProtocolType, v.Generation = 3, g.protocolType, g.generation
	if g.protocol != "" {
		v.Protocol = kmsg.StringPtr(g.protocol)
	}
	if g.leader != "" {
		v.Leader = kmsg.StringPtr(g.leader)
	}
	v.CurrentStateTimestamp = g.stateTime.UnixMilli()
	for _, m := range g.members {
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID, vm.InstanceID, vm.ClientID, vm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
		vm.RebalanceTimeoutMillis, vm.SessionTimeoutMillis = m.rebalanceTimeout, m.sessionTimeout
		for _, p := range m.protocols {
			if p.Name == g.protocol {
				vm.Subscription = p.Metadata
			}
		}
		vm.Assignment = m.assignment
		v.Members = append(v.Members, vm)
	}
	rec.Value = v.AppendTo(nil)
	return rec
}

// persistMetadata writes the group's metadata, not waiting for it.
func (g *group) persistMetadata() {
	g.c.append(g.part, []Record{g.metadataRecord(false)}, nil)
}

// append hands recs to the Log, to be written under the leadership the
// partition was loaded at; done (if set) gets the outcome. c.mu held.
func (c *Coordinator) append(part int32, recs []Record, done func(code int16)) {
	code := int16(0)
	st := c.parts[part]
	switch {
	case c.closed:
		code = kerr.CoordinatorNotAvailable.Code
	case st == nil: // its groups were unloaded: cannot happen
		code = kerr.NotCoordinator.Code
	}
	if code != 0 {
		if done != nil {
			done(code)
		}
		return
	}
	c.opts.Log.Append(part, st.epoch, recs, done)
}
