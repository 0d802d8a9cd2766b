package controller

import (
	"errors"

	"github.com/weirmq/weir/engine/metadata"
)

// Proposer commits metadata changes. Local is the single node's, over the
// local metadata log; the Raft quorum will be the other. Callers
// serialize their changes: they plan against Image and propose the
// records, with nothing proposed in between.
type Proposer interface {
	// Image is the last committed image.
	Image() *metadata.Image
	// Propose commits recs as one change, all or none, and returns the
	// committed image with them applied. A record that does not apply to
	// Image is the caller's bug: Propose panics with the values. An
	// error means nothing was committed (ErrClosed once closed).
	Propose(recs []metadata.Record) (*metadata.Image, error)
	// Register records broker's endpoints (this node's, once its
	// listeners are bound) and returns the image with them.
	Register(broker metadata.Broker) (*metadata.Image, error)
	// Close waits for a change in progress; later ones get ErrClosed.
	Close() error
}

// ErrClosed answers changes proposed after Close.
var ErrClosed = errors.New("the controller is closed")
