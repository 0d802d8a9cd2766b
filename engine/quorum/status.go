package quorum

import (
	"slices"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/tracker"
)

// Role is a node's part in the quorum.
type Role string

const (
	RoleFollower     Role = "follower"
	RolePreCandidate Role = "pre-candidate"
	RoleCandidate    Role = "candidate"
	RoleLeader       Role = "leader"
	RoleStopped      Role = "stopped"
)

// Status is where a node stands, for DescribeQuorum and
// `weir cluster status`.
type Status struct {
	Node   int32
	Role   Role
	Leader int32  // -1 when none is known
	Term   uint64 // Kafka's leader epoch
	// Raft indexes: the last entry, the last committed, the last applied.
	LastIndex, Commit, Applied uint64
	// LogEndOffset and HighWatermark are the same points as offsets of
	// the metadata log: after the last entry, after the last committed.
	LogEndOffset, HighWatermark int64
	// Voters are the leader's view of each voter (itself included), by
	// node id; nil on other nodes.
	Voters []VoterStatus
}

// VoterStatus is a voter's progress as the leader sees it.
type VoterStatus struct {
	Node  int32
	Match uint64 // the last entry known to match the leader's
	// LogEndOffset is the offset after Match's batch (Kafka's voter log
	// end offset); -1 when Match is below the leader's snapshot.
	LogEndOffset int64
	// LastContact is when the leader last heard from it (zero: never;
	// for the leader itself, now).
	LastContact time.Time
}

// Status returns the node's status; Role is RoleStopped once it stopped.
func (n *Node) Status() Status {
	var s Status
	ok := n.do(func() { s = n.status() })
	if !ok {
		return Status{Node: n.cfg.NodeID, Role: RoleStopped, Leader: -1}
	}
	return s
}

func (n *Node) status() Status {
	bs := n.rn.BasicStatus()
	s := Status{Node: n.cfg.NodeID, Leader: NodeID(bs.Lead), Term: bs.GetTerm(),
		LastIndex: n.st.lastIndex(), Commit: bs.GetCommit(), Applied: n.applied,
		LogEndOffset: n.st.log.EndOffset(), HighWatermark: n.st.endOffset(bs.GetCommit())}
	switch bs.RaftState {
	case raft.StateLeader:
		s.Role = RoleLeader
	case raft.StateCandidate:
		s.Role = RoleCandidate
	case raft.StatePreCandidate:
		s.Role = RolePreCandidate
	default:
		s.Role = RoleFollower
	}
	if s.Role != RoleLeader {
		return s
	}
	now := time.Now()
	n.rn.WithProgress(func(id uint64, typ raft.ProgressType, pr tracker.Progress) {
		if typ != raft.ProgressTypePeer {
			return
		}
		v := VoterStatus{Node: NodeID(id), Match: pr.Match, LogEndOffset: n.st.endOffset(pr.Match),
			LastContact: n.contact[id]}
		if id == n.id {
			v.LastContact = now
		}
		s.Voters = append(s.Voters, v)
	})
	slices.SortFunc(s.Voters, func(a, b VoterStatus) int { return int(a.Node - b.Node) })
	return s
}
