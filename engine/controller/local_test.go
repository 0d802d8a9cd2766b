package controller

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weirmq/weir/engine/metadata"
)

func openLocal(t *testing.T, dir string, opts LocalOptions) *Local {
	t.Helper()
	c, err := OpenLocal(dir, cluster(t, 1), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A proposal is committed durably: a reopened log replays it onto the
// base image.
func TestLocalProposeReplays(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "__cluster_metadata-0")
	c := openLocal(t, dir, LocalOptions{NodeID: 1})
	im, err := c.Propose(topicRecs("a", 1, []int32{1}, []int32{1}))
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := im.Topic("a"); !ok || len(a.Partitions) != 2 || c.Image() != im {
		t.Fatalf("committed image: %+v", a)
	}
	before := im.Records()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Propose(topicRecs("b", 2, []int32{1})); !errors.Is(err, ErrClosed) {
		t.Fatalf("propose after close: %v", err)
	}
	c = openLocal(t, dir, LocalOptions{NodeID: 1})
	defer c.Close()
	if after := c.Image().Records(); !reflect.DeepEqual(after, before) {
		t.Fatalf("replayed\n%+v\nwant\n%+v", after, before)
	}
}

// Past SnapshotBytes the image is snapshotted and the older segments go;
// the replay starts from the snapshot.
func TestLocalSnapshots(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "__cluster_metadata-0")
	c := openLocal(t, dir, LocalOptions{NodeID: 1, SnapshotBytes: 1024})
	for i := byte(1); i <= 20; i++ {
		if _, err := c.Propose(topicRecs("t"+string('a'+rune(i)), i, []int32{1})); err != nil {
			t.Fatal(err)
		}
	}
	st := c.LogState()
	if st.Snapshot.EndOffset == 0 || st.StartOffset != st.Snapshot.EndOffset || st.Size > 2048 {
		t.Fatalf("log state %+v", st)
	}
	before := c.Image().Records()
	c.Close()
	c = openLocal(t, dir, LocalOptions{NodeID: 1})
	defer c.Close()
	if after := c.Image().Records(); !reflect.DeepEqual(after, before) {
		t.Fatal("image after replay from the snapshot differs")
	}
}

// Records that do not apply are the planner's bug: Propose panics and
// writes nothing.
func TestLocalProposePanicsOnBadRecords(t *testing.T) {
	c := openLocal(t, t.TempDir(), LocalOptions{NodeID: 1})
	defer c.Close()
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "do not apply") {
			t.Fatalf("recovered %v", r)
		}
		if len(c.Image().Topics()) != 0 {
			t.Fatal("image changed")
		}
	}()
	c.Propose([]metadata.Record{metadata.PartitionRecord{TopicID: [16]byte{9}, Replicas: []int32{1}, Leader: 1}})
}

// The one-voter quorum: this node leads in the log's epoch, and its log
// end is the high watermark and its own end offset; its times are now.
// NextOffset is where the next change starts.
func TestLocalQuorum(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	dir := t.TempDir()
	c := openLocal(t, dir, LocalOptions{NodeID: 3, Now: func() time.Time { return now }})
	// The log holds a LeaderChange (offset 0) and metadata.version (1).
	if got := c.NextOffset(); got != 2 {
		t.Fatalf("next offset %d", got)
	}
	if _, err := c.Propose(topicRecs("a", 1, []int32{1})); err != nil {
		t.Fatal(err)
	}
	want := Quorum{LeaderID: 3, LeaderEpoch: 1, HighWatermark: 4,
		Voters: []Replica{{ID: 3, LogEndOffset: 4, LastFetchMs: now.UnixMilli(), LastCaughtUpMs: now.UnixMilli()}}}
	if q := c.Quorum(); !reflect.DeepEqual(q, want) || c.NextOffset() != 4 {
		t.Fatalf("quorum %+v next %d", q, c.NextOffset())
	}
	c.Close()
	c = openLocal(t, dir, LocalOptions{NodeID: 3, Now: func() time.Time { return now }})
	defer c.Close()
	if q := c.Quorum(); q.LeaderEpoch != 2 || q.HighWatermark != 5 { // a new epoch's LeaderChange
		t.Fatalf("reopened: %+v", q)
	}
}

// Past SnapshotInterval since the last snapshot (or the open), a change
// writes a snapshot even when the log is small.
func TestLocalSnapshotInterval(t *testing.T) {
	now := time.Unix(1000, 0)
	c := openLocal(t, t.TempDir(), LocalOptions{NodeID: 1, Now: func() time.Time { return now },
		SnapshotInterval: time.Hour})
	defer c.Close()
	c.Propose(topicRecs("a", 1, []int32{1}))
	if c.LogState().Snapshot.EndOffset != 0 {
		t.Fatal("snapshot before the interval")
	}
	now = now.Add(time.Hour)
	c.Propose(topicRecs("b", 2, []int32{1}))
	if st := c.LogState(); st.Snapshot.EndOffset != 6 {
		t.Fatalf("no snapshot after the interval: %+v", st)
	}
	now = now.Add(time.Minute)
	c.Propose(topicRecs("c", 3, []int32{1}))
	if st := c.LogState(); st.Snapshot.EndOffset != 6 {
		t.Fatalf("snapshot again within the interval: %+v", st)
	}
}
