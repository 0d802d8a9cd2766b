package metalog

import (
	"encoding/binary"
	"fmt"
)

// ControlType is the type in a control record's key (Kafka's
// ControlRecordType). These numbers are part of the format.
type ControlType int16

const (
	ControlLeaderChange   ControlType = 2
	ControlSnapshotHeader ControlType = 3
	ControlSnapshotFooter ControlType = 4
)

func (t ControlType) String() string {
	switch t {
	case 0:
		return "Abort"
	case 1:
		return "Commit"
	case ControlLeaderChange:
		return "LeaderChange"
	case ControlSnapshotHeader:
		return "SnapshotHeader"
	case ControlSnapshotFooter:
		return "SnapshotFooter"
	case 5:
		return "KRaftVersion"
	case 6:
		return "KRaftVoters"
	}
	return fmt.Sprintf("Unknown(%d)", int16(t))
}

// Control is a control record of the Raft layer: KRaft writes them in
// control batches, never mixed with metadata records.
type Control interface {
	ControlType() ControlType
}

// LeaderChange is written by a leader at the start of its epoch.
type LeaderChange struct {
	Version        int16   `json:"version"`
	LeaderID       int32   `json:"leaderId"`
	Voters         []Voter `json:"voters"`
	GrantingVoters []Voter `json:"grantingVoters"`
}

// Voter is a voter of the quorum.
type Voter struct {
	VoterID int32 `json:"voterId"`
}

// SnapshotHeader opens a snapshot.
type SnapshotHeader struct {
	Version                   int16 `json:"version"`
	LastContainedLogTimestamp int64 `json:"lastContainedLogTimestamp"`
}

// SnapshotFooter closes a snapshot: one without it is incomplete.
type SnapshotFooter struct {
	Version int16 `json:"version"`
}

func (LeaderChange) ControlType() ControlType   { return ControlLeaderChange }
func (SnapshotHeader) ControlType() ControlType { return ControlSnapshotHeader }
func (SnapshotFooter) ControlType() ControlType { return ControlSnapshotFooter }

// appendControlKey appends a control record's key: version i16 (0), type
// i16. It is not a flexible message.
func appendControlKey(b []byte, t ControlType) []byte {
	return appendInt16(appendInt16(b, 0), int16(t))
}

// controlKeyType reads the type from a control record's key.
func controlKeyType(key []byte) (ControlType, error) {
	if len(key) < 4 {
		return 0, fmt.Errorf("control record key of %d bytes, want 4", len(key))
	}
	if v := int16(binary.BigEndian.Uint16(key)); v != 0 {
		return 0, fmt.Errorf("control record key version %d, only 0 is known", v)
	}
	return ControlType(binary.BigEndian.Uint16(key[2:])), nil
}

// appendControlValue appends c's value in version 0 of its schema (which
// Kafka reads at version 0 whatever the Version field says).
func appendControlValue(b []byte, c Control) []byte {
	switch c := c.(type) {
	case LeaderChange:
		b = appendInt16(b, c.Version)
		b = appendInt32(b, c.LeaderID)
		b = appendVoters(b, c.Voters)
		b = appendVoters(b, c.GrantingVoters)
	case SnapshotHeader:
		b = appendInt16(b, c.Version)
		b = appendInt64(b, c.LastContainedLogTimestamp)
	case SnapshotFooter:
		b = appendInt16(b, c.Version)
	case KRaftVoters:
		return appendKRaftVoters(b, c) // with its tagged fields (raft.go)
	default:
		panic(fmt.Sprintf("metalog: encoding unknown control record %T", c))
	}
	return append(b, 0) // no tagged fields
}

func appendVoters(b []byte, vs []Voter) []byte {
	b = appendUvarint(b, uint32(len(vs)+1))
	for _, v := range vs {
		b = appendInt32(b, v.VoterID)
		b = append(b, 0)
	}
	return b
}

// DecodeControl reads a control record from its key and value.
func DecodeControl(key, value []byte) (Control, error) {
	t, err := controlKeyType(key)
	if err != nil {
		return nil, err
	}
	r := reader{b: value}
	var c Control
	switch t {
	case ControlLeaderChange:
		c = LeaderChange{Version: r.int16(), LeaderID: r.int32(), Voters: readVoters(&r),
			GrantingVoters: readVoters(&r)}
	case ControlSnapshotHeader:
		c = SnapshotHeader{Version: r.int16(), LastContainedLogTimestamp: r.int64()}
	case ControlSnapshotFooter:
		c = SnapshotFooter{Version: r.int16()}
	case ControlKRaftVoters:
		c = readKRaftVoters(&r) // with its tagged fields (raft.go)
	default:
		return nil, fmt.Errorf("control record type %s is not read here", t)
	}
	if t != ControlKRaftVoters {
		r.tags(nil)
	}
	if err := r.done(); err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	return c, nil
}

func readVoters(r *reader) []Voter {
	n := r.compactLen()
	if n < 0 {
		r.fail(fmt.Errorf("null voters"))
		return nil
	}
	vs := make([]Voter, 0, min(n, len(r.b)/5))
	for i := 0; i < n && r.err == nil; i++ {
		vs = append(vs, Voter{VoterID: r.int32()})
		r.tags(nil)
	}
	return vs
}
