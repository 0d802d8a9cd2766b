package quorum

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/logstore/metalog"
)

func TestElectLeader(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader, took := c.waitLeader(maxElection)
	t.Logf("node %d elected in %v (bound %v)", leader, took, maxElection)
	st := c.node(leader).Status()
	if st.Term == 0 || len(st.Voters) != 3 {
		t.Fatalf("leader status %+v", st)
	}
	leaders := 0
	for _, id := range c.voters {
		if c.node(id).Status().Role == RoleLeader {
			leaders++
		}
	}
	if leaders != 1 {
		t.Fatalf("%d leaders", leaders)
	}
}

func TestProposeCommitsEverywhere(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader, _ := c.waitLeader(maxElection)
	follower := c.voters[0]
	if follower == leader {
		follower = c.voters[1]
	}
	_, err := c.propose(follower, topic(0))
	var nl *NotLeaderError
	if !errors.As(err, &nl) || nl.Leader != leader {
		t.Fatalf("propose on follower %d: %v, want the leader %d", follower, err, leader)
	}
	var last Change
	for i := range 20 {
		ch, err := c.propose(leader, topic(i), topic(1000+i))
		if err != nil {
			t.Fatal(err)
		}
		if ch.Index <= last.Index || ch.Offset <= last.Offset || len(ch.Records) != 2 {
			t.Fatalf("change %d: %+v after %+v", i, ch, last)
		}
		last = ch
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, err := c.propose(leader, topic(100+i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	img := c.waitConverged(5 * time.Second)
	if len(img) != 60 {
		t.Fatalf("%d records applied, want 60", len(img))
	}
	st := c.node(leader).Status()
	for _, v := range st.Voters {
		if v.Match != st.LastIndex || v.LogEndOffset != st.LogEndOffset {
			t.Errorf("voter %+v, leader at %d / %d", v, st.LastIndex, st.LogEndOffset)
		}
	}
	if st.HighWatermark != st.LogEndOffset {
		t.Errorf("high watermark %d, log end %d", st.HighWatermark, st.LogEndOffset)
	}
	c.compareLogs()
}

// TestLeaderFailover stops the leader during a stream of changes: a new
// leader comes within two election timeouts, and after the old one
// restarts every node holds every acknowledged change, and the same
// changes (so one in flight is everywhere or nowhere).
func TestLeaderFailover(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader, _ := c.waitLeader(maxElection)

	var (
		mu    sync.Mutex
		acked []metalog.Record
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id, ok := c.agreedLeader()
			if !ok {
				time.Sleep(testTick)
				continue
			}
			n := c.node(id)
			if n == nil {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := n.Propose(ctx, []metalog.Record{topic(i)})
			cancel()
			if err == nil {
				mu.Lock()
				acked = append(acked, topic(i))
				mu.Unlock()
			}
		}
	})
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	for count() < 20 {
		time.Sleep(time.Millisecond)
	}
	killed := time.Now()
	c.stop(leader)
	next, _ := c.waitLeader(maxElection)
	took := time.Since(killed)
	t.Logf("node %d stopped; node %d leads after %v (bound %v)", leader, next, took, maxElection)
	at := count()
	for count() < at+20 {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	c.start(leader)
	img := c.waitConverged(10 * time.Second)
	for _, r := range acked {
		if !slices.ContainsFunc(img, func(x metalog.Record) bool { return x == r }) {
			t.Errorf("acknowledged %v is missing", r)
		}
	}
	c.compareLogs()
}

// TestRestartCatchesUp restarts a node that missed changes, across
// snapshots, then the whole quorum from disk.
func TestRestartCatchesUp(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.SnapshotBytes = 2 << 10 })
	leader, _ := c.waitLeader(maxElection)
	down := c.voters[0]
	if down == leader {
		down = c.voters[1]
	}
	for i := range 10 {
		c.mustPropose(topic(i))
	}
	c.stop(down)
	for i := 10; i < 60; i++ {
		c.mustPropose(topic(i))
	}
	c.start(down)
	img := c.waitConverged(10 * time.Second)
	if len(img) != 60 {
		t.Fatalf("%d records after the restart, want 60", len(img))
	}
	for _, id := range c.voters {
		dir := c.nodes[id].dir
		if _, err := os.Stat(filepath.Join(dir, StateFile)); err != nil {
			t.Errorf("node %d: %v", id, err)
		}
		if len(segmentFiles(t, dir, ".checkpoint")) != 1 {
			t.Errorf("node %d has snapshots %v, want one", id, segmentFiles(t, dir, ".checkpoint"))
		}
	}
	// The whole quorum restarts from quorum-state, snapshot and log.
	for _, id := range c.voters {
		c.stop(id)
	}
	for _, id := range c.voters {
		c.start(id)
	}
	c.mustPropose(topic(60))
	img = c.waitConverged(10 * time.Second)
	if len(img) != 61 {
		t.Fatalf("%d records after restarting all, want 61", len(img))
	}
	c.compareLogs()
}

// TestSnapshotInstall: a follower cut off while the leader compacts its
// log past it gets the leader's snapshot (MsgSnap) and installs it.
func TestSnapshotInstall(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) {
		cfg.SnapshotBytes, cfg.RetainEntries, cfg.SegmentBytes = 1<<10, 20, 16<<10
	})
	leader, _ := c.waitLeader(maxElection)
	behind := c.voters[0]
	if behind == leader {
		behind = c.voters[1]
	}
	c.mustPropose(topic(0))
	c.net.Isolate(behind)
	for i := 1; i < 200; i++ {
		if _, err := c.propose(leader, topic(i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.net.Delivered(pb.MsgSnap); n != 0 {
		t.Fatalf("%d snapshots sent before healing", n)
	}
	c.net.Heal()
	img := c.waitConverged(10 * time.Second)
	if len(img) != 200 {
		t.Fatalf("%d records, want 200", len(img))
	}
	if c.net.Delivered(pb.MsgSnap) == 0 || c.nodes[behind].snapshots == 0 {
		t.Fatalf("node %d caught up without a snapshot (%d sent)", behind, c.net.Delivered(pb.MsgSnap))
	}
	// The leader's log was compacted: segments below its snapshot are gone.
	if segs := segmentFiles(t, c.nodes[leader].dir, ".log"); len(segs) > 3 {
		t.Errorf("leader keeps %d segments after snapshots", len(segs))
	}
	c.compareLogs()
}

// TestCheckQuorumAndPreVote: an isolated leader steps down (check-quorum)
// without raising its term, the others elect a leader, and neither the
// old leader rejoining nor an isolated follower disturbs it (pre-vote).
func TestCheckQuorumAndPreVote(t *testing.T) {
	c := newCluster(t, 3, nil)
	old, _ := c.waitLeader(maxElection)
	oldTerm := c.node(old).Status().Term
	c.net.Isolate(old)
	deadline := time.Now().Add(maxElection)
	for c.node(old).Status().Role == RoleLeader {
		if time.Now().After(deadline) {
			t.Fatalf("isolated leader %d still leads after %v", old, maxElection)
		}
		time.Sleep(testTick)
	}
	var rest []int32
	for _, id := range c.voters {
		if id != old {
			rest = append(rest, id)
		}
	}
	next := waitLeaderOf(t, c, rest)
	term := c.node(next).Status().Term
	c.mustProposeOn(next, topic(1))
	time.Sleep(3 * maxElection / 2) // the isolated node's elections fail at pre-vote
	if st := c.node(old).Status(); st.Term != oldTerm {
		t.Fatalf("isolated node %d moved from term %d to %d", old, oldTerm, st.Term)
	}
	c.net.Heal()
	c.waitConverged(5 * time.Second)
	time.Sleep(maxElection)
	if id, _ := c.waitLeader(time.Second); id != next || c.node(next).Status().Term != term {
		t.Fatalf("leadership moved on the rejoin: %+v", c.statuses())
	}

	// An isolated follower campaigns in vain and rejoins quietly.
	f := rest[0]
	if f == next {
		f = rest[1]
	}
	c.net.Isolate(f)
	time.Sleep(3 * maxElection / 2)
	c.net.Heal()
	c.mustProposeOn(next, topic(2))
	c.waitConverged(5 * time.Second)
	if id, _ := c.waitLeader(time.Second); id != next || c.node(next).Status().Term != term {
		t.Fatalf("an isolated follower disturbed the leader: %+v", c.statuses())
	}
}

// TestTruncateUncommittedTail: changes an isolated leader appended but
// could not commit are cut from its log when it rejoins, and their
// proposals answered NotLeaderError.
func TestTruncateUncommittedTail(t *testing.T) {
	c := newCluster(t, 3, nil)
	old, _ := c.waitLeader(maxElection)
	c.mustPropose(topic(0))
	lastBefore := c.node(old).Status().LastIndex
	c.net.Isolate(old)
	errs := make(chan error, 3)
	for i := range 3 {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := c.node(old).Propose(ctx, []metalog.Record{topic(100 + i)})
			errs <- err
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.node(old).Status().LastIndex < lastBefore+3 {
		if time.Now().After(deadline) {
			t.Fatalf("the isolated leader did not append: %+v", c.node(old).Status())
		}
		time.Sleep(time.Millisecond)
	}
	var rest []int32
	for _, id := range c.voters {
		if id != old {
			rest = append(rest, id)
		}
	}
	next := waitLeaderOf(t, c, rest)
	for i := 1; i <= 5; i++ {
		c.mustProposeOn(next, topic(i))
	}
	c.net.Heal()
	img := c.waitConverged(10 * time.Second)
	for range 3 {
		var nl *NotLeaderError
		if err := <-errs; !errors.As(err, &nl) || nl.Leader != next {
			t.Errorf("an overwritten proposal got %v, want NotLeaderError{%d}", err, next)
		}
	}
	if len(img) != 6 {
		t.Fatalf("image %v, want topics 0-5", img)
	}
	c.compareLogs()
}

// TestTornTail: a crash in the middle of an append leaves half a batch
// at the end of the log (never acknowledged: a node answers only once
// its append is fsynced). The node opens without it and catches up.
func TestTornTail(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader, _ := c.waitLeader(maxElection)
	torn := c.voters[0]
	if torn == leader {
		torn = c.voters[1]
	}
	for i := range 10 {
		c.mustPropose(topic(i))
	}
	c.waitConverged(5 * time.Second)
	before := c.node(torn).Status().LastIndex
	c.stop(torn)
	dir := c.nodes[torn].dir
	segs := segmentFiles(t, dir, ".log")
	slices.Sort(segs)
	path := filepath.Join(dir, segs[len(segs)-1])
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	last := -1
	for pos := 0; pos+logstore.BatchHeaderSize <= len(data); {
		b := logstore.Batch(data[pos:])
		if b.Length() == 0 {
			break
		}
		last = pos
		pos += int(b.Size())
	}
	// The next batch, as the append wrote it until the crash: its first half.
	lb := logstore.Batch(data[last:])
	next := slices.Clone(data[last : last+int(lb.Size())])
	binary.BigEndian.PutUint64(next, uint64(lb.LastOffset()+1))
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(next[:len(next)/2], int64(last+len(next))); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c.net.Isolate(torn) // no entries until checked
	c.start(torn)
	if got := c.node(torn).Status().LastIndex; got != before {
		t.Fatalf("after the torn write the node has %d entries, want %d", got, before)
	}
	c.net.Heal()
	c.mustPropose(topic(10))
	if img := c.waitConverged(5 * time.Second); len(img) != 11 {
		t.Fatalf("%d records, want 11", len(img))
	}
	c.compareLogs()
}

func (c *cluster) mustProposeOn(id int32, recs ...metalog.Record) {
	c.t.Helper()
	if _, err := c.propose(id, recs...); err != nil {
		c.t.Fatalf("propose on %d: %v", id, err)
	}
}

// waitLeaderOf waits for a leader among ids that they all name.
func waitLeaderOf(t *testing.T, c *cluster, ids []int32) int32 {
	t.Helper()
	return waitLeaderWithin(t, c, ids, maxElection)
}

func waitLeaderWithin(t *testing.T, c *cluster, ids []int32, timeout time.Duration) int32 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		lead := c.node(ids[0]).Status().Leader
		ok := lead >= 0 && slices.Contains(ids, lead) && c.node(lead).Status().Role == RoleLeader
		for _, id := range ids {
			ok = ok && c.node(id).Status().Leader == lead
		}
		if ok {
			return lead
		}
		time.Sleep(testTick / 2)
	}
	t.Fatalf("no leader among %v within %v: %+v", ids, timeout, c.statuses())
	return -1
}

// TestLossyNetwork: with a tenth of the messages lost and the rest
// delayed, changes still commit, once, in the same order everywhere.
func TestLossyNetwork(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.net.SetDrop(0.1)
	c.net.SetDelay(2 * time.Millisecond)
	applied := map[uint64]bool{}
	for i := range 30 {
		ch := c.mustPropose(topic(i))
		if applied[ch.Index] {
			t.Fatalf("index %d acknowledged twice", ch.Index)
		}
		applied[ch.Index] = true
	}
	c.net.SetDrop(0)
	img := c.waitConverged(10 * time.Second)
	seen := map[metalog.Record]bool{}
	for _, r := range img {
		if seen[r] {
			t.Fatalf("%v applied twice", r)
		}
		seen[r] = true
	}
	if len(img) < 30 {
		t.Fatalf("%d records, want at least the 30 acknowledged", len(img))
	}
	c.compareLogs()
}
