package quorum

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weirmq/weir/logstore/metalog"
)

// Ticks of the tests: an election timeout of 200-400 ms, heartbeats every
// 20 ms; long enough for -race on a shared machine not to see elections
// that nothing caused.
const (
	testTick          = 10 * time.Millisecond
	testElectionTicks = 20
)

// maxElection is "two election timeouts": twice the longest timeout raft
// draws (2 x ElectionTicks ticks).
const maxElection = 2 * 2 * testElectionTicks * testTick

// topic is the test's change i.
func topic(i int) metalog.Record {
	return metalog.TopicRecord{Name: fmt.Sprintf("t%d", i), ID: metalog.UUID{0: byte(i), 1: byte(i >> 8), 15: 7}}
}

// testNode is a node with its state machine: the image is the list of
// records applied, which a snapshot replaces.
type testNode struct {
	id   int32
	dir  string
	tr   Transport
	node *Node

	mu        sync.Mutex
	image     []metalog.Record
	index     uint64 // last applied
	snapshots int    // snapshots installed (at open or from a leader)
}

func (tn *testNode) onApply(ch Change) {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	if ch.Index <= tn.index && !ch.Snapshot {
		panic(fmt.Sprintf("node %d: change %d applied after %d", tn.id, ch.Index, tn.index))
	}
	if ch.Snapshot {
		tn.image = slices.Clone(ch.Records)
		tn.snapshots++
	} else {
		tn.image = append(tn.image, ch.Records...)
	}
	tn.index = ch.Index
}

func (tn *testNode) records() []metalog.Record {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	return slices.Clone(tn.image)
}

type cluster struct {
	mu     sync.Mutex // guards testNode.node
	t      *testing.T
	net    *Network
	voters []int32
	nodes  map[int32]*testNode
	tweak  func(*Config)
	// transport makes node id's transport at each start; an in-memory
	// network's endpoint unless set.
	transport func(id int32) Transport
}

// newCluster starts nodes 1..n over an in-memory network.
func newCluster(t *testing.T, n int, tweak func(*Config)) *cluster {
	c := makeCluster(t, n, tweak)
	c.startAll()
	return c
}

func makeCluster(t *testing.T, n int, tweak func(*Config)) *cluster {
	c := &cluster{t: t, net: NewNetwork(uint64(n)), nodes: map[int32]*testNode{}, tweak: tweak}
	c.transport = func(id int32) Transport { return c.net.Endpoint(id) }
	base := t.TempDir()
	for i := range int32(n) {
		id := i + 1
		c.voters = append(c.voters, id)
		c.nodes[id] = &testNode{id: id, dir: filepath.Join(base, fmt.Sprintf("node-%d", id), metalog.DirName)}
	}
	t.Cleanup(c.closeAll)
	return c
}

func (c *cluster) startAll() {
	for _, id := range c.voters {
		c.start(id)
	}
}

func (c *cluster) config(tn *testNode) Config {
	cfg := Config{NodeID: tn.id, Voters: c.voters, Dir: tn.dir, Transport: tn.tr,
		Tick: testTick, ElectionTicks: testElectionTicks, HeartbeatTicks: 2,
		OnApply: tn.onApply, SnapshotRecords: tn.records}
	if os.Getenv("WEIR_QUORUM_LOG") != "" { // to debug a test
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if c.tweak != nil {
		c.tweak(&cfg)
	}
	return cfg
}

// start opens node id from its directory (a start or a restart).
func (c *cluster) start(id int32) {
	c.t.Helper()
	tn := c.nodes[id]
	if c.node(id) != nil {
		c.t.Fatalf("node %d is running", id)
	}
	tn.mu.Lock()
	tn.image, tn.index = nil, 0
	tn.mu.Unlock()
	tn.tr = c.transport(id)
	n, err := Open(c.config(tn))
	if err != nil {
		c.t.Fatalf("open node %d: %v", id, err)
	}
	c.mu.Lock()
	tn.node = n
	c.mu.Unlock()
}

// node is node id's Node, nil when stopped.
func (c *cluster) node(id int32) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tn := c.nodes[id]; tn != nil {
		return tn.node
	}
	return nil
}

// stop closes node id, as a process that stops.
func (c *cluster) stop(id int32) {
	c.t.Helper()
	c.mu.Lock()
	n := c.nodes[id].node
	c.nodes[id].node = nil
	c.mu.Unlock()
	c.net.Remove(id)
	if err := n.Close(); err != nil {
		c.t.Fatalf("close node %d: %v", id, err)
	}
	if cl, ok := c.nodes[id].tr.(io.Closer); ok {
		cl.Close()
	}
}

func (c *cluster) closeAll() {
	for _, id := range c.running() {
		c.stop(id)
	}
	c.net.Close()
}

func (c *cluster) running() []int32 {
	var out []int32
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range c.voters {
		if c.nodes[id].node != nil {
			out = append(out, id)
		}
	}
	return out
}

// waitLeader waits until every running node names the same leader, one
// of them, which says it leads; it returns it and how long that took.
func (c *cluster) waitLeader(timeout time.Duration) (int32, time.Duration) {
	c.t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if id, ok := c.agreedLeader(); ok {
			return id, time.Since(start)
		}
		time.Sleep(testTick / 2)
	}
	c.t.Fatalf("no leader agreed on within %v: %v", timeout, c.statuses())
	return -1, 0
}

func (c *cluster) agreedLeader() (int32, bool) {
	leader := int32(-2)
	for _, id := range c.running() {
		n := c.node(id)
		if n == nil {
			return -1, false
		}
		st := n.Status()
		if leader == -2 {
			leader = st.Leader
		}
		if st.Leader < 0 || st.Leader != leader {
			return -1, false
		}
	}
	if n := c.node(leader); n == nil || n.Status().Role != RoleLeader {
		return -1, false
	}
	return leader, true
}

func (c *cluster) statuses() []Status {
	var out []Status
	for _, id := range c.running() {
		if n := c.node(id); n != nil {
			out = append(out, n.Status())
		}
	}
	return out
}

// propose proposes on node id with a deadline.
func (c *cluster) propose(id int32, recs ...metalog.Record) (Change, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n := c.node(id)
	if n == nil {
		return Change{}, ErrClosed
	}
	return n.Propose(ctx, recs)
}

// mustPropose proposes on the current leader, retrying while leadership
// moves.
func (c *cluster) mustPropose(recs ...metalog.Record) Change {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		id, _ := c.waitLeader(10 * time.Second)
		ch, err := c.propose(id, recs...)
		if err == nil {
			return ch
		}
		var nl *NotLeaderError
		if !errors.As(err, &nl) {
			c.t.Fatalf("propose on %d: %v", id, err)
		}
	}
	c.t.Fatalf("no leader took the change")
	return Change{}
}

// waitConverged waits until every running node applied the same image at
// the same index, the leader's commit, and returns the image.
func (c *cluster) waitConverged(timeout time.Duration) []metalog.Record {
	c.t.Helper()
	start := time.Now()
	for {
		leader, _ := c.waitLeader(timeout)
		commit := c.node(leader).Status().Commit
		same := true
		var img []metalog.Record
		for i, id := range c.running() {
			tn := c.nodes[id]
			st := c.node(id).Status()
			if st.Applied != commit || st.LastIndex != commit {
				same = false
				break
			}
			r := tn.records()
			if i == 0 {
				img = r
			} else if !reflect.DeepEqual(img, r) {
				same = false
				break
			}
		}
		if same {
			return img
		}
		if time.Since(start) > timeout {
			c.t.Fatalf("nodes did not converge within %v: %+v", timeout, c.statuses())
		}
		time.Sleep(testTick)
	}
}

// batchSummary is what must be equal in every node's copy of a batch.
type batchSummary struct {
	Last    int64
	Epoch   int32
	Records []metalog.Record
	Leader  int32 // of a LeaderChange; -2 for other batches
}

// readLog reads a stopped node's metadata log: its batches by offset.
func readLog(t *testing.T, dir string) (map[int64]batchSummary, int64, int64) {
	t.Helper()
	l, err := metalog.OpenQuorum(dir, metalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	out := map[int64]batchSummary{}
	start := l.LatestSnapshot().EndOffset
	err = l.ReadBatches(start, func(b metalog.Batch) error {
		s := batchSummary{Last: b.LastOffset(), Epoch: b.LeaderEpoch, Records: b.Records, Leader: -2}
		if len(b.Controls) == 1 {
			if lc, ok := b.Controls[0].(metalog.LeaderChange); ok {
				s.Leader = lc.LeaderID
			}
		}
		out[b.BaseOffset] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, start, l.EndOffset()
}

// compareLogs stops every node and checks that their logs hold the same
// batches at the same offsets with the same epochs, and end alike.
func (c *cluster) compareLogs() {
	c.t.Helper()
	// Followers first: the leader alone appends nothing, while followers
	// left without a leader would elect one and append.
	leader, _ := c.agreedLeader()
	for _, id := range c.running() {
		if id != leader {
			c.stop(id)
		}
	}
	if c.node(leader) != nil {
		c.stop(leader)
	}
	var (
		ref    map[int64]batchSummary
		refEnd int64
		refID  int32
	)
	for _, id := range c.voters {
		logs, start, end := readLog(c.t, c.nodes[id].dir)
		if len(logs) == 0 && start == 0 {
			c.t.Fatalf("node %d has an empty log", id)
		}
		if ref == nil {
			ref, refEnd, refID = logs, end, id
			continue
		}
		if end != refEnd {
			c.t.Errorf("node %d's log ends at %d, node %d's at %d", id, end, refID, refEnd)
		}
		for off, b := range logs {
			if rb, ok := ref[off]; ok && !reflect.DeepEqual(b, rb) {
				c.t.Errorf("offset %d: node %d has %+v, node %d %+v", off, id, b, refID, rb)
			}
		}
	}
}

func segmentFiles(t *testing.T, dir, suffix string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if filepath.Ext(e.Name()) == suffix {
			out = append(out, e.Name())
		}
	}
	return out
}
