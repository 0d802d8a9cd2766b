package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// LeaveGroup: v0-v5
//
// Behavior:
// * The members leave at once and the group rebalances (or becomes Empty).
// * v3+: several members per request, by member id or, for static
//   members, by group.instance.id (FENCED_INSTANCE_ID when both are given
//   and do not match); one error per member, UNKNOWN_MEMBER_ID for one the
//   group does not have.
// * v0-v2: one member; its error is the top-level error.

func init() { register(api{key: 13, min: 0, max: 5, handle: handleLeaveGroup}) }

func handleLeaveGroup(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.LeaveGroupRequest)
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	if code := memberGroupError(b, req.Group); code != 0 {
		resp.ErrorCode = code
		return resp, nil
	}
	members := req.Members
	if req.Version < 3 {
		m := kmsg.NewLeaveGroupRequestMember()
		m.MemberID = req.MemberID
		members = []kmsg.LeaveGroupRequestMember{m}
	}
	out := b.coord().Leave(req.Group, members)
	if req.Version < 3 {
		resp.ErrorCode = out[0].ErrorCode
	} else {
		resp.Members = out
	}
	return resp, nil
}
