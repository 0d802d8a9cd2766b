package groups

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Describe fills out (DescribeGroups) for its group: state, protocol
// type, protocol and members with their metadata and assignment once the
// protocol is chosen. It reports false for a group it does not know (out
// says Dead).
func (c *Coordinator) Describe(out *kmsg.DescribeGroupsResponseGroup) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[out.Group]
	if g == nil || g.state == Dead {
		out.State = Dead.String()
		return false
	}
	chosen := g.state == Stable || g.state == CompletingRebalance
	out.State, out.ProtocolType = g.state.String(), g.protocolType
	if chosen {
		out.Protocol = g.protocol
	}
	for _, m := range g.members {
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID, dm.InstanceID, dm.ClientID, dm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
		if chosen {
			for _, p := range m.protocols {
				if p.Name == g.protocol {
					dm.ProtocolMetadata = p.Metadata
				}
			}
		}
		if g.state == Stable {
			dm.MemberAssignment = m.assignment
		}
		out.Members = append(out.Members, dm)
	}
	return true
}

// Listing is one group in List.
type Listing struct {
	Group        string
	ProtocolType string
	State        State
}

// List returns every group but Dead ones, in no order.
func (c *Coordinator) List() []Listing {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Listing
	for name, g := range c.groups {
		if g.state != Dead {
			out = append(out, Listing{Group: name, ProtocolType: g.protocolType, State: g.state})
		}
	}
	return out
}

// Delete deletes an Empty group of partition part (DeleteGroups):
// tombstones for its metadata and every committed offset are appended.
// done is called once with the outcome: at once with GROUP_ID_NOT_FOUND,
// NON_EMPTY_GROUP or the partition's coordinator error, or after the
// append.
func (c *Coordinator) Delete(name string, part int32, done func(code int16)) {
	c.mu.Lock()
	g := c.groups[name]
	code := c.partError(part)
	switch {
	case code != 0:
	case g == nil || g.state == Dead:
		code = kerr.GroupIDNotFound.Code
	case g.state != Empty:
		code = kerr.NonEmptyGroup.Code
	default:
		recs := []Record{g.metadataRecord(true)}
		for pk := range g.offsets {
			recs = append(recs, offsetRecord(name, pk.topic, pk.index, nil))
		}
		g.setState(Dead)
		g.stopTimer()
		delete(c.groups, name)
		c.append(part, recs, done)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	done(code)
}
