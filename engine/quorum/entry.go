package quorum

import (
	"encoding/binary"
	"fmt"
	"math"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/logstore/metalog"
)

// An entry's Data is the record batch it is in the log (see doc.go); the
// base offset and partition leader epoch of a batch in flight are
// whatever its sender had, and every writer stamps its own: they are
// outside the batch's CRC, as Kafka made them for this.
const (
	batchOffsetBase  = 0  // base offset: int64
	batchOffsetEpoch = 12 // partition leader epoch: int32
)

// Kinds of KRaftVoters.Quorum, the first byte of the tagged field.
const (
	quorumSnapshot byte = 'S' // a snapshot's position: see snapshotPosition
	quorumChange   byte = 'C' // a conf change entry: entry type, then its data
)

// epochOf is term as a Kafka leader epoch.
func epochOf(term uint64) int32 {
	if term > math.MaxInt32 {
		panic(fmt.Sprintf("quorum: term %d does not fit a leader epoch", term))
	}
	return int32(term)
}

// encodeEntry returns the batch that holds e at offset base: e's data
// batch, a LeaderChange control batch for an empty entry (a new leader's;
// leader is the leader of e's term, -1 if unknown), or a KRaftVoters
// control batch carrying a conf change. voters are the current voters,
// for the LeaderChange record.
//
// Each node builds these control batches itself (raft sends a new
// leader's empty entry empty), so nothing in them may be local: their
// timestamps are Kafka's NO_TIMESTAMP (-1), and every voter's log holds
// the same bytes.
func encodeEntry(e *pb.Entry, base int64, leader int32, voters []int32) ([]byte, error) {
	const noTimestamp = -1
	epoch := epochOf(e.GetTerm())
	switch e.GetType() {
	case pb.EntryNormal:
		if len(e.GetData()) == 0 {
			vs := make([]metalog.Voter, len(voters))
			for i, v := range voters {
				vs[i] = metalog.Voter{VoterID: v}
			}
			lc := metalog.LeaderChange{LeaderID: leader, Voters: vs, GrantingVoters: []metalog.Voter{}}
			return metalog.EncodeControlBatch(base, epoch, noTimestamp, []metalog.Control{lc}), nil
		}
		n, err := logstore.ValidateBatch(e.GetData(), 0, logstore.OriginReplication)
		if err != nil || n != int64(len(e.GetData())) {
			return nil, fmt.Errorf("entry %d does not hold one record batch: %v", e.GetIndex(), err)
		}
		b := append([]byte(nil), e.GetData()...)
		binary.BigEndian.PutUint64(b[batchOffsetBase:], uint64(base))
		binary.BigEndian.PutUint32(b[batchOffsetEpoch:], uint32(epoch))
		return b, nil
	case pb.EntryConfChange, pb.EntryConfChangeV2:
		q := append([]byte{quorumChange, byte(e.GetType())}, e.GetData()...)
		kv := metalog.KRaftVoters{Voters: []metalog.KRaftVoter{}, Quorum: q}
		return metalog.EncodeControlBatch(base, epoch, noTimestamp, []metalog.Control{kv}), nil
	}
	return nil, fmt.Errorf("entry %d has unknown type %v", e.GetIndex(), e.GetType())
}

// decodeEntry returns the entry at index that batch p of the log holds:
// a conf change for a KRaftVoters batch carrying one, else a normal entry
// whose data is the batch itself (a LeaderChange batch included, so a
// leader sends it on as it is).
func decodeEntry(p []byte, index uint64) (*pb.Entry, error) {
	b := logstore.Batch(p)
	e := &pb.Entry{Index: proto.Uint64(index), Term: proto.Uint64(uint64(b.LeaderEpoch())),
		Type: pb.EntryNormal.Enum()}
	if !b.IsControl() {
		e.Data = append([]byte(nil), p...)
		return e, nil
	}
	d, err := metalog.DecodeBatch(p)
	if err != nil {
		return nil, fmt.Errorf("batch at offset %d: %w", b.BaseOffset(), err)
	}
	if len(d.Controls) == 1 {
		if kv, ok := d.Controls[0].(metalog.KRaftVoters); ok && len(kv.Quorum) >= 2 && kv.Quorum[0] == quorumChange {
			typ := pb.EntryType(kv.Quorum[1])
			if typ != pb.EntryConfChange && typ != pb.EntryConfChangeV2 {
				return nil, fmt.Errorf("batch at offset %d: conf change of entry type %d", b.BaseOffset(), typ)
			}
			e.Type = typ.Enum()
			e.Data = kv.Quorum[2:]
			return e, nil
		}
	}
	e.Data = append([]byte(nil), p...)
	return e, nil
}

// confChange decodes a conf change entry.
func confChange(e *pb.Entry) (pb.ConfChangeI, error) {
	switch e.GetType() {
	case pb.EntryConfChange:
		var cc pb.ConfChange
		if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
			return nil, err
		}
		return &cc, nil
	case pb.EntryConfChangeV2:
		var cc pb.ConfChangeV2
		if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
			return nil, err
		}
		return &cc, nil
	}
	return nil, fmt.Errorf("entry %d is not a conf change", e.GetIndex())
}

// snapshotPosition is what a quorum snapshot carries beyond Kafka's
// snapshot: the Raft index of its last entry, that entry's term, the log
// offset it ends at and the configuration. Encoded as KRaftVoters.Quorum:
//
//	'S' | index uvarint | term uvarint | end offset uvarint | ConfState (protobuf)
type snapshotPosition struct {
	Index     uint64
	Term      uint64
	EndOffset int64
	Conf      *pb.ConfState
}

func (p snapshotPosition) encode() []byte {
	b := []byte{quorumSnapshot}
	b = binary.AppendUvarint(b, p.Index)
	b = binary.AppendUvarint(b, p.Term)
	b = binary.AppendUvarint(b, uint64(p.EndOffset))
	cs, err := proto.Marshal(p.Conf)
	if err != nil {
		panic(fmt.Sprintf("quorum: encoding conf state %v: %v", p.Conf, err))
	}
	return append(b, cs...)
}

func decodeSnapshotPosition(q []byte) (snapshotPosition, error) {
	var p snapshotPosition
	if len(q) == 0 || q[0] != quorumSnapshot {
		return p, fmt.Errorf("not a snapshot position")
	}
	q = q[1:]
	var vals [3]uint64
	for i := range vals {
		v, n := binary.Uvarint(q)
		if n <= 0 {
			return p, fmt.Errorf("bad snapshot position")
		}
		vals[i], q = v, q[n:]
	}
	p.Index, p.Term, p.EndOffset = vals[0], vals[1], int64(vals[2])
	p.Conf = new(pb.ConfState)
	if err := proto.Unmarshal(q, p.Conf); err != nil {
		return p, fmt.Errorf("snapshot conf state: %w", err)
	}
	return p, nil
}

// snapshotHeader is the KRaftVoters record of a quorum snapshot's header
// batch: the voters (Kafka ids) and the position.
func snapshotHeader(p snapshotPosition) metalog.KRaftVoters {
	kv := metalog.KRaftVoters{Voters: []metalog.KRaftVoter{}, Quorum: p.encode()}
	for _, id := range p.Conf.GetVoters() {
		kv.Voters = append(kv.Voters, metalog.KRaftVoter{VoterID: NodeID(id), Endpoints: []metalog.KRaftEndpoint{}})
	}
	return kv
}

// readSnapshotPosition finds the position in a quorum snapshot file.
func readSnapshotPosition(data []byte) (snapshotPosition, error) {
	cs, err := metalog.HeaderControls(data)
	if err != nil {
		return snapshotPosition{}, err
	}
	for _, c := range cs {
		if kv, ok := c.(metalog.KRaftVoters); ok && len(kv.Quorum) > 0 && kv.Quorum[0] == quorumSnapshot {
			return decodeSnapshotPosition(kv.Quorum)
		}
	}
	return snapshotPosition{}, fmt.Errorf("not a quorum snapshot: its header holds no Raft position")
}

// voterIDs are the Kafka ids of cs's voters.
func voterIDs(cs *pb.ConfState) []int32 {
	out := make([]int32, 0, len(cs.GetVoters()))
	for _, id := range cs.GetVoters() {
		out = append(out, NodeID(id))
	}
	return out
}

// isEmptySnap says whether raft handed no snapshot.
func isEmptySnap(s *pb.Snapshot) bool { return s == nil || raft.IsEmptySnap(s) }
