package controller

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

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

// Register swaps this broker's endpoints into the image.
func TestLocalRegister(t *testing.T) {
	c := openLocal(t, t.TempDir(), LocalOptions{NodeID: 1})
	defer c.Close()
	self := metadata.Broker{NodeID: 1, Endpoints: map[string]metadata.Endpoint{"PLAINTEXT": {Host: "h", Port: 9092}}}
	im, err := c.Register(self)
	if err != nil || !reflect.DeepEqual(im.Brokers(), []metadata.Broker{self}) || c.Image() != im {
		t.Fatalf("register: %v %+v", err, im.Brokers())
	}
}
