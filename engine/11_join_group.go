package engine

import (
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/groups"
)

// JoinGroup: v0-v9
//
// Behavior:
// * Classic group membership with Kafka's state machine (engine/groups): the
//   join waits until every member rejoined or the rebalance timeout, then
//   answers with the generation, the protocol chosen by vote and, for the
//   leader, every member's metadata.
// * v4+: a member joining without an id gets MEMBER_ID_REQUIRED and its id
//   (KIP-394), then joins with it; static members (group.instance.id,
//   KIP-345) join at once, and a static member rejoining a Stable group
//   with unchanged metadata gets its assignment back without a rebalance,
//   fencing the old instance (FENCED_INSTANCE_ID).
// * A protocol type or protocols not matching the group's:
//   INCONSISTENT_GROUP_PROTOCOL; a session timeout outside
//   group.min/max.session.timeout.ms: INVALID_SESSION_TIMEOUT; more than
//   group.max.size members: GROUP_MAX_SIZE_REACHED.
// * A rebalance out of Empty waits group.initial.rebalance.delay.ms for
//   more members, extended per new member up to the rebalance timeout.
// * NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / COORDINATOR_LOAD_IN_PROGRESS
//   as for every group request.

func init() { register(api{key: 11, min: 0, max: 9, handle: handleJoinGroup}) }

func handleJoinGroup(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.JoinGroupRequest)
	part, code := b.groupError(req.Group)
	if code == 0 && req.Group == "" {
		code = invalidGroupID
	}
	if code != 0 {
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode, resp.Generation = code, -1
		return resp, nil
	}
	host := ""
	if a := r.conn.RemoteAddr(); a != nil {
		host = "/" + a.String()
		if i := strings.LastIndexByte(host, ':'); i > 0 {
			host = host[:i]
		}
	}
	cl := groups.Client{ID: r.clientID, Host: host}
	return b.coord().Join(req, part, cl, r.respond), nil
}

// memberGroupError is groupError for the requests of a group's members
// (SyncGroup, Heartbeat, LeaveGroup): an empty group id is
// INVALID_GROUP_ID, as Kafka answers (commits and fetches allow it).
func memberGroupError(b *Broker, group string) int16 {
	if group == "" {
		return invalidGroupID
	}
	_, code := b.groupError(group)
	return code
}
