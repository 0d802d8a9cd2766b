package quorum

import (
	"errors"
	"fmt"

	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/logstore/metalog"
)

// Committed is what the leader's log holds for an observer (a broker that
// is not a voter) from an offset on, as Kafka's KRaft Fetch answers it:
// whole batches of committed entries, or the snapshot to start from when
// the offset is below the log.
type Committed struct {
	Batches       []byte             // whole batches from the offset asked, all committed
	HighWatermark int64              // the offset after the last committed entry
	Epoch         int32              // the leader's epoch (term)
	Snapshot      metalog.SnapshotID // set (EndOffset >= 0) when the offset is below the log
}

// ReadCommitted returns the committed batches from offset from on, at
// most maxBytes of them (at least one batch when there is one), or the
// snapshot to fetch instead when from is below the log (compacted). Only
// the leader answers; others return *NotLeaderError.
func (n *Node) ReadCommitted(from int64, maxBytes int) (Committed, error) {
	var out Committed
	var err error
	ok := n.do(func() { out, err = n.readCommitted(from, maxBytes) })
	if !ok {
		return Committed{}, ErrClosed
	}
	return out, err
}

var errEnough = errors.New("enough")

func (n *Node) readCommitted(from int64, maxBytes int) (Committed, error) {
	bs := n.rn.BasicStatus()
	if bs.Lead != n.id {
		return Committed{}, &NotLeaderError{Leader: NodeID(bs.Lead)}
	}
	s := n.st
	out := Committed{HighWatermark: s.endOffset(bs.GetCommit()), Epoch: epochOf(bs.GetTerm()),
		Snapshot: metalog.SnapshotID{EndOffset: -1, Epoch: -1}}
	if from < s.base.end || from < s.log.StartOffset() {
		// Below what the log keeps: the observer starts from the snapshot.
		if id := s.log.LatestSnapshot(); id.EndOffset > 0 {
			out.Snapshot = id
			return out, nil
		}
	}
	if from >= out.HighWatermark {
		return out, nil
	}
	err := s.log.ReadRaw(from, func(p []byte) error {
		b := logstore.Batch(p)
		if b.BaseOffset() >= out.HighWatermark || len(out.Batches) > 0 && len(out.Batches)+len(p) > maxBytes {
			return errEnough
		}
		out.Batches = append(out.Batches, p...)
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return Committed{}, fmt.Errorf("quorum: reading committed batches from %d: %w", from, err)
	}
	return out, nil
}

// SnapshotData returns the bytes of snapshot id (a .checkpoint file) for
// an observer; an error when it is no longer the newest kept.
func (n *Node) SnapshotData(id metalog.SnapshotID) ([]byte, error) {
	var data []byte
	var err error
	ok := n.do(func() {
		if n.st.log.LatestSnapshot() != id {
			err = fmt.Errorf("quorum: snapshot %v is not the newest (%v)", id, n.st.log.LatestSnapshot())
			return
		}
		data, err = n.st.log.ReadSnapshot(id)
	})
	if !ok {
		return nil, ErrClosed
	}
	return data, err
}
