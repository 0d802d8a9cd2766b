package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Heartbeat: v0-v4
//
// Behavior:
// * Restarts the member's session (session.timeout.ms); a member silent
//   for its session timeout is removed and the group rebalances.
// * REBALANCE_IN_PROGRESS in PreparingRebalance (the member must rejoin),
//   UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID.

func init() { register(api{key: 12, min: 0, max: 4, handle: handleHeartbeat}) }

func handleHeartbeat(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.HeartbeatRequest)
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	if code := memberGroupError(b, req.Group); code != 0 {
		resp.ErrorCode = code
		return resp, nil
	}
	resp.ErrorCode = b.coord().Heartbeat(req)
	return resp, nil
}
