package controller

import (
	"fmt"

	"github.com/weirmq/weir/engine/metadata"
)

// The apply code of both proposers: Local and Raft build their images
// the same way, so that a voter's image and a single node's agree.

// replay is base with the records of a log or a snapshot applied: the
// image at open, or the one a snapshot installs (which replaces the
// image: base holds only what is not in the log).
func replay(base *metadata.Image, recs []metadata.Record, what string) (*metadata.Image, error) {
	im, err := base.Apply(recs...)
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", what, err)
	}
	return im, nil
}

// applyProposed is im with a proposed change applied. Records that do not
// apply to the image they were planned against are the planner's bug.
func applyProposed(im *metadata.Image, recs []metadata.Record) *metadata.Image {
	next, err := im.Apply(recs...)
	if err != nil {
		panic(fmt.Sprintf("controller: proposed records that do not apply: %v: %+v", err, recs))
	}
	return next
}

// snapshotRecords are the records a snapshot of im holds.
func snapshotRecords(im *metadata.Image) []metadata.Record { return im.Records() }
