package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetDelete: v0
//
// Behavior:
// * Deletes a group's committed offsets of the given partitions
//   (tombstones written to __consumer_offsets before the answer).
// * A partition of a topic that a member of the group (protocol type
//   "consumer") subscribes to: GROUP_SUBSCRIBED_TO_TOPIC; an unknown
//   group: GROUP_ID_NOT_FOUND; coordinator errors at the top.

func init() { register(api{key: 47, min: 0, max: 0, handle: handleOffsetDelete}) }

func handleOffsetDelete(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.OffsetDeleteRequest)
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	part, code := b.groupError(req.Group)
	if code != 0 {
		resp.ErrorCode = code
		return resp, nil
	}
	return b.coord().DeleteOffsets(req, part, r.respond), nil
}
