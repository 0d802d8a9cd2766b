package controller

import (
	"errors"

	"github.com/weirmq/weir/engine/metadata"
)

// Proposer commits metadata changes. Local is the single node's, over the
// local metadata log; Raft a voter's of a controller quorum. Callers
// serialize their changes: they plan against Image and propose the
// records, with nothing proposed in between.
type Proposer interface {
	// Image is the last committed image.
	Image() *metadata.Image
	// Propose commits recs as one change, all or none, and returns the
	// committed image with them applied. A record that does not apply to
	// Image is the caller's bug: Local panics with the values; Raft,
	// whose image can move under a new leader, answers ErrStaleImage. An
	// error means nothing was committed (ErrClosed once closed), but for
	// Raft's timeouts and closes mid-change, which leave it unknown.
	Propose(recs []metadata.Record) (*metadata.Image, error)
	// NextOffset is the metadata log offset the next change's first
	// record will get (a new broker's epoch); -1 once closed.
	NextOffset() int64
	// Quorum describes the metadata quorum as this node sees it, for
	// DescribeQuorum.
	Quorum() Quorum
	// Close waits for a change in progress; later ones get ErrClosed.
	Close() error
}

// ErrClosed answers changes proposed after Close.
var ErrClosed = errors.New("the controller is closed")

// Quorum is the metadata quorum's state as DescribeQuorum reports it
// (KIP-595, KIP-836): the leader, its epoch, the high watermark, and the
// voters and observers with what the leader knows of their logs.
type Quorum struct {
	LeaderID      int32 // -1: unknown
	LeaderEpoch   int32
	HighWatermark int64
	Voters        []Replica
	Observers     []Replica
}

// Replica is one voter or observer of the quorum: its log end offset (-1
// unknown) and, in the leader's wall-clock ms, when it last fetched and
// when it was last caught up to the leader's log end (-1 unknown).
type Replica struct {
	ID             int32
	DirectoryID    [16]byte // KIP-853's; zero for a static voter
	LogEndOffset   int64
	LastFetchMs    int64
	LastCaughtUpMs int64
}
