package quorum

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/logstore/metalog"
)

// Config configures a Node; zero values take the defaults.
type Config struct {
	NodeID int32
	// Voters are the quorum's voters (controller.quorum.voters' ids): the
	// configuration of a log that has no snapshot yet. Every voter must
	// start with the same set.
	Voters []int32
	// Dir is the metadata log's directory (<first log dir>/__cluster_metadata-0).
	Dir       string
	Transport Transport
	Logger    *slog.Logger
	Now       func() time.Time // batch timestamps; time.Now

	Tick           time.Duration // default 100 ms
	ElectionTicks  int           // default 10: an election timeout of 1-2 s
	HeartbeatTicks int           // default 1

	// SnapshotBytes: a snapshot is written once this many bytes of
	// records were committed since the last
	// (metadata.log.max.record.bytes.between.snapshots; default 20 MiB;
	// negative: never).
	SnapshotBytes int64
	// SnapshotInterval: a snapshot is written this long after the last
	// when anything was committed since (metadata.log.max.snapshot.interval.ms;
	// default 1 h; negative: never).
	SnapshotInterval time.Duration
	// RetainEntries are the entries kept below a new snapshot (default
	// 1000; negative: none), so that a follower a little behind is sent
	// entries, not the snapshot. The log is compacted to there.
	RetainEntries int
	// SegmentBytes is the metadata log's segment size (metalog's default
	// when 0); compaction frees whole segments.
	SegmentBytes int64

	// OnApply receives the committed changes in log order, and the
	// snapshots to install (at open, the newest on disk; later, one a
	// leader sent). It runs on the node's goroutine: the node waits for it.
	OnApply func(Change)
	// SnapshotRecords returns the image after the last change OnApply
	// received, as records; it runs on the node's goroutine. Without it
	// the node writes no snapshots.
	SnapshotRecords func() []metalog.Record
}

// Defaults of Config.
const (
	DefaultTick             = 100 * time.Millisecond
	DefaultElectionTicks    = 10
	DefaultHeartbeatTicks   = 1
	DefaultSnapshotBytes    = 20 << 20
	DefaultSnapshotInterval = time.Hour
	DefaultRetainEntries    = 1000
)

// Change is a committed change, or a snapshot to install, as OnApply and
// Propose give it.
type Change struct {
	Index  uint64 // the Raft index of its entry (a snapshot's: of its last)
	Term   uint64 // its entry's term: its batch's leader epoch
	Offset int64  // its batch's base offset; a snapshot's end offset
	// Records are the change's records; a snapshot's are the whole image,
	// which replaces what was applied.
	Records  []metalog.Record
	Snapshot bool
}

// Errors of Propose besides NotLeaderError.
var (
	ErrClosed = errors.New("quorum: the node is closed")
	// ErrTimeout: the caller stopped waiting (its context ended); the
	// change may still commit.
	ErrTimeout = errors.New("quorum: the change was not committed in time; it may still be")
	// ErrUnknown: a snapshot from the leader replaced the log past the
	// change before this node saw it commit or not.
	ErrUnknown = errors.New("quorum: the change's outcome is unknown")
)

// NotLeaderError answers a change proposed to a node that is not the
// leader, or one whose entry a new leader replaced: nothing was
// committed. Leader is the leader this node knows, -1 if none.
type NotLeaderError struct {
	Leader int32
}

func (e *NotLeaderError) Error() string {
	if e.Leader < 0 {
		return "quorum: not the leader; no leader is known"
	}
	return fmt.Sprintf("quorum: not the leader; the leader is node %d", e.Leader)
}

// Node is one voter of the quorum: a RawNode driven by one goroutine,
// which owns the storage, the ticks and the Ready loop (see doc.go).
type Node struct {
	cfg     Config
	id      uint64
	logger  *slog.Logger
	inbox   chan *pb.Message
	props   chan *proposal
	calls   chan func()
	done    chan struct{} // closed by Close
	stopped chan struct{} // closed when the goroutine has stopped
	once    sync.Once
	err     error // why the goroutine stopped; set before stopped closes

	// The node goroutine's.
	rn        *raft.RawNode
	st        *storage
	conf      *pb.ConfState
	leaders   map[uint64]uint64 // term -> its leader's raft id, as far as known
	pending   []*proposal       // proposed; their index not known yet
	waiting   map[uint64]*proposal
	applied   uint64
	sinceSnap int64
	lastSnap  time.Time
	contact   map[uint64]time.Time // when each peer was last heard from
}

type proposal struct {
	data  []byte
	term  uint64
	recs  []metalog.Record
	done  chan result // buffered: the node never waits on it
	index uint64
}

type result struct {
	ch  Change
	err error
}

func (p *proposal) finish(ch Change, err error) { p.done <- result{ch, err} }

// Open opens (or creates) the quorum's log in cfg.Dir, hands the newest
// snapshot to OnApply, attaches the node to its transport and starts it.
// Committed changes after the snapshot are applied again as the node
// learns the commit index (from its own quorum-state, then the leader).
func Open(cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Tick <= 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.ElectionTicks <= 0 {
		cfg.ElectionTicks = DefaultElectionTicks
	}
	if cfg.HeartbeatTicks <= 0 {
		cfg.HeartbeatTicks = DefaultHeartbeatTicks
	}
	if cfg.SnapshotBytes == 0 {
		cfg.SnapshotBytes = DefaultSnapshotBytes
	}
	if cfg.SnapshotInterval == 0 {
		cfg.SnapshotInterval = DefaultSnapshotInterval
	}
	if cfg.RetainEntries == 0 {
		cfg.RetainEntries = DefaultRetainEntries
	}
	if cfg.OnApply == nil {
		cfg.OnApply = func(Change) {}
	}
	if cfg.Transport == nil || len(cfg.Voters) == 0 {
		return nil, fmt.Errorf("quorum: a node needs a transport and voters")
	}
	st, err := openStorage(cfg.Dir, cfg.Voters, uint64(max(cfg.RetainEntries, 0)), metalog.Options{NodeID: cfg.NodeID, Logger: cfg.Logger,
		Now: cfg.Now, SegmentBytes: cfg.SegmentBytes})
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, id: RaftID(cfg.NodeID), logger: cfg.Logger.With("node", cfg.NodeID),
		inbox: make(chan *pb.Message, 4096), props: make(chan *proposal, 256), calls: make(chan func(), 1024),
		done: make(chan struct{}), stopped: make(chan struct{}), st: st, conf: st.snap.Conf,
		leaders: map[uint64]uint64{}, waiting: map[uint64]*proposal{}, contact: map[uint64]time.Time{},
		applied: st.snap.Index, lastSnap: time.Now()}
	n.rn, err = raft.NewRawNode(&raft.Config{
		ID: n.id, ElectionTick: cfg.ElectionTicks, HeartbeatTick: cfg.HeartbeatTicks,
		Storage: st, Applied: st.snap.Index,
		MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 256,
		CheckQuorum: true, PreVote: true,
		// A follower answers a proposal with the leader's id: the engine
		// forwards changes to the active controller itself, as Kafka does.
		DisableProposalForwarding: true,
		StepDownOnRemoval:         true,
		Logger:                    raftLogger{n.logger},
	})
	if err != nil {
		st.close()
		return nil, fmt.Errorf("quorum: %w", err)
	}
	if st.snap.Index > 0 {
		if err := n.applySnapshot(st.snap, st.snapData); err != nil {
			st.close()
			return nil, err
		}
	}
	cfg.Transport.Attach(n)
	go n.run()
	return n, nil
}

// ElectionTimeout is the shortest election timeout; raft draws each one
// from [ElectionTimeout, 2*ElectionTimeout).
func (n *Node) ElectionTimeout() time.Duration {
	return n.cfg.Tick * time.Duration(n.cfg.ElectionTicks)
}

// Propose commits recs as one change (one batch of the metadata log) and
// returns once it is committed and applied here (OnApply has seen it).
// Errors: *NotLeaderError (nothing committed), ErrTimeout when ctx ends
// first (the change may still commit), ErrUnknown, ErrClosed, or the
// error that stopped the node.
func (n *Node) Propose(ctx context.Context, recs []metalog.Record) (Change, error) {
	if len(recs) == 0 {
		return Change{}, fmt.Errorf("quorum: proposing no records")
	}
	p := &proposal{data: metalog.EncodeBatch(0, 0, n.cfg.Now().UnixMilli(), recs), recs: recs,
		done: make(chan result, 1)}
	select {
	case n.props <- p:
	case <-ctx.Done():
		return Change{}, fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
	case <-n.stopped:
		return Change{}, n.err
	}
	select {
	case r := <-p.done:
		return r.ch, r.err
	case <-ctx.Done():
		return Change{}, fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
	case <-n.stopped:
		select {
		case r := <-p.done:
			return r.ch, r.err
		default:
			return Change{}, n.err
		}
	}
}

// Step hands the node a message from a peer (Receiver).
func (n *Node) Step(m *pb.Message) error {
	select {
	case <-n.done:
		return ErrClosed
	default:
	}
	select {
	case n.inbox <- m:
		return nil
	default:
		return fmt.Errorf("quorum: node %d is too busy; a %v from %d was dropped", n.cfg.NodeID, m.GetType(),
			NodeID(m.GetFrom()))
	}
}

// ReportUnreachable tells raft a message to node was not sent (Receiver).
func (n *Node) ReportUnreachable(node int32) {
	n.post(func() { n.rn.ReportUnreachable(RaftID(node)) })
}

// ReportSnapshot tells raft whether a snapshot reached node (Receiver).
func (n *Node) ReportSnapshot(node int32, ok bool) {
	status := raft.SnapshotFinish
	if !ok {
		status = raft.SnapshotFailure
	}
	n.post(func() { n.rn.ReportSnapshot(RaftID(node), status) })
}

// TransferLeadership asks the leader to hand leadership to node; it does
// nothing on a follower.
func (n *Node) TransferLeadership(node int32) {
	n.post(func() { n.rn.TransferLeader(RaftID(node)) })
}

// post runs f on the node's goroutine, unless the queue is full (reports
// are advisory) or the node is closed.
func (n *Node) post(f func()) {
	select {
	case n.calls <- f:
	default:
	}
}

// do runs f on the node's goroutine and waits; false once closed.
func (n *Node) do(f func()) bool {
	ran := make(chan struct{})
	select {
	case n.calls <- func() { f(); close(ran) }:
	case <-n.stopped:
		return false
	}
	select {
	case <-ran:
		return true
	case <-n.stopped:
		return false
	}
}

// Close stops the node: changes in progress get ErrClosed, the hard state
// is written, the log closed. It returns the error that stopped the node
// earlier, if one did.
func (n *Node) Close() error {
	n.once.Do(func() { close(n.done) })
	<-n.stopped
	if errors.Is(n.err, ErrClosed) {
		return nil
	}
	return n.err
}

// run is the node's goroutine.
func (n *Node) run() {
	ticker := time.NewTicker(n.cfg.Tick)
	defer ticker.Stop()
	err := n.loop(ticker.C)
	if err != nil && !errors.Is(err, ErrClosed) {
		n.logger.Error("quorum: the node stopped on an error", "err", err)
	}
	failWith := err
	if failWith == nil {
		failWith = ErrClosed
	}
	for _, p := range n.pending {
		p.finish(Change{}, failWith)
	}
	for _, p := range n.waiting {
		p.finish(Change{}, failWith)
	}
	if err == nil && n.st.hs.GetCommit() != n.st.written.GetCommit() {
		err = n.st.writeHardState(n.leader(), voterIDs(n.conf))
	}
	if cerr := n.st.close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ErrClosed
	}
	n.err = err
	close(n.stopped)
}

// loop steps raft with what arrives and handles its Ready after each
// event, until Close (nil) or an error of the storage.
func (n *Node) loop(tick <-chan time.Time) error {
	for {
		select {
		case <-n.done:
			return nil
		case <-tick:
			n.rn.Tick()
		case m := <-n.inbox:
			n.step(m)
			for range 63 {
				select {
				case m := <-n.inbox:
					n.step(m)
					continue
				default:
				}
				break
			}
		case p := <-n.props:
			n.propose(p)
			for range 63 {
				select {
				case p := <-n.props:
					n.propose(p)
					continue
				default:
				}
				break
			}
		case f := <-n.calls:
			f()
		}
		if err := n.handleReady(); err != nil {
			return err
		}
	}
}

func (n *Node) step(m *pb.Message) {
	switch m.GetType() {
	case pb.MsgApp, pb.MsgHeartbeat, pb.MsgSnap:
		// Only the leader of m's term sends these.
		n.noteLeader(m.GetTerm(), m.GetFrom())
	}
	n.contact[m.GetFrom()] = time.Now()
	if err := n.rn.Step(m); err != nil {
		n.logger.Debug("quorum: message refused", "type", m.GetType(), "from", NodeID(m.GetFrom()), "err", err)
	}
}

func (n *Node) propose(p *proposal) {
	st := n.rn.BasicStatus()
	if st.RaftState != raft.StateLeader {
		p.finish(Change{}, &NotLeaderError{Leader: NodeID(st.Lead)})
		return
	}
	if err := n.rn.Propose(p.data); err != nil {
		p.finish(Change{}, &NotLeaderError{Leader: NodeID(n.rn.BasicStatus().Lead)})
		return
	}
	p.term = st.GetTerm()
	n.pending = append(n.pending, p)
}

// handleReady does what each Ready asks, in etcd raft's order: persist
// the snapshot, the hard state and the entries (fsynced), then send the
// messages, then apply, then Advance (see doc.go).
func (n *Node) handleReady() error {
	for n.rn.HasReady() {
		rd := n.rn.Ready()
		st := n.rn.BasicStatus()
		if st.Lead != raft.None {
			n.noteLeader(st.GetTerm(), st.Lead)
		}
		if !isEmptySnap(rd.Snapshot) {
			if err := n.st.installSnapshot(rd.Snapshot); err != nil {
				return fmt.Errorf("quorum: installing a snapshot: %w", err)
			}
		}
		// The hard state before the entries: a log never holds an entry
		// of a term that quorum-state has not reached.
		if rd.HardState != nil {
			if err := n.st.setHardState(rd.HardState, NodeID(st.Lead), voterIDs(n.conf)); err != nil {
				return err
			}
		}
		if err := n.st.append(rd.Entries, n.leaderOf, voterIDs(n.conf)); err != nil {
			return fmt.Errorf("quorum: appending entries: %w", err)
		}
		n.assign(rd.Entries)
		n.cfg.Transport.Send(rd.Messages)
		if !isEmptySnap(rd.Snapshot) {
			if err := n.applySnapshot(n.st.snap, rd.Snapshot.GetData()); err != nil {
				return err
			}
		}
		if err := n.apply(rd.CommittedEntries); err != nil {
			return err
		}
		n.rn.Advance(rd)
	}
	// A proposal raft accepted is in the first Ready after it; one that
	// is not was dropped (the node stepped down in between).
	for _, p := range n.pending {
		p.finish(Change{}, &NotLeaderError{Leader: n.leader()})
	}
	n.pending = n.pending[:0]
	n.maybeSnapshot()
	return nil
}

// assign finds this node's proposals among the entries it appended. raft
// copies a proposal's data, so they are matched by content, in order: a
// leader's new entries are its proposals in the order they were made
// (and its empty entry when elected, which holds no data).
func (n *Node) assign(ents []*pb.Entry) {
	j := 0
	for _, e := range ents {
		if j < len(n.pending) && e.GetType() == pb.EntryNormal && bytes.Equal(e.GetData(), n.pending[j].data) {
			p := n.pending[j]
			p.index = e.GetIndex()
			n.waiting[p.index] = p
			j++
		}
	}
	n.pending = append(n.pending[:0], n.pending[j:]...)
}

// apply hands the committed entries' changes to OnApply, applies conf
// changes and answers the proposals they decide.
func (n *Node) apply(ents []*pb.Entry) error {
	for _, e := range ents {
		var ch Change
		switch e.GetType() {
		case pb.EntryNormal:
			if len(e.GetData()) == 0 || logstore.Batch(e.GetData()).IsControl() {
				break // a leader's empty entry (LeaderChange)
			}
			b, err := metalog.DecodeBatch(e.GetData())
			if err != nil {
				return fmt.Errorf("quorum: committed entry %d: %w", e.GetIndex(), err)
			}
			ch = Change{Index: e.GetIndex(), Term: e.GetTerm(), Offset: n.st.pos(e.GetIndex()).offset, Records: b.Records}
			n.cfg.OnApply(ch)
			n.sinceSnap += int64(len(e.GetData()))
		case pb.EntryConfChange, pb.EntryConfChangeV2:
			cc, err := confChange(e)
			if err != nil {
				return fmt.Errorf("quorum: committed entry %d: %w", e.GetIndex(), err)
			}
			n.conf = n.rn.ApplyConfChange(cc)
		}
		n.applied = e.GetIndex()
		if p := n.waiting[e.GetIndex()]; p != nil {
			delete(n.waiting, e.GetIndex())
			if p.term == e.GetTerm() {
				p.finish(ch, nil)
			} else {
				p.finish(Change{}, &NotLeaderError{Leader: n.leader()})
			}
		}
	}
	return nil
}

// applySnapshot hands a snapshot's image to OnApply; the proposals it
// covers can no longer be told apart.
func (n *Node) applySnapshot(p snapshotPosition, data []byte) error {
	recs, _, err := metalog.DecodeSnapshot(data)
	if err != nil {
		return fmt.Errorf("quorum: snapshot of index %d: %w", p.Index, err)
	}
	n.cfg.OnApply(Change{Index: p.Index, Term: p.Term, Offset: p.EndOffset, Records: recs, Snapshot: true})
	n.applied, n.conf = p.Index, p.Conf
	for i, w := range n.waiting {
		if i <= p.Index {
			delete(n.waiting, i)
			w.finish(Change{}, ErrUnknown)
		}
	}
	n.sinceSnap, n.lastSnap = 0, time.Now()
	return nil
}

// maybeSnapshot writes a snapshot of the applied image when enough was
// committed since the last, or enough time passed.
func (n *Node) maybeSnapshot() {
	if n.cfg.SnapshotRecords == nil || n.applied <= n.st.snap.Index {
		return
	}
	bytes := n.cfg.SnapshotBytes > 0 && n.sinceSnap >= n.cfg.SnapshotBytes
	timed := n.cfg.SnapshotInterval > 0 && time.Since(n.lastSnap) >= n.cfg.SnapshotInterval
	if !bytes && !timed {
		return
	}
	if err := n.st.createSnapshot(n.applied, n.conf, n.cfg.SnapshotRecords()); err != nil {
		n.logger.Warn("quorum: snapshot failed; the log keeps growing", "index", n.applied, "err", err)
	}
	n.sinceSnap, n.lastSnap = 0, time.Now()
}

// noteLeader records that lead led term.
func (n *Node) noteLeader(term, lead uint64) {
	n.leaders[term] = lead
	if len(n.leaders) > 64 {
		for t := range n.leaders {
			if t+32 < term {
				delete(n.leaders, t)
			}
		}
	}
}

// leaderOf is the Kafka id of term's leader, -1 if unknown.
func (n *Node) leaderOf(term uint64) int32 { return NodeID(n.leaders[term]) }

// leader is the leader this node knows now, -1 if none.
func (n *Node) leader() int32 { return NodeID(n.rn.BasicStatus().Lead) }
