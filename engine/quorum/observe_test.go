package quorum

import (
	"errors"
	"testing"

	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/logstore/metalog"
)

// An observer reads the committed batches from the leader only, from any
// batch offset, bounded by maxBytes; once the leader's log is compacted
// below the offset, it is told the snapshot to start from and reads it
// whole; its records are the image up to there.
func TestReadCommitted(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) {
		cfg.SnapshotBytes, cfg.RetainEntries, cfg.SegmentBytes = 1<<30, 5, 16<<10
	})
	leader, _ := c.waitLeader(maxElection)
	for i := 0; i < 20; i++ {
		c.mustPropose(topic(i))
	}
	for _, id := range c.voters {
		if id == leader {
			continue
		}
		var nl *NotLeaderError
		if _, err := c.node(id).ReadCommitted(0, 1<<20); !errors.As(err, &nl) || nl.Leader != leader {
			t.Errorf("node %d answered an observer: %v", id, err)
		}
	}
	got, err := c.node(leader).ReadCommitted(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got.Snapshot.EndOffset != -1 || got.HighWatermark <= 0 {
		t.Fatalf("read %+v", got)
	}
	var recs []metalog.Record
	next := int64(0)
	for buf := got.Batches; len(buf) > 0; {
		size := logstore.Batch(buf).Size()
		b, err := metalog.DecodeBatch(buf[:size])
		if err != nil {
			t.Fatal(err)
		}
		if b.BaseOffset != next {
			t.Fatalf("batch at %d, want %d", b.BaseOffset, next)
		}
		recs = append(recs, b.Records...)
		next, buf = b.LastOffset()+1, buf[size:]
	}
	if next != got.HighWatermark || len(recs) != 20 {
		t.Fatalf("read to %d (high watermark %d), %d records", next, got.HighWatermark, len(recs))
	}
	// Bounded: the first batch alone, however small maxBytes is.
	one, err := c.node(leader).ReadCommitted(0, 1)
	if err != nil || len(one.Batches) == 0 || logstore.Batch(one.Batches).Size() != int64(len(one.Batches)) {
		t.Fatalf("bounded read: %d bytes, %v", len(one.Batches), err)
	}
	// Past the high watermark: nothing yet.
	if none, err := c.node(leader).ReadCommitted(got.HighWatermark, 1<<20); err != nil || len(none.Batches) != 0 {
		t.Fatalf("read at the high watermark: %d bytes, %v", len(none.Batches), err)
	}

	// A snapshot, the log compacted below it: offset 0 is gone.
	c = newCluster(t, 3, func(cfg *Config) { cfg.SnapshotBytes, cfg.RetainEntries, cfg.SegmentBytes = 1<<9, 2, 4<<10 })
	leader, _ = c.waitLeader(maxElection)
	for i := 0; i < 100; i++ {
		c.mustPropose(topic(i))
	}
	c.waitConverged(maxElection)
	got, err = c.node(leader).ReadCommitted(0, 1<<20)
	if err != nil || got.Snapshot.EndOffset <= 0 {
		t.Fatalf("read below the log: %+v %v", got.Snapshot, err)
	}
	data, err := c.node(leader).SnapshotData(got.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	snap, _, err := metalog.DecodeSnapshot(data)
	if err != nil || len(snap) == 0 {
		t.Fatalf("snapshot: %d records, %v", len(snap), err)
	}
	if _, err := c.node(leader).SnapshotData(metalog.SnapshotID{EndOffset: 1, Epoch: 1}); err == nil {
		t.Errorf("an unknown snapshot was served")
	}
}
