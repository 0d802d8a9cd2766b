package quorum

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/weirmq/weir/logstore/metalog"
)

func openTestStorage(t *testing.T, dir string) *storage {
	t.Helper()
	return openRetaining(t, dir, 0)
}

func openRetaining(t *testing.T, dir string, retain uint64) *storage {
	t.Helper()
	s, err := openStorage(dir, []int32{1, 2, 3}, retain, metalog.Options{NodeID: 1, Logger: slog.New(slog.DiscardHandler),
		Now: time.Now, SegmentBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.close() })
	return s
}

func entry(index, term uint64, typ pb.EntryType, data []byte) *pb.Entry {
	return &pb.Entry{Index: proto.Uint64(index), Term: proto.Uint64(term), Type: typ.Enum(), Data: data}
}

func dataEntry(index, term uint64, i int) *pb.Entry {
	return entry(index, term, pb.EntryNormal, metalog.EncodeBatch(0, 0, 1000, []metalog.Record{topic(i)}))
}

func leaderIs(id int32) func(uint64) int32 { return func(uint64) int32 { return id } }

// decoded is what must survive the log: the entry's kind and content.
func decoded(t *testing.T, e *pb.Entry) any {
	t.Helper()
	if e.GetType() != pb.EntryNormal {
		return []any{e.GetIndex(), e.GetTerm(), e.GetType(), e.GetData()}
	}
	b, err := metalog.DecodeBatch(e.GetData())
	if err != nil {
		t.Fatal(err)
	}
	return []any{e.GetIndex(), e.GetTerm(), b.Records, b.Controls, b.LeaderEpoch}
}

func TestStorageEntries(t *testing.T) {
	dir := t.TempDir()
	s := openTestStorage(t, dir)
	hs, cs, _ := s.InitialState()
	if hs.GetTerm() != 0 || !reflect.DeepEqual(cs.GetVoters(), []uint64{2, 3, 4}) {
		t.Fatalf("initial state %v %v", hs, cs)
	}
	cc, _ := proto.Marshal(&pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{{Type: pb.ConfChangeAddLearnerNode.Enum(),
		NodeId: proto.Uint64(9)}}})
	in := []*pb.Entry{
		entry(1, 1, pb.EntryNormal, nil), // a new leader's empty entry
		dataEntry(2, 1, 1),
		entry(3, 1, pb.EntryConfChangeV2, cc),
		dataEntry(4, 2, 2),
	}
	if err := s.append(in, leaderIs(2), []int32{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	check := func(s *storage) {
		t.Helper()
		got, err := s.Entries(1, 5, 1<<20)
		if err != nil || len(got) != 4 {
			t.Fatalf("entries %v %v", got, err)
		}
		lc := metalog.LeaderChange{LeaderID: 2, Voters: []metalog.Voter{{VoterID: 1}, {VoterID: 2}, {VoterID: 3}},
			GrantingVoters: []metalog.Voter{}}
		if d := decoded(t, got[0]).([]any); !reflect.DeepEqual(d[3], []metalog.Control{lc}) {
			t.Errorf("entry 1 holds %+v, want a LeaderChange", d[3])
		}
		for i := 1; i < 4; i++ {
			if !reflect.DeepEqual(decoded(t, got[i]), decoded(t, stamped(in[i]))) {
				t.Errorf("entry %d: %v, want %v", i+1, decoded(t, got[i]), decoded(t, in[i]))
			}
		}
		if term, _ := s.Term(4); term != 2 {
			t.Errorf("term of 4: %d", term)
		}
		if _, err := s.Term(5); !errors.Is(err, raft.ErrUnavailable) {
			t.Errorf("term of 5: %v", err)
		}
		if got, _ := s.Entries(2, 5, 0); len(got) != 1 {
			t.Errorf("entries within 0 bytes: %d, want 1", len(got))
		}
		if s.endOffset(4) != s.log.EndOffset() || s.pos(2).offset != 1 || s.pos(4).offset != 3 {
			t.Errorf("offsets: entry 2 at %d, 4 at %d ends %d", s.pos(2).offset, s.pos(4).offset, s.endOffset(4))
		}
	}
	check(s)
	s.hs = &pb.HardState{Term: proto.Uint64(2)} // as raft writes it before the entries
	if err := s.writeHardState(-1, nil); err != nil {
		t.Fatal(err)
	}
	s.close()
	check(openTestStorage(t, dir)) // from disk, no cache
}

// stamped is e as the log returns it: a data batch's epoch is its term.
func stamped(e *pb.Entry) *pb.Entry {
	if e.GetType() != pb.EntryNormal {
		return e
	}
	c := proto.Clone(e).(*pb.Entry)
	c.Data[batchOffsetEpoch+3] = byte(e.GetTerm())
	return c
}

func TestStorageTruncateAndSnapshot(t *testing.T) {
	dir := t.TempDir()
	s := openTestStorage(t, dir)
	var in []*pb.Entry
	for i := range 5 {
		in = append(in, dataEntry(uint64(i+1), 1, i))
	}
	if err := s.append(in, leaderIs(1), nil); err != nil {
		t.Fatal(err)
	}
	// A new leader of term 2 overwrites from index 4.
	if err := s.append([]*pb.Entry{dataEntry(4, 2, 40), dataEntry(5, 2, 50), dataEntry(6, 2, 60)}, leaderIs(2), nil); err != nil {
		t.Fatal(err)
	}
	if s.lastIndex() != 6 || s.log.EndOffset() != 6 {
		t.Fatalf("last index %d, log end %d", s.lastIndex(), s.log.EndOffset())
	}
	if term, _ := s.Term(4); term != 2 {
		t.Fatalf("term of 4 after the overwrite: %d", term)
	}
	s.hs = &pb.HardState{Term: proto.Uint64(2), Vote: proto.Uint64(3), Commit: proto.Uint64(5)}
	if err := s.writeHardState(2, []int32{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	conf := &pb.ConfState{Voters: []uint64{2, 3, 4}}
	if err := s.createSnapshot(4, conf, []metalog.Record{topic(0)}); err != nil {
		t.Fatal(err)
	}
	check := func(s *storage, first uint64) {
		t.Helper()
		if fi, _ := s.FirstIndex(); fi != first || s.lastIndex() != 6 {
			t.Fatalf("first index %d, last %d", fi, s.lastIndex())
		}
		if _, err := s.Entries(first-1, 5, 1<<20); !errors.Is(err, raft.ErrCompacted) {
			t.Fatalf("entries below the log: %v", err)
		}
		if term, err := s.Term(4); term != 2 || err != nil {
			t.Fatalf("term of the snapshot's index: %d %v", term, err)
		}
		snap, err := s.Snapshot()
		if err != nil || snap.GetMetadata().GetIndex() != 4 || snap.GetMetadata().GetTerm() != 2 ||
			!reflect.DeepEqual(snap.GetMetadata().GetConfState().GetVoters(), conf.GetVoters()) {
			t.Fatalf("snapshot %v %v", snap.GetMetadata(), err)
		}
		recs, _, err := metalog.DecodeSnapshot(snap.GetData())
		if err != nil || !reflect.DeepEqual(recs, []metalog.Record{topic(0)}) {
			t.Fatalf("snapshot records %v %v", recs, err)
		}
		got, err := s.Entries(5, 7, 1<<20)
		if err != nil || len(got) != 2 || got[1].GetTerm() != 2 {
			t.Fatalf("entries after the snapshot: %v %v", got, err)
		}
		hs, _, _ := s.InitialState()
		if hs.GetTerm() != 2 || hs.GetVote() != 3 || hs.GetCommit() != 5 {
			t.Fatalf("hard state %v", hs)
		}
	}
	check(s, 5)
	snap, _ := s.Snapshot()
	s.close()
	// Reopened, the log starts where its first segment does: the entries
	// below the snapshot that it still holds are numbered back from the
	// snapshot's, the first being the base.
	s = openTestStorage(t, dir)
	check(s, 2)
	if got, err := s.Entries(2, 5, 1<<20); err != nil || len(got) != 3 || got[2].GetTerm() != 2 ||
		!reflect.DeepEqual(decoded(t, got[0]), decoded(t, stamped(in[1]))) {
		t.Fatalf("entries kept below the snapshot: %v %v", got, err)
	}

	// Another node installs the snapshot over a log of its own.
	other := openTestStorage(t, t.TempDir())
	if err := other.append([]*pb.Entry{dataEntry(1, 1, 7)}, leaderIs(1), nil); err != nil {
		t.Fatal(err)
	}
	if err := other.installSnapshot(snap); err != nil {
		t.Fatal(err)
	}
	if fi, _ := other.FirstIndex(); fi != 5 || other.lastIndex() != 4 || other.log.EndOffset() != 4 {
		t.Fatalf("after the install: first %d, last %d, log end %d", fi, other.lastIndex(), other.log.EndOffset())
	}
	if err := other.append([]*pb.Entry{dataEntry(5, 2, 50)}, leaderIs(2), nil); err != nil {
		t.Fatal(err)
	}
	if other.pos(5).offset != 4 {
		t.Fatalf("entry 5 at offset %d, the leader has it at 4", other.pos(5).offset)
	}
}

// TestQuorumStateFile: Kafka's fields, and Weir's commit index.
func TestQuorumStateFile(t *testing.T) {
	dir := t.TempDir()
	hs := &pb.HardState{Term: proto.Uint64(7), Vote: proto.Uint64(RaftID(0)), Commit: proto.Uint64(12)}
	if err := writeState(dir, hs, 0, []int32{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"clusterId": "", "leaderId": 0.0, "leaderEpoch": 7.0, "votedId": 0.0,
		"appliedOffset": 0.0, "data_version": 0.0, "weirCommitIndex": 12.0} {
		if m[k] != v {
			t.Errorf("%s = %v, want %v (%s)", k, m[k], v, data)
		}
	}
	got, err := readState(dir)
	if err != nil || !proto.Equal(got, hs) {
		t.Fatalf("read back %v %v", got, err)
	}
	none := &pb.HardState{Term: proto.Uint64(8), Vote: proto.Uint64(0), Commit: proto.Uint64(0)}
	writeState(dir, none, -1, nil)
	if got, _ := readState(dir); !proto.Equal(got, none) {
		t.Fatalf("no vote read back as %v", got)
	}
}

// TestStorageRetain: a snapshot keeps entries below it for followers a
// little behind; raft's first index moves only past them.
func TestStorageRetain(t *testing.T) {
	s := openRetaining(t, t.TempDir(), 2)
	var in []*pb.Entry
	for i := range 6 {
		in = append(in, dataEntry(uint64(i+1), 1, i))
	}
	if err := s.append(in, leaderIs(1), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.createSnapshot(5, &pb.ConfState{Voters: []uint64{2}}, nil); err != nil {
		t.Fatal(err)
	}
	if fi, _ := s.FirstIndex(); fi != 4 {
		t.Fatalf("first index %d, want 4: two entries below the snapshot of 5", fi)
	}
	if got, err := s.Entries(4, 7, 1<<20); err != nil || len(got) != 3 {
		t.Fatalf("entries kept: %v %v", got, err)
	}
	if term, err := s.Term(3); term != 1 || err != nil {
		t.Fatalf("term of the base: %d %v", term, err)
	}
	if snap, _ := s.Snapshot(); snap.GetMetadata().GetIndex() != 5 {
		t.Fatalf("snapshot %v", snap.GetMetadata())
	}
}

// TestStorageRefusesSingleNodeLog: a single node's metadata log (epochs
// that count its starts, no quorum-state) is not taken for a quorum's.
func TestStorageRefusesSingleNodeLog(t *testing.T) {
	dir := t.TempDir()
	l, _, err := metalog.Open(dir, metalog.Options{NodeID: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	_, err = openStorage(dir, []int32{1}, 0, metalog.Options{Logger: slog.New(slog.DiscardHandler), Now: time.Now})
	if err == nil || !strings.Contains(err.Error(), "not a quorum's log") {
		t.Fatalf("opened a single node's log as a quorum's: %v", err)
	}
}
