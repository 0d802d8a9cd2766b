package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/engine/quorum"
	"github.com/weirmq/weir/logstore/metalog"
)

// Raft is the Proposer of a controller quorum's voter, over a
// quorum.Node. Every voter, leader or not, builds its image from the
// changes the node commits and applies, and from the snapshots it
// installs, with Local's apply code; Image is the last applied. Only the
// leader proposes; a follower answers *NotControllerError with the
// leader's id.
//
// The first leader of an empty log commits metadata.version (the
// FeatureLevelRecord Local begins a log with) before any other change: a
// leader proposes it once it has applied its whole log and the image has
// none, so a later leader sees the first one's if it was committed.
type Raft struct {
	node   *quorum.Node
	nodeID int32
	voters []int32
	base   *metadata.Image
	logger *slog.Logger
	opts   RaftOptions

	// propMu lets one change at a time through from this node; it is
	// taken before mu, never while mu is held.
	propMu sync.Mutex

	mu    sync.Mutex
	im    *metadata.Image
	index uint64 // the Raft index of the last change applied
	// appliedOffset is the metadata log offset of the last record applied
	// (-1: none): what a broker reports in its heartbeats.
	appliedOffset int64
	recent        [recentImages]indexedImage
	caught        map[int32]time.Time // when each voter was last seen caught up
	closed        bool
	stop          chan struct{}
	stopped       chan struct{}
}

// recentImages are the images of the last changes applied, kept for
// Propose to return its own change's image even when later ones follow.
const recentImages = 32

type indexedImage struct {
	index uint64
	im    *metadata.Image
	err   error // why the change did not apply (it was skipped)
}

// RaftOptions configure OpenRaft.
type RaftOptions struct {
	// ProposeTimeout bounds a Propose (default 10 s): waiting for a new
	// leader to apply its log, then for the change to commit.
	ProposeTimeout time.Duration
	// Poll is how often the leader's state is looked at (default 50 ms):
	// to propose metadata.version, and for the voters' caught-up times.
	Poll time.Duration
	// OnImage, if set, is told of each new image once it is applied, on
	// the quorum node's goroutine (which waits for it: hand it off).
	OnImage func(*metadata.Image)
}

// NotControllerError answers a change proposed to a voter that is not the
// quorum's leader: nothing was committed; Leader is the leader this node
// knows (-1: none). Handlers answer NOT_CONTROLLER, or forward to Leader.
type NotControllerError struct {
	Leader int32
}

func (e *NotControllerError) Error() string {
	if e.Leader < 0 {
		return "controller: this node is not the active controller; no leader is known"
	}
	return fmt.Sprintf("controller: this node is not the active controller; node %d is", e.Leader)
}

// ErrStaleImage answers a change whose records do not apply to the
// leader's image once it has applied its whole log: changes committed
// after the caller planned (a leader elected in between) moved it. Plan
// again against Image.
var ErrStaleImage = errors.New("controller: the proposed records do not apply to the committed image")

// OpenRaft opens the quorum node of cfg (its OnApply and SnapshotRecords
// are Raft's) and builds the image on base, which holds what is not in
// the log (cluster id, this broker).
func OpenRaft(cfg quorum.Config, base *metadata.Image, opts RaftOptions) (*Raft, error) {
	if opts.ProposeTimeout <= 0 {
		opts.ProposeTimeout = 10 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = 50 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Raft{nodeID: cfg.NodeID, voters: append([]int32(nil), cfg.Voters...), base: base, im: base,
		logger: cfg.Logger, opts: opts, caught: map[int32]time.Time{}, appliedOffset: -1,
		stop: make(chan struct{}), stopped: make(chan struct{})}
	cfg.OnApply = r.onApply
	cfg.SnapshotRecords = r.snapshotRecords
	n, err := quorum.Open(cfg)
	if err != nil {
		return nil, err
	}
	r.node = n
	go r.watch()
	return r, nil
}

// onApply builds the image from a committed change or an installed
// snapshot; the node's goroutine calls it in log order.
//
// A committed change that does not apply is skipped, on every voter
// alike (each has the same image before it), and its proposer gets
// ErrStaleImage. The leader checks a change against its caught-up image
// before proposing it, so this takes a leader that lost and regained
// leadership between that check and its proposal, with another leader's
// changes in between. A snapshot that does not apply is corrupt: panic.
func (r *Raft) onApply(ch quorum.Change) {
	im := r.apply(ch)
	if r.opts.OnImage != nil {
		r.opts.OnImage(im)
	}
}

func (r *Raft) apply(ch quorum.Change) *metadata.Image {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ch.Snapshot {
		im, err := replay(r.base, ch.Records, fmt.Sprintf("snapshot at offset %d", ch.Offset))
		if err != nil {
			panic(fmt.Sprintf("controller: node %d: snapshot of index %d: %v", r.nodeID, ch.Index, err))
		}
		r.im, r.index, r.appliedOffset = im, ch.Index, ch.Offset-1
		return im
	}
	r.appliedOffset = ch.Offset + int64(len(ch.Records)) - 1
	e := indexedImage{index: ch.Index}
	if im, err := r.im.Apply(ch.Records...); err != nil {
		r.logger.Error("controller: a committed change does not apply to the image; skipped", "node", r.nodeID,
			"index", ch.Index, "term", ch.Term, "offset", ch.Offset, "err", err)
		e.err = err
	} else {
		r.im = im
	}
	r.index, e.im = ch.Index, r.im
	r.recent[ch.Index%recentImages] = e
	return r.im
}

// AppliedOffset is the metadata log offset of the last record in Image
// (-1: none yet).
func (r *Raft) AppliedOffset() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.appliedOffset
}

func (r *Raft) snapshotRecords() []metalog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return snapshotRecords(r.im)
}

// Image is the last applied image.
func (r *Raft) Image() *metadata.Image {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.im
}

// Propose commits recs as one change through the leader, which this node
// must be, and returns the image with that change applied.
func (r *Raft) Propose(recs []metadata.Record) (*metadata.Image, error) {
	r.propMu.Lock()
	defer r.propMu.Unlock()
	if r.isClosed() {
		return nil, ErrClosed
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.ProposeTimeout)
	defer cancel()
	if err := r.bootstrapLocked(ctx); err != nil {
		return nil, err
	}
	base := r.Image()
	if _, err := base.Apply(recs...); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStaleImage, err)
	}
	return r.commitLocked(ctx, recs, base)
}

// bootstrapLocked waits until this node leads and has applied its whole
// log, then commits metadata.version if the image has none. r.propMu must
// be held.
func (r *Raft) bootstrapLocked(ctx context.Context) error {
	if err := r.catchUp(ctx); err != nil {
		return err
	}
	base := r.Image()
	if base.FeatureLevel(metalog.MetadataVersionFeature) != 0 {
		return nil
	}
	mv := []metadata.Record{metadata.FeatureLevelRecord{Name: metalog.MetadataVersionFeature,
		FeatureLevel: metalog.MetadataVersion}}
	if _, err := r.commitLocked(ctx, mv, base); err != nil {
		return err
	}
	r.logger.Info("controller: started the metadata log", "node", r.nodeID, "metadata.version", metalog.MetadataVersion)
	return nil
}

// catchUp waits until this node leads and has applied every entry of its
// log: everything a previous leader committed is in the image (a new
// leader's first entry commits them), and nothing else is in flight.
func (r *Raft) catchUp(ctx context.Context) error {
	for {
		st := r.node.Status()
		switch {
		case st.Role == quorum.RoleStopped:
			return ErrClosed
		case st.Role != quorum.RoleLeader:
			return &NotControllerError{Leader: st.Leader}
		case st.Applied >= st.LastIndex:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("controller: the leader did not apply its log in time: %w", quorum.ErrTimeout)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// commitLocked proposes recs, planned against base, and returns the image
// of their change. r.propMu must be held.
func (r *Raft) commitLocked(ctx context.Context, recs []metadata.Record, base *metadata.Image) (*metadata.Image, error) {
	ch, err := r.node.Propose(ctx, recs)
	if err != nil {
		var nl *quorum.NotLeaderError
		switch {
		case errors.As(err, &nl):
			return nil, &NotControllerError{Leader: nl.Leader}
		case errors.Is(err, quorum.ErrClosed):
			return nil, ErrClosed
		}
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.recent[ch.Index%recentImages]; e.index == ch.Index && e.im != nil {
		if e.err != nil {
			return nil, fmt.Errorf("%w: committed at offset %d and skipped: %v", ErrStaleImage, ch.Offset, e.err)
		}
		return e.im, nil
	}
	// Many changes applied since (another leader's): the change followed
	// base directly, as this node had applied its whole log before it.
	return applyProposed(base, recs), nil
}

// NextOffset is the end offset of this node's log; -1 once closed.
func (r *Raft) NextOffset() int64 {
	if r.isClosed() {
		return -1
	}
	st := r.node.Status()
	if st.Role == quorum.RoleStopped {
		return -1
	}
	return st.LogEndOffset
}

// Quorum describes the quorum as this node knows it: the leader's view of
// every voter on the leader; elsewhere its own log and the voters' ids.
func (r *Raft) Quorum() Quorum {
	if r.isClosed() {
		return Quorum{LeaderID: -1}
	}
	st := r.node.Status()
	if st.Role == quorum.RoleStopped {
		return Quorum{LeaderID: -1}
	}
	r.noteCaughtUp(st)
	q := Quorum{LeaderID: st.Leader, LeaderEpoch: int32(st.Term), HighWatermark: st.HighWatermark}
	if st.Role == quorum.RoleLeader {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, v := range st.Voters {
			rep := Replica{ID: v.Node, LogEndOffset: v.LogEndOffset, LastFetchMs: -1, LastCaughtUpMs: -1}
			if !v.LastContact.IsZero() {
				rep.LastFetchMs = v.LastContact.UnixMilli()
			}
			if t, ok := r.caught[v.Node]; ok {
				rep.LastCaughtUpMs = t.UnixMilli()
			}
			q.Voters = append(q.Voters, rep)
		}
		return q
	}
	for _, id := range r.voters {
		rep := Replica{ID: id, LogEndOffset: -1, LastFetchMs: -1, LastCaughtUpMs: -1}
		if id == r.nodeID {
			rep.LogEndOffset = st.LogEndOffset
		}
		q.Voters = append(q.Voters, rep)
	}
	return q
}

// noteCaughtUp records, on the leader, when each voter was last seen
// caught up to the leader's log end.
func (r *Raft) noteCaughtUp(st quorum.Status) {
	if st.Role != quorum.RoleLeader {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range st.Voters {
		if v.Match >= st.LastIndex && !v.LastContact.IsZero() {
			r.caught[v.Node] = v.LastContact
		}
	}
}

// watch looks at the node every Poll: a leader of a log without
// metadata.version commits it, and the voters' caught-up times are noted.
func (r *Raft) watch() {
	defer close(r.stopped)
	t := time.NewTicker(r.opts.Poll)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		st := r.node.Status()
		r.noteCaughtUp(st)
		if st.Role != quorum.RoleLeader || r.Image().FeatureLevel(metalog.MetadataVersionFeature) != 0 {
			continue
		}
		r.propMu.Lock()
		if !r.isClosed() {
			ctx, cancel := context.WithTimeout(context.Background(), r.opts.ProposeTimeout)
			if err := r.bootstrapLocked(ctx); err != nil {
				r.logger.Debug("controller: metadata.version not committed yet", "node", r.nodeID, "err", err)
			}
			cancel()
		}
		r.propMu.Unlock()
	}
}

func (r *Raft) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Close stops the node and waits for a change in progress, which gets
// ErrClosed (it may have committed); later ones get it too.
func (r *Raft) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	close(r.stop)
	err := r.node.Close()
	<-r.stopped
	r.propMu.Lock() // a Propose in progress has returned
	defer r.propMu.Unlock()
	return err
}

// Node is the quorum node, for the engine's transport and status.
func (r *Raft) Node() *quorum.Node { return r.node }

var _ Proposer = (*Raft)(nil)
