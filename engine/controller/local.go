package controller

import (
	"log/slog"
	"sync"
	"time"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore/metalog"
)

// Local is the Proposer of a single node, its own one-voter quorum: a
// change is one batch appended to the local metadata log (fsynced), then
// applied to the image. Past LocalOptions.SnapshotBytes of log it writes
// a snapshot of the image, which deletes the log's older segments.
type Local struct {
	mu     sync.Mutex
	log    *metalog.Log // nil once closed
	im     *metadata.Image
	nodeID int32
	logger *slog.Logger
	now    func() time.Time
	// snapshotBytes is the log size past which a change writes a snapshot;
	// snapshotEvery, when > 0, the age of the last snapshot (or of the
	// open) past which it does.
	snapshotBytes int64
	snapshotEvery time.Duration
	snapshotAt    time.Time
}

// LocalOptions configure OpenLocal.
type LocalOptions struct {
	NodeID int32 // the leader named in the log's LeaderChange records
	Logger *slog.Logger
	Now    func() time.Time // default time.Now
	// SnapshotBytes is metadata.log.max.record.bytes.between.snapshots
	// (default 20 MiB); SnapshotInterval metadata.log.max.snapshot.interval.ms
	// (0: none).
	SnapshotBytes    int64
	SnapshotInterval time.Duration
}

// OpenLocal opens (or creates) the metadata log in dir and replays it onto
// base, which holds what is not in the log (cluster id, this broker).
func OpenLocal(dir string, base *metadata.Image, opts LocalOptions) (*Local, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SnapshotBytes == 0 {
		opts.SnapshotBytes = 20 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l, recs, err := metalog.Open(dir, metalog.Options{NodeID: opts.NodeID, Logger: opts.Logger, Now: opts.Now})
	if err != nil {
		return nil, err
	}
	im, err := replay(base, recs, "metadata log "+dir)
	if err != nil {
		l.Close()
		return nil, err
	}
	return &Local{log: l, im: im, nodeID: opts.NodeID, logger: opts.Logger, now: opts.Now,
		snapshotBytes: opts.SnapshotBytes, snapshotEvery: opts.SnapshotInterval, snapshotAt: opts.Now()}, nil
}

// Image is the last committed image.
func (c *Local) Image() *metadata.Image {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.im
}

// Propose appends recs to the log as one batch and applies them.
func (c *Local) Propose(recs []metadata.Record) (*metadata.Image, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.log == nil {
		return nil, ErrClosed
	}
	im := applyProposed(c.im, recs)
	if _, err := c.log.Append(recs); err != nil {
		return nil, err
	}
	c.im = im
	now := c.now()
	if c.log.Size() > c.snapshotBytes || (c.snapshotEvery > 0 && now.Sub(c.snapshotAt) >= c.snapshotEvery) {
		if err := c.log.Snapshot(snapshotRecords(im)); err != nil {
			c.logger.Warn("metadata snapshot failed; the log keeps growing", "err", err)
		} else {
			c.snapshotAt = now
		}
	}
	return im, nil
}

// NextOffset is the log's end offset: the offset of the next change's
// first record.
func (c *Local) NextOffset() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.log == nil {
		return -1
	}
	return c.log.EndOffset()
}

// Quorum is the one-voter quorum: this node leads in the log's epoch,
// everything appended is committed (the high watermark is the log end),
// and as KRaft's leader reports itself, its fetch and caught-up times are
// now.
func (c *Local) Quorum() Quorum {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.log == nil {
		return Quorum{LeaderID: -1}
	}
	now := c.now().UnixMilli()
	end := c.log.EndOffset()
	return Quorum{LeaderID: c.nodeID, LeaderEpoch: c.log.Epoch(), HighWatermark: end,
		Voters: []Replica{{ID: c.nodeID, LogEndOffset: end, LastFetchMs: now, LastCaughtUpMs: now}}}
}

// Close closes the log.
func (c *Local) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.log == nil {
		return nil
	}
	err := c.log.Close()
	c.log = nil
	return err
}

var _ Proposer = (*Local)(nil)

// LogState is where the local metadata log stands.
type LogState struct {
	Size        int64 // bytes in its segments
	StartOffset int64
	Snapshot    metalog.SnapshotID // the latest
}

// LogState reads the log's state (zero once closed).
func (c *Local) LogState() LogState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.log == nil {
		return LogState{}
	}
	return LogState{Size: c.log.Size(), StartOffset: c.log.StartOffset(), Snapshot: c.log.LatestSnapshot()}
}
