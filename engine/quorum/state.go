package quorum

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/weirmq/weir/logstore"
)

// StateFile is the file, in the metadata log's directory, that keeps the
// node's Raft hard state, as Kafka's quorum-state keeps its election
// state there.
const StateFile = "quorum-state"

// quorumState is the file's JSON: Kafka's QuorumStateData (data_version
// 0) with its field names, which carry etcd raft's term (leaderEpoch)
// and vote (votedId), and one field of Weir's for the commit index.
// Kafka's readers ignore what they do not know.
type quorumState struct {
	ClusterID     string     `json:"clusterId"`
	LeaderID      int32      `json:"leaderId"`    // the leader when written, -1 if none known
	LeaderEpoch   int32      `json:"leaderEpoch"` // the Raft term
	VotedID       int32      `json:"votedId"`     // the vote in this term, -1 if none
	AppliedOffset int64      `json:"appliedOffset"`
	CurrentVoters []stateVtr `json:"currentVoters"`
	DataVersion   int16      `json:"data_version"`
	// CommitIndex is a commit index this node knew when writing: a lower
	// bound, raft learns the rest from the leader (see doc.go).
	CommitIndex uint64 `json:"weirCommitIndex"`
}

type stateVtr struct {
	VoterID int32 `json:"voterId"`
}

// errNoState: dir has no quorum-state.
var errNoState = errors.New("no " + StateFile)

// readState reads dir's quorum-state; errNoState when there is none.
func readState(dir string) (*pb.HardState, error) {
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return &pb.HardState{}, errNoState
	}
	if err != nil {
		return nil, fmt.Errorf("quorum state: %w", err)
	}
	var s quorumState
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("quorum state %s: %w", filepath.Join(dir, StateFile), err)
	}
	if s.DataVersion != 0 || s.LeaderEpoch < 0 {
		return nil, fmt.Errorf("quorum state %s: data_version %d, leaderEpoch %d: not written by Weir",
			filepath.Join(dir, StateFile), s.DataVersion, s.LeaderEpoch)
	}
	vote := uint64(0)
	if s.VotedID >= 0 {
		vote = RaftID(s.VotedID)
	}
	return &pb.HardState{Term: proto.Uint64(uint64(s.LeaderEpoch)), Vote: proto.Uint64(vote),
		Commit: proto.Uint64(s.CommitIndex)}, nil
}

// writeState replaces dir's quorum-state, durably: a temporary file,
// fsynced, renamed over it, the directory fsynced.
func writeState(dir string, hs *pb.HardState, leader int32, voters []int32) error {
	s := quorumState{LeaderID: leader, LeaderEpoch: epochOf(hs.GetTerm()), VotedID: NodeID(hs.GetVote()),
		CurrentVoters: []stateVtr{}, CommitIndex: hs.GetCommit()}
	for _, v := range voters {
		s.CurrentVoters = append(s.CurrentVoters, stateVtr{v})
	}
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := logstore.WriteFileAtomic(filepath.Join(dir, StateFile), data); err != nil {
		return fmt.Errorf("quorum state: %w", err)
	}
	return nil
}
