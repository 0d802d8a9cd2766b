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
	c := b.coord()
	c.mu.Lock()
	for name, g := range c.groups {
		if g.state == groupDead {
			continue
		}
		if _, code := b.groupError(name); code != 0 {
			continue
		}
		if !match(req.StatesFilter, g.state.String()) {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.ProtocolType, lg.GroupState, lg.GroupType = name, g.protocolType, g.state.String(), "classic"
		resp.Groups = append(resp.Groups, lg)
	}
	c.mu.Unlock()
	sort.Slice(resp.Groups, func(i, j int) bool { return resp.Groups[i].Group < resp.Groups[j].Group })
	return resp, nil
}
