package controller

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/engine/quorum"
	"github.com/weirmq/weir/logstore/metalog"
)

// Ticks of the quorum tests: elections in 200-400 ms, heartbeats every
// 20 ms, slow enough for -race on a shared machine.
const (
	raftTick          = 10 * time.Millisecond
	raftElectionTicks = 20
	raftWait          = 10 * time.Second
)

// raftCluster is three voters over quorum's in-memory network, each with
// its directory under one temp dir.
type raftCluster struct {
	t      *testing.T
	net    *quorum.Network
	voters []int32
	dirs   map[int32]string
	tweak  func(*quorum.Config)

	mu    sync.Mutex
	nodes map[int32]*Raft // nil: stopped
}

func newRaftCluster(t *testing.T, tweak func(*quorum.Config)) *raftCluster {
	c := &raftCluster{t: t, net: quorum.NewNetwork(3), voters: []int32{1, 2, 3}, dirs: map[int32]string{},
		tweak: tweak, nodes: map[int32]*Raft{}}
	base := t.TempDir()
	for _, id := range c.voters {
		c.dirs[id] = filepath.Join(base, fmt.Sprintf("node-%d", id), metalog.DirName)
	}
	t.Cleanup(func() {
		for _, id := range c.running() {
			c.stop(id)
		}
		c.net.Close()
	})
	for _, id := range c.voters {
		c.start(id)
	}
	return c
}

func (c *raftCluster) start(id int32) {
	c.t.Helper()
	cfg := quorum.Config{NodeID: id, Voters: c.voters, Dir: c.dirs[id], Transport: c.net.Endpoint(id),
		Tick: raftTick, ElectionTicks: raftElectionTicks, HeartbeatTicks: 2}
	if c.tweak != nil {
		c.tweak(&cfg)
	}
	r, err := OpenRaft(cfg, metadata.New("cluster", id, id, nil, nil), RaftOptions{Poll: 20 * time.Millisecond})
	if err != nil {
		c.t.Fatalf("open node %d: %v", id, err)
	}
	c.mu.Lock()
	c.nodes[id] = r
	c.mu.Unlock()
}

func (c *raftCluster) stop(id int32) {
	c.t.Helper()
	c.mu.Lock()
	r := c.nodes[id]
	c.nodes[id] = nil
	c.mu.Unlock()
	c.net.Remove(id)
	if err := r.Close(); err != nil {
		c.t.Fatalf("close node %d: %v", id, err)
	}
}

func (c *raftCluster) node(id int32) *Raft {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id]
}

func (c *raftCluster) running() []int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int32
	for _, id := range c.voters {
		if c.nodes[id] != nil {
			out = append(out, id)
		}
	}
	return out
}

// waitLeader waits until every running node names the same leader, which
// says it leads, and returns it.
func (c *raftCluster) waitLeader() int32 {
	c.t.Helper()
	deadline := time.Now().Add(raftWait)
	for time.Now().Before(deadline) {
		leader, ok := int32(-2), true
		for _, id := range c.running() {
			q := c.node(id).Quorum()
			if leader == -2 {
				leader = q.LeaderID
			}
			ok = ok && q.LeaderID >= 0 && q.LeaderID == leader
		}
		if ok && c.node(leader) != nil && c.node(leader).Node().Status().Role == quorum.RoleLeader {
			return leader
		}
		time.Sleep(raftTick)
	}
	c.t.Fatalf("no leader agreed on within %v", raftWait)
	return -1
}

// propose proposes recs on the leader, again while leadership moves.
func (c *raftCluster) propose(recs []metadata.Record) *metadata.Image {
	c.t.Helper()
	deadline := time.Now().Add(raftWait)
	for time.Now().Before(deadline) {
		im, err := c.node(c.waitLeader()).Propose(recs)
		if err == nil {
			return im
		}
		var nc *NotControllerError
		if !errors.As(err, &nc) {
			c.t.Fatalf("propose: %v", err)
		}
	}
	c.t.Fatal("no leader took the change")
	return nil
}

// waitImages waits until every running node's image has the records of
// the leader's, and returns them.
func (c *raftCluster) waitImages() []metadata.Record {
	c.t.Helper()
	deadline := time.Now().Add(raftWait)
	var want []metadata.Record
	for time.Now().Before(deadline) {
		want = c.node(c.waitLeader()).Image().Records()
		same := true
		for _, id := range c.running() {
			same = same && reflect.DeepEqual(c.node(id).Image().Records(), want)
		}
		if same {
			return want
		}
		time.Sleep(raftTick)
	}
	c.t.Fatalf("images differ after %v; the leader's: %+v", raftWait, want)
	return nil
}

// createTopic is topic name's records (one partition on 1, 2, 3).
func createTopic(name string, id byte) []metadata.Record {
	return topicRecs(name, id, []int32{1, 2, 3})
}

func hasTopics(im *metadata.Image, names ...string) bool {
	for _, n := range names {
		if _, ok := im.Topic(n); !ok {
			return false
		}
	}
	return true
}

// A leader is elected and commits metadata.version as the log's first
// change; topics created through it appear in every voter's image, and
// a follower refuses a change with the leader's id.
func TestRaftProposeReplicates(t *testing.T) {
	c := newRaftCluster(t, nil)
	leader := c.waitLeader()
	deadline := time.Now().Add(raftWait)
	for c.node(leader).Image().FeatureLevel(metalog.MetadataVersionFeature) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the leader did not commit metadata.version")
		}
		time.Sleep(raftTick)
	}
	im, err := c.node(leader).Propose(createTopic("a", 1))
	if err != nil {
		t.Fatal(err)
	}
	if !hasTopics(im, "a") || c.node(leader).Image() != im {
		t.Fatalf("the leader's image after Propose: %+v", im.Topics())
	}
	c.propose(createTopic("b", 2))
	recs := c.waitImages()
	if f, ok := recs[0].(metadata.FeatureLevelRecord); !ok || f.Name != metalog.MetadataVersionFeature {
		t.Fatalf("first record %+v", recs[0])
	}
	for _, id := range c.voters {
		if im := c.node(id).Image(); !hasTopics(im, "a", "b") || im.FeatureLevel(metalog.MetadataVersionFeature) != metalog.MetadataVersion {
			t.Fatalf("node %d's image: %+v", id, im.Records())
		}
	}
	leader = c.waitLeader()
	for _, id := range c.voters {
		if id == leader {
			continue
		}
		_, err := c.node(id).Propose(createTopic("c", 3))
		var nc *NotControllerError
		if !errors.As(err, &nc) || nc.Leader != leader {
			t.Fatalf("propose on follower %d: %v, want the leader %d", id, err, leader)
		}
	}
	r1 := c.node(1)
	// metadata.version is the log's first record, and in no other batch.
	for _, id := range c.running() {
		c.stop(id)
	}
	var mv []int64
	l, err := metalog.OpenQuorum(c.dirs[1], metalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	first := int64(-1)
	err = l.ReadBatches(0, func(b metalog.Batch) error {
		for _, r := range b.Records {
			if first < 0 {
				first = b.BaseOffset
				if f, ok := r.(metalog.FeatureLevelRecord); !ok || f.Name != metalog.MetadataVersionFeature {
					t.Errorf("the log's first record is %+v", r)
				}
			}
			if f, ok := r.(metalog.FeatureLevelRecord); ok && f.Name == metalog.MetadataVersionFeature {
				mv = append(mv, b.BaseOffset)
			}
		}
		return nil
	})
	if err != nil || len(mv) != 1 {
		t.Fatalf("metadata.version at offsets %v (%v)", mv, err)
	}
	if _, err := r1.Propose(createTopic("d", 4)); !errors.Is(err, ErrClosed) {
		t.Fatalf("propose after close: %v", err)
	}
}

// The leader stopped: a new one is elected, every committed change is in
// every image, and it takes changes; the old leader restarted from its
// directory comes back to the same image.
func TestRaftFailoverAndRestart(t *testing.T) {
	c := newRaftCluster(t, nil)
	for i := byte(1); i <= 5; i++ {
		c.propose(createTopic(fmt.Sprintf("t%d", i), i))
	}
	old := c.waitLeader()
	c.stop(old)
	leader := c.waitLeader()
	if leader == old {
		t.Fatalf("node %d still leads after it stopped", old)
	}
	im := c.propose(createTopic("after", 9))
	if !hasTopics(im, "t1", "t2", "t3", "t4", "t5", "after") {
		t.Fatalf("the new leader's image: %+v", im.Topics())
	}
	want := c.waitImages()
	c.start(old)
	if got := c.waitImages(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the restart\n%+v\nwant\n%+v", got, want)
	}
	if !hasTopics(c.node(old).Image(), "after") {
		t.Fatal("the restarted node lacks the change made while it was down")
	}
}

// A voter that stopped while the others wrote snapshots and compacted
// their logs past it installs the leader's snapshot and has its image;
// a voter restarted from its own snapshot has the same image too.
func TestRaftSnapshotInstall(t *testing.T) {
	c := newRaftCluster(t, func(cfg *quorum.Config) {
		cfg.SnapshotBytes, cfg.RetainEntries, cfg.SegmentBytes = 512, -1, 1024
	})
	c.propose(createTopic("first", 1))
	c.waitImages()
	leader := c.waitLeader()
	behind := c.voters[0]
	if behind == leader {
		behind = c.voters[1]
	}
	c.stop(behind)
	for i := byte(2); i <= 40; i++ {
		c.propose(createTopic(fmt.Sprintf("t%02d", i), i))
	}
	want := c.waitImages()
	c.start(behind)
	if got := c.waitImages(); !reflect.DeepEqual(got, want) {
		t.Fatalf("the voter behind has\n%+v\nwant\n%+v", got, want)
	}
	if n := c.net.Delivered(pb.MsgSnap); n == 0 {
		t.Fatal("no snapshot was sent: the voter caught up from entries")
	}
	// Restarted from its own snapshot (and log).
	c.stop(behind)
	c.start(behind)
	if got := c.waitImages(); !reflect.DeepEqual(got, want) {
		t.Fatal("the image after a restart from a snapshot differs")
	}
}

// Quorum on the leader names it, its term and three voters with their log
// end offsets and times; a stopped voter falls behind; a follower knows
// the leader and the epoch.
func TestRaftQuorum(t *testing.T) {
	c := newRaftCluster(t, nil)
	c.propose(createTopic("a", 1))
	c.waitImages()
	leader := c.waitLeader()
	var q Quorum
	deadline := time.Now().Add(raftWait)
	for {
		q = c.node(leader).Quorum()
		caught := 0
		for _, v := range q.Voters {
			if v.LogEndOffset == q.HighWatermark && v.LastCaughtUpMs > 0 && v.LastFetchMs > 0 {
				caught++
			}
		}
		if caught == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("quorum %+v", q)
		}
		time.Sleep(raftTick)
	}
	st := c.node(leader).Node().Status()
	if q.LeaderID != leader || q.LeaderEpoch != int32(st.Term) || q.LeaderEpoch < 1 || len(q.Voters) != 3 ||
		q.HighWatermark != c.node(leader).NextOffset() {
		t.Fatalf("quorum %+v; status %+v, next offset %d", q, st, c.node(leader).NextOffset())
	}
	for i, v := range q.Voters {
		if v.ID != c.voters[i] {
			t.Fatalf("voters %+v", q.Voters)
		}
	}
	lagging := c.voters[0]
	if lagging == leader {
		lagging = c.voters[2]
	}
	c.stop(lagging)
	for i := byte(2); i <= 4; i++ {
		c.propose(createTopic(fmt.Sprintf("t%d", i), i))
	}
	q = c.node(leader).Quorum()
	for _, v := range q.Voters {
		if v.ID == lagging && (v.LogEndOffset >= q.HighWatermark || v.LastCaughtUpMs <= 0) {
			t.Fatalf("the stopped voter %d: %+v (high watermark %d)", lagging, v, q.HighWatermark)
		}
	}
	for _, id := range c.running() {
		if id == leader {
			continue
		}
		if fq := c.node(id).Quorum(); fq.LeaderID != leader || fq.LeaderEpoch != q.LeaderEpoch || len(fq.Voters) != 3 {
			t.Fatalf("follower %d's quorum %+v", id, fq)
		}
	}
}

// A committed change that does not apply is skipped: the image stays, and
// its proposer would learn it from ErrStaleImage.
func TestRaftSkipsChangeThatDoesNotApply(t *testing.T) {
	base := metadata.New("cluster", 1, 1, nil, nil)
	r := &Raft{nodeID: 1, base: base, im: base, logger: slog.New(slog.DiscardHandler)}
	r.onApply(quorum.Change{Index: 3, Term: 1, Records: createTopic("a", 1)})
	before := r.Image()
	r.onApply(quorum.Change{Index: 4, Term: 1, Records: createTopic("a", 2)})
	if r.Image() != before || r.index != 4 || r.recent[4%recentImages].err == nil {
		t.Fatalf("image %+v, index %d, recent %+v", r.Image().Topics(), r.index, r.recent[4%recentImages])
	}
	r.onApply(quorum.Change{Index: 5, Term: 1, Records: createTopic("b", 2)})
	if !hasTopics(r.Image(), "a", "b") {
		t.Fatalf("image after the skipped change: %+v", r.Image().Records())
	}
}

// Topics are created one after another while the leader is stopped: every
// acknowledged one is in every image afterwards, and the images agree.
func TestRaftFailoverUnderLoad(t *testing.T) {
	c := newRaftCluster(t, nil)
	c.waitLeader()
	acked := make(chan string, 64)
	done := make(chan error, 1)
	go func() {
		defer close(acked)
		for i := byte(1); i <= 30; i++ {
			name := fmt.Sprintf("t%02d", i)
			deadline := time.Now().Add(raftWait)
			for {
				if time.Now().After(deadline) {
					done <- fmt.Errorf("%s: no leader took it", name)
					return
				}
				var r *Raft
				for _, id := range c.running() {
					if n := c.node(id); n != nil && n.Node().Status().Role == quorum.RoleLeader {
						r = n
					}
				}
				if r == nil {
					time.Sleep(raftTick)
					continue
				}
				_, err := r.Propose(createTopic(name, i))
				if err == nil {
					acked <- name
					break
				}
				if errors.Is(err, ErrStaleImage) { // it committed before the leader stopped
					break
				}
				time.Sleep(raftTick) // NotControllerError, ErrClosed, a timeout: try again
			}
		}
		done <- nil
	}()
	var names []string
	for name := range acked {
		names = append(names, name)
		if len(names) == 10 {
			c.stop(c.waitLeader())
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.waitImages()
	for _, id := range c.running() {
		if im := c.node(id).Image(); !hasTopics(im, names...) {
			t.Fatalf("node %d lacks acknowledged topics: has %d of %d", id, len(im.Topics()), len(names))
		}
	}
}
