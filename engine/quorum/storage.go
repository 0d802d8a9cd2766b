package quorum

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/logstore/metalog"
)

// position is where entry snapIndex+1+i of the Raft log is in the
// metadata log: its batch's offsets, term (the batch's epoch) and append
// time; ent is the entry itself while it is in the cache.
type position struct {
	offset int64 // the batch's base offset
	end    int64 // the offset after the batch
	term   uint64
	time   int64 // the batch's max timestamp (ms)
	ent    *pb.Entry
}

// cacheBytes bounds the entries kept in memory besides their batches on
// disk: the recent ones, which a leader sends and a follower applies.
const cacheBytes = 4 << 20

// storage is raft's Storage over the metadata log, and the writes of
// each Ready. Only the node's goroutine uses it (raft calls it from
// RawNode's methods), so it has no lock.
type storage struct {
	log    *metalog.Log
	dir    string
	logger *slog.Logger
	now    func() time.Time

	snap     snapshotPosition // index 0 when there is no snapshot
	snapData []byte           // the snapshot file, read when first sent
	// base is the entry before the first the log holds: the snapshot's
	// last, or one below it when the log keeps entries under the
	// snapshot (retain); its term and end offset are known, not its data.
	base   position
	baseAt uint64
	ents   []position // ents[i] is entry baseAt+1+i
	cached int        // bytes of the entries in the cache
	from   int        // ents[:from] are out of the cache
	retain uint64     // entries kept below a new snapshot

	hs      *pb.HardState // the last hard state given by raft
	written *pb.HardState // the last written to quorum-state
	voters  []int32       // the static voters, for a log without a snapshot
}

// openStorage opens the metadata log in dir and rebuilds the table of
// entries from the newest snapshot's end, and the hard state.
func openStorage(dir string, voters []int32, retain uint64, opts metalog.Options) (*storage, error) {
	l, err := metalog.OpenQuorum(dir, opts)
	if err != nil {
		return nil, err
	}
	s := &storage{log: l, dir: dir, logger: opts.Logger, now: opts.Now, voters: voters, retain: retain}
	if err := s.load(); err != nil {
		l.Close()
		return nil, fmt.Errorf("quorum %s: %w", dir, err)
	}
	return s, nil
}

func (s *storage) load() error {
	s.snap = snapshotPosition{Conf: &pb.ConfState{}}
	for _, v := range s.voters {
		s.snap.Conf.Voters = append(s.snap.Conf.Voters, RaftID(v))
	}
	if id := s.log.LatestSnapshot(); id != (metalog.SnapshotID{}) {
		data, err := s.log.ReadSnapshot(id)
		if err != nil {
			return err
		}
		p, err := readSnapshotPosition(data)
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", id.FileName(), err)
		}
		if p.EndOffset != id.EndOffset || epochOf(p.Term) != id.Epoch {
			return fmt.Errorf("snapshot %s holds position %+v", id.FileName(), p)
		}
		s.snap, s.snapData = p, data
	} else if s.log.StartOffset() != 0 {
		return fmt.Errorf("the log starts at offset %d and there is no snapshot", s.log.StartOffset())
	}
	if err := s.loadTable(); err != nil {
		return err
	}
	s.from = len(s.ents)
	hs, err := readState(s.dir)
	if errors.Is(err, errNoState) && (len(s.ents) > 0 || s.snap.Index > 0) {
		// Every entry comes after an election, whose term is written
		// first: this log is not a quorum's (a single node's, whose
		// epochs are not Raft terms), or its state file was lost.
		return fmt.Errorf("the log holds entries but there is no %s: not a quorum's log", StateFile)
	}
	if err != nil && !errors.Is(err, errNoState) {
		return err
	}
	// The commit index on disk is a hint (doc.go): it may lag, and raft
	// wants it within [snapshot, last index]; a torn tail cut at open can
	// have taken entries it counted.
	c := hs.GetCommit()
	if c < s.snap.Index || c > s.lastIndex() {
		if c > s.lastIndex() {
			s.logger.Warn("quorum: the commit index is past the log end; entries were lost from the tail",
				"commit", c, "last_index", s.lastIndex())
		}
		hs.Commit = proto.Uint64(min(max(c, s.snap.Index), s.lastIndex()))
	}
	s.hs, s.written = hs, proto.Clone(hs).(*pb.HardState)
	return nil
}

// loadTable reads the batches of the log, from its start: those below the
// snapshot's end too (entries kept for followers a little behind). The
// batch at the snapshot's end is the entry after the snapshot's; entries
// are numbered back from there. The first batch below the snapshot
// becomes the base: its term is known, its data is not offered to raft.
func (s *storage) loadTable() error {
	var all []position
	next, term := s.log.StartOffset(), uint64(0)
	err := s.log.ReadRaw(next, func(p []byte) error {
		b := logstore.Batch(p)
		if b.BaseOffset() != next {
			return fmt.Errorf("a batch at offset %d, the one before ends at %d", b.BaseOffset(), next)
		}
		if t := uint64(b.LeaderEpoch()); t < term {
			return fmt.Errorf("a batch at offset %d of epoch %d after one of epoch %d", next, t, term)
		}
		term, next = uint64(b.LeaderEpoch()), b.LastOffset()+1
		all = append(all, position{offset: b.BaseOffset(), end: next, term: term, time: b.MaxTimestamp()})
		return nil
	})
	if err != nil {
		return err
	}
	k := len(all) // the batch at the snapshot's end
	for i, p := range all {
		if p.offset >= s.snap.EndOffset {
			k = i
			break
		}
	}
	if k < len(all) && all[k].offset != s.snap.EndOffset || k == len(all) && next != s.snap.EndOffset {
		return fmt.Errorf("the snapshot ends at offset %d, inside a batch of the log", s.snap.EndOffset)
	}
	if k > 0 && all[k-1].term > s.snap.Term {
		return fmt.Errorf("the batch before the snapshot's end has epoch %d, the snapshot %d", all[k-1].term, s.snap.Term)
	}
	if uint64(max(k-1, 0)) > s.snap.Index {
		return fmt.Errorf("%d batches below a snapshot of index %d", k, s.snap.Index)
	}
	if k == 0 {
		s.base, s.baseAt, s.ents = position{end: s.snap.EndOffset, term: s.snap.Term}, s.snap.Index, all
	} else {
		s.base, s.baseAt, s.ents = all[0], s.snap.Index-uint64(k-1), all[1:]
	}
	return nil
}

func (s *storage) lastIndex() uint64  { return s.baseAt + uint64(len(s.ents)) }
func (s *storage) firstIndex() uint64 { return s.baseAt + 1 }

// pos is entry i's position; i must be in the table.
func (s *storage) pos(i uint64) *position {
	if i <= s.baseAt || i > s.lastIndex() {
		panic(fmt.Sprintf("quorum: entry %d is not in the log [%d, %d]", i, s.firstIndex(), s.lastIndex()))
	}
	return &s.ents[i-s.baseAt-1]
}

// endOffset is the offset after entry i's batch: the log end offset of a
// node whose log matches to i; -1 when i is below the log.
func (s *storage) endOffset(i uint64) int64 {
	switch {
	case i == s.baseAt:
		return s.base.end
	case i < s.baseAt || i > s.lastIndex():
		return -1
	}
	return s.pos(i).end
}

// InitialState implements raft.Storage.
func (s *storage) InitialState() (*pb.HardState, *pb.ConfState, error) {
	return proto.Clone(s.hs).(*pb.HardState), proto.Clone(s.snap.Conf).(*pb.ConfState), nil
}

// Entries implements raft.Storage: from the cache, else read from the log.
func (s *storage) Entries(lo, hi, maxSize uint64) ([]*pb.Entry, error) {
	if lo <= s.baseAt {
		return nil, raft.ErrCompacted
	}
	if hi > s.lastIndex()+1 {
		panic(fmt.Sprintf("quorum: entries [%d, %d) past the last index %d", lo, hi, s.lastIndex()))
	}
	var out []*pb.Entry
	size := uint64(0)
	full := func(e *pb.Entry) bool {
		size += uint64(len(e.GetData())) + 16
		return len(out) > 0 && size > maxSize
	}
	i := lo
	for ; i < hi && s.pos(i).ent != nil; i++ {
		if full(s.pos(i).ent) {
			return out, nil
		}
		out = append(out, s.pos(i).ent)
	}
	if i == hi {
		return out, nil
	}
	errStop := errors.New("stop")
	err := s.log.ReadRaw(s.pos(i).offset, func(p []byte) error {
		e, err := decodeEntry(p, i)
		if err != nil {
			return err
		}
		if full(e) {
			return errStop
		}
		out = append(out, e)
		if i++; i == hi {
			return errStop
		}
		return nil
	})
	if err != nil && err != errStop {
		return nil, fmt.Errorf("quorum: reading entries [%d, %d): %w", lo, hi, err)
	}
	if len(out) == 0 || i < hi && size <= maxSize {
		return nil, fmt.Errorf("quorum: entries [%d, %d): the log ends at entry %d", lo, hi, i)
	}
	return out, nil
}

// Term implements raft.Storage.
func (s *storage) Term(i uint64) (uint64, error) {
	switch {
	case i == s.baseAt:
		return s.base.term, nil
	case i < s.baseAt:
		return 0, raft.ErrCompacted
	case i > s.lastIndex():
		return 0, raft.ErrUnavailable
	}
	return s.pos(i).term, nil
}

// LastIndex implements raft.Storage.
func (s *storage) LastIndex() (uint64, error) { return s.lastIndex(), nil }

// FirstIndex implements raft.Storage.
func (s *storage) FirstIndex() (uint64, error) { return s.firstIndex(), nil }

// Snapshot implements raft.Storage: the newest snapshot, whose data is
// its .checkpoint file.
func (s *storage) Snapshot() (*pb.Snapshot, error) {
	meta := &pb.SnapshotMetadata{Index: proto.Uint64(s.snap.Index), Term: proto.Uint64(s.snap.Term),
		ConfState: proto.Clone(s.snap.Conf).(*pb.ConfState)}
	if s.snap.Index == 0 {
		return &pb.Snapshot{Metadata: meta}, nil
	}
	if s.snapData == nil {
		data, err := s.log.ReadSnapshot(s.log.LatestSnapshot())
		if err != nil {
			return nil, err
		}
		s.snapData = data
	}
	return &pb.Snapshot{Data: s.snapData, Metadata: meta}, nil
}

// append writes ents, a Ready's, to the log as batches, one fsync for
// all; the log's entries from the first one's index on are truncated
// first (a new leader overwrote them). leaderOf names the leader of a
// term, for LeaderChange batches; voters are the current voters.
func (s *storage) append(ents []*pb.Entry, leaderOf func(term uint64) int32, voters []int32) error {
	for len(ents) > 0 && ents[0].GetIndex() <= s.baseAt {
		ents = ents[1:] // below the log: committed, and in the snapshot
	}
	if len(ents) == 0 {
		return nil
	}
	first := ents[0].GetIndex()
	if first > s.lastIndex()+1 {
		panic(fmt.Sprintf("quorum: appending entry %d after the last index %d", first, s.lastIndex()))
	}
	if first <= s.lastIndex() {
		off := s.pos(first).offset
		s.logger.Info("quorum: truncating the log's uncommitted tail", "from_index", first,
			"last_index", s.lastIndex(), "offset", off)
		if err := s.log.TruncateTo(off); err != nil {
			return err
		}
		n := int(first - s.baseAt - 1)
		for i := n; i < len(s.ents); i++ {
			s.uncache(i)
		}
		s.ents = s.ents[:n]
		s.from = min(s.from, n)
	}
	var buf []byte
	next := s.log.EndOffset()
	start := len(s.ents)
	for _, e := range ents {
		b, err := encodeEntry(e, next, leaderOf(e.GetTerm()), voters)
		if err != nil {
			return err
		}
		buf = append(buf, b...)
		lb := logstore.Batch(b)
		// Cache the entry as the log will give it back.
		ce, err := decodeEntry(b, e.GetIndex())
		if err != nil {
			return err
		}
		s.ents = append(s.ents, position{offset: next, end: lb.LastOffset() + 1, term: e.GetTerm(),
			time: lb.MaxTimestamp(), ent: ce})
		s.cached += len(ce.GetData())
		next = lb.LastOffset() + 1
	}
	if err := s.log.AppendBatches(buf); err != nil {
		s.ents = s.ents[:start]
		return err
	}
	for s.cached > cacheBytes && s.from < len(s.ents)-1 {
		s.uncache(s.from)
		s.from++
	}
	return nil
}

func (s *storage) uncache(i int) {
	if e := s.ents[i].ent; e != nil {
		s.cached -= len(e.GetData())
		s.ents[i].ent = nil
	}
}

// setHardState records raft's hard state, writing quorum-state when the
// term or vote changed: those must be durable before the Ready's messages
// go. A change of the commit index alone is written with the next one
// (or at close): the file's commit index is a lower bound.
func (s *storage) setHardState(hs *pb.HardState, leader int32, voters []int32) error {
	s.hs = proto.Clone(hs).(*pb.HardState)
	if hs.GetTerm() == s.written.GetTerm() && hs.GetVote() == s.written.GetVote() {
		return nil
	}
	return s.writeHardState(leader, voters)
}

func (s *storage) writeHardState(leader int32, voters []int32) error {
	if err := writeState(s.dir, s.hs, leader, voters); err != nil {
		return err
	}
	s.written = proto.Clone(s.hs).(*pb.HardState)
	return nil
}

// installSnapshot replaces the log with snap, a leader's (its data is the
// leader's .checkpoint file).
func (s *storage) installSnapshot(snap *pb.Snapshot) error {
	p, err := readSnapshotPosition(snap.GetData())
	if err != nil {
		return err
	}
	meta := snap.GetMetadata()
	if p.Index != meta.GetIndex() || p.Term != meta.GetTerm() {
		return fmt.Errorf("quorum: a snapshot of index %d term %d holds position %+v", meta.GetIndex(), meta.GetTerm(), p)
	}
	id := metalog.SnapshotID{EndOffset: p.EndOffset, Epoch: epochOf(p.Term)}
	if err := s.log.InstallSnapshot(id, snap.GetData()); err != nil {
		return err
	}
	p.Conf = proto.Clone(meta.GetConfState()).(*pb.ConfState)
	s.snap, s.snapData = p, snap.GetData()
	s.base, s.baseAt = position{end: p.EndOffset, term: p.Term}, p.Index
	s.ents, s.cached, s.from = nil, 0, 0
	return nil
}

// createSnapshot writes recs, the image after entry index, as the
// snapshot of index with configuration conf, then compacts the log up to
// retain entries below it: a follower that far behind still gets entries,
// one further behind the snapshot.
func (s *storage) createSnapshot(index uint64, conf *pb.ConfState, recs []metalog.Record) error {
	if index <= s.snap.Index {
		return nil
	}
	at := s.pos(index)
	p := snapshotPosition{Index: index, Term: at.term, EndOffset: at.end, Conf: proto.Clone(conf).(*pb.ConfState)}
	id := metalog.SnapshotID{EndOffset: at.end, Epoch: epochOf(at.term)}
	if err := s.log.SnapshotAt(id, at.time, []metalog.Control{snapshotHeader(p)}, recs); err != nil {
		return err
	}
	s.snap, s.snapData = p, nil
	if index <= s.baseAt+s.retain {
		return nil
	}
	base := index - s.retain
	n := int(base - s.baseAt)
	s.base = *s.pos(base)
	s.base.ent = nil
	for i := range n {
		s.uncache(i)
	}
	s.ents, s.baseAt = append([]position(nil), s.ents[n:]...), base
	s.from = max(s.from-n, 0)
	return s.log.Compact(s.base.end)
}

func (s *storage) close() error { return s.log.Close() }
