package engine

import (
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListGroups: v0-v5
//
// Behavior:
// * Every group this broker coordinates, with its protocol type.
// * v4+: state per group, and a state filter (case-insensitive; empty
//   lists all). v5+: type ("classic": Weir serves only classic groups) and
//   a type filter.

func init() { register(api{key: 16, min: 0, max: 5, handle: handleListGroups}) }

func handleListGroups(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.ListGroupsRequest)
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	match := func(filter []string, v string) bool {
		if len(filter) == 0 {
			return true
		}
		for _, f := range filter {
			if strings.EqualFold(f, v) {
				return true
			}
		}
		return false
	}
	if !match(req.TypesFilter, "classic") {
		return resp, nil
	}
	for _, g := range b.coord().List() {
		if _, code := b.groupError(g.Group); code != 0 {
			continue
		}
		if !match(req.StatesFilter, g.State.String()) {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.ProtocolType, lg.GroupState, lg.GroupType = g.Group, g.ProtocolType, g.State.String(), "classic"
		resp.Groups = append(resp.Groups, lg)
	}
	sort.Slice(resp.Groups, func(i, j int) bool { return resp.Groups[i].Group < resp.Groups[j].Group })
	return resp, nil
}
