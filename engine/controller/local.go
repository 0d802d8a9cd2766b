package controller

import (
	"fmt"
	"log/slog"
	"sync"

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
	logger *slog.Logger
	// snapshotBytes is the log size past which a change writes a snapshot.
	snapshotBytes int64
}

// LocalOptions configure OpenLocal.
type LocalOptions struct {
	NodeID        int32 // the leader named in the log's LeaderChange records
	Logger        *slog.Logger
	SnapshotBytes int64 // default 4 MiB
}

// OpenLocal opens (or creates) the metadata log in dir and replays it onto
// base, which holds what is not in the log (cluster id, this broker).
func OpenLocal(dir string, base *metadata.Image, opts LocalOptions) (*Local, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SnapshotBytes == 0 {
		opts.SnapshotBytes = 4 << 20
	}
	l, recs, err := metalog.Open(dir, metalog.Options{NodeID: opts.NodeID, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	im, err := base.Apply(recs...)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("replay metadata log %s: %w", dir, err)
	}
	return &Local{log: l, im: im, logger: opts.Logger, snapshotBytes: opts.SnapshotBytes}, nil
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
	im, err := c.im.Apply(recs...)
	if err != nil {
		panic(fmt.Sprintf("controller: proposed records that do not apply: %v: %+v", err, recs))
	}
	if _, err := c.log.Append(recs); err != nil {
		return nil, err
	}
	c.im = im
	if c.log.Size() > c.snapshotBytes {
		if err := c.log.Snapshot(im.Records()); err != nil {
			c.logger.Warn("metadata snapshot failed; the log keeps growing", "err", err)
		}
	}
	return im, nil
}

// Register swaps this node's endpoints into the image; a single node is
// its own controller. (They are not in the log: they come from the
// configuration at every start.)
func (c *Local) Register(broker metadata.Broker) (*metadata.Image, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.log == nil {
		return nil, ErrClosed
	}
	c.im = c.im.WithBrokers(broker.NodeID, []metadata.Broker{broker})
	return c.im, nil
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
