package engine

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteGroups: v0-v3
//
// Behavior:
// * An Empty group is deleted: tombstones for its metadata and every
//   committed offset are written to __consumer_offsets, then it answers.
// * A group with members: NON_EMPTY_GROUP; one this broker does not know:
//   GROUP_ID_NOT_FOUND; coordinator errors per group.

func init() { register(api{key: 42, min: 0, max: 3, handle: handleDeleteGroups}) }

func handleDeleteGroups(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DeleteGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	c := b.coord()
	var wg sync.WaitGroup
	for _, name := range req.Groups {
		out := kmsg.NewDeleteGroupsResponseGroup()
		out.Group = name
		resp.Groups = append(resp.Groups, out)
	}
	for i, name := range req.Groups {
		out := &resp.Groups[i]
		part, code := b.groupError(name)
		if code != 0 {
			out.ErrorCode = code
			continue
		}
		wg.Add(1)
		c.Delete(name, part, func(code int16) {
			out.ErrorCode = code
			wg.Done()
		})
	}
	go func() {
		wg.Wait()
		r.respond(resp)
	}()
	return nil, nil
}
