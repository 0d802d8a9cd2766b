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
		if !c.Describe(&out) && req.Version >= 6 {
			out.ErrorCode = kerr.GroupIDNotFound.Code
		}
		resp.Groups = append(resp.Groups, out)
	}
	return resp, nil
}
