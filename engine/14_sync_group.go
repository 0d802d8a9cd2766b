package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SyncGroup: v0-v5
//
// Behavior:
// * In CompletingRebalance a member's sync waits for the leader's, whose
//   assignment answers every member and makes the group Stable; in Stable
//   a member gets its assignment at once; in PreparingRebalance
//   REBALANCE_IN_PROGRESS.
// * UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID (static
//   members) and, v5+, INCONSISTENT_GROUP_PROTOCOL for a protocol type or
//   name not the group's.

func init() { register(api{key: 14, min: 0, max: 5, handle: handleSyncGroup}) }

func handleSyncGroup(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.SyncGroupRequest)
	if code := memberGroupError(b, req.Group); code != 0 {
		resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = code
		return resp, nil
	}
	return b.coord().Sync(req, r.respond), nil
}
