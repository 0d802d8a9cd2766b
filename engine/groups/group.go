package groups

import (
	"bytes"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// State is a classic group's state, Kafka's.
type State int8

// The states, named as Kafka's DescribeGroups and ListGroups name them.
const (
	Empty State = iota
	PreparingRebalance
	CompletingRebalance
	Stable
	Dead
)

func (s State) String() string {
	switch s {
	case Empty:
		return "Empty"
	case PreparingRebalance:
		return "PreparingRebalance"
	case CompletingRebalance:
		return "CompletingRebalance"
	case Stable:
		return "Stable"
	}
	return "Dead"
}

// waiter is a JoinGroup or SyncGroup waiting for its answer.
type waiter struct {
	join    *kmsg.JoinGroupRequest
	sync    *kmsg.SyncGroupRequest
	respond func(kmsg.Response)
}

// member is one member of a classic group.
type member struct {
	id         string
	instanceID *string
	clientID   string
	clientHost string
	// From the member's latest JoinGroup.
	protocolType     string
	protocols        []kmsg.JoinGroupRequestProtocol
	sessionTimeout   int32
	rebalanceTimeout int32

	assignment []byte
	// waiting is the member's JoinGroup or SyncGroup waiting for an
	// answer, or nil.
	waiting *waiter
	// sessionEnd is when the member's session expires (zero: no session
	// running, as while it waits in JoinGroup).
	sessionEnd time.Time
}

// partitionKey names a committed partition.
type partitionKey struct {
	topic string
	index int32
}

// offsetEntry is one committed offset.
type offsetEntry struct {
	offset      int64
	leaderEpoch int32
	metadata    string
	commitTime  int64 // ms
}

type group struct {
	c    *Coordinator
	name string
	part int32 // its __consumer_offsets partition

	state        State
	protocolType string
	protocol     string
	generation   int32
	leader       string
	stateTime    time.Time

	members map[string]*member
	pending map[string]*member // KIP-394: ids handed out, not joined yet
	static  map[string]string  // group.instance.id -> member id
	nJoin   int                // members with a JoinGroup waiting
	// pendingSync are the members that have not sent SyncGroup in
	// CompletingRebalance.
	pendingSync map[string]bool

	// timerEnd and timerFn are the group's one rebalance, initial-delay or
	// sync timer (zero: none); setting another replaces it.
	timerEnd time.Time
	timerFn  func()
	// initialDelay: a rebalance out of Empty, started at initialStart,
	// waits group.initial.rebalance.delay.ms for more members (extended
	// per new member, up to the rebalance timeout).
	initialDelay bool
	initialStart time.Time

	offsets map[partitionKey]offsetEntry
}

func (g *group) setState(s State) {
	g.state = s
	g.stateTime = g.c.now()
}

func (g *group) protocolCounts() map[string]int {
	n := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			n[p.Name]++
		}
	}
	return n
}

// protocolsMatch is Kafka's supportsProtocols: the type must match the
// group's and one of the protocols must be supported by every member.
func (g *group) protocolsMatch(ptype string, ps []kmsg.JoinGroupRequestProtocol) bool {
	if ptype == "" || len(ps) == 0 {
		return false
	}
	if len(g.members) == 0 {
		return g.protocolType == "" || g.state == Empty || g.protocolType == ptype
	}
	if ptype != g.protocolType {
		return false
	}
	counts := g.protocolCounts()
	for _, p := range ps {
		if counts[p.Name] == len(g.members) {
			return true
		}
	}
	return false
}

func (g *group) maxRebalanceTimeout() time.Duration {
	var mx int32
	for _, m := range g.members {
		mx = max(mx, m.rebalanceTimeout)
	}
	return time.Duration(mx) * time.Millisecond
}

// validateInstance is Kafka's static member check.
func (g *group) validateInstance(instanceID *string, memberID string) int16 {
	if instanceID == nil {
		return 0
	}
	known, ok := g.static[*instanceID]
	if !ok {
		return kerr.UnknownMemberID.Code
	}
	if known != memberID {
		return kerr.FencedInstanceID.Code
	}
	return 0
}

// cloneProtocols copies a JoinGroup's protocols for a member to keep:
// kmsg decodes bytes fields as slices of the request frame, which the
// server reuses once the frame is served (strings are copies).
func cloneProtocols(ps []kmsg.JoinGroupRequestProtocol) []kmsg.JoinGroupRequestProtocol {
	out := make([]kmsg.JoinGroupRequestProtocol, len(ps))
	for i, p := range ps {
		out[i] = p
		out[i].Metadata = bytes.Clone(p.Metadata)
	}
	return out
}

func (m *member) sameProtocols(ps []kmsg.JoinGroupRequestProtocol) bool {
	if len(m.protocols) != len(ps) {
		return false
	}
	for i := range ps {
		if m.protocols[i].Name != ps[i].Name || !bytes.Equal(m.protocols[i].Metadata, ps[i].Metadata) {
			return false
		}
	}
	return true
}

// subscribedTopics are the topics the members of a "consumer" group
// subscribe to (from their protocol metadata).
func (g *group) subscribedTopics() map[string]bool {
	out := map[string]bool{}
	if g.protocolType != "consumer" {
		return out
	}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if g.protocol != "" && p.Name != g.protocol {
				continue
			}
			var md kmsg.ConsumerMemberMetadata
			if md.ReadFrom(p.Metadata) == nil {
				for _, t := range md.Topics {
					out[t] = true
				}
			}
			break
		}
	}
	return out
}
