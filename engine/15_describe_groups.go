package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeGroups: v0-v6
//
// Behavior:
// * Each group's state (Empty, PreparingRebalance, CompletingRebalance,
//   Stable, Dead), protocol type, protocol and, once the protocol is
//   chosen (Stable, CompletingRebalance), members with their metadata
//   and assignment.
// * A group this broker does not know is Dead with no members; v6 adds
//   GROUP_ID_NOT_FOUND for it, as Kafka does. Coordinator errors per group.
// * Authorized operations (v3+): every group operation (READ, DELETE,
//   DESCRIBE) when asked, since Weir has no ACLs.

func init() { register(api{key: 15, min: 0, max: 6, handle: handleDescribeGroups}) }

func handleDescribeGroups(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	c := b.coord()
	for _, name := range req.Groups {
		out := kmsg.NewDescribeGroupsResponseGroup()
		out.Group = name
		if req.IncludeAuthorizedOperations {
			out.AuthorizedOperations = 1<<3 | 1<<6 | 1<<8 // READ, DELETE, DESCRIBE: a group's operations
		}
		if _, code := b.groupError(name); code != 0 {
			out.ErrorCode = code
			resp.Groups = append(resp.Groups, out)
			continue
		}
		c.mu.Lock()
		g := c.groups[name]
		if g == nil || g.state == groupDead {
			out.State = "Dead"
			if req.Version >= 6 {
				out.ErrorCode = kerr.GroupIDNotFound.Code
			}
		} else {
			out.State, out.ProtocolType = g.state.String(), g.protocolType
			if g.state == groupStable || g.state == groupCompletingRebalance {
				out.Protocol = g.protocol
			}
			for _, m := range g.members {
				dm := kmsg.NewDescribeGroupsResponseGroupMember()
				dm.MemberID, dm.InstanceID, dm.ClientID, dm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
				if g.state == groupStable || g.state == groupCompletingRebalance {
					for _, p := range m.protocols {
						if p.Name == g.protocol {
							dm.ProtocolMetadata = p.Metadata
						}
					}
				}
				if g.state == groupStable {
					dm.MemberAssignment = m.assignment
				}
				out.Members = append(out.Members, dm)
			}
		}
		c.mu.Unlock()
		resp.Groups = append(resp.Groups, out)
	}
	return resp, nil
}
