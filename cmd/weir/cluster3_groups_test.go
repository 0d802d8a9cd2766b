package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// coordinatorOn asks node nd which broker coordinates group: its id, or
// -1 with the error code.
func coordinatorOn(nd *clusterNode, group string) (int32, int16) {
	c, err := dialRaw(nd.addr())
	if err != nil {
		return -1, -1
	}
	defer c.conn.Close()
	c.conn.SetDeadline(time.Now().Add(2 * time.Second))
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.Version, req.CoordinatorKey = 3, group
	resp, err := c.do(req)
	if err != nil {
		return -1, -1
	}
	r := resp.(*kmsg.FindCoordinatorResponse)
	if r.ErrorCode != 0 {
		return -1, r.ErrorCode
	}
	return r.NodeID, 0
}

// waitCoordinator waits until every running node names the same running
// broker, other than not, as group's coordinator, and returns it.
func (c *testCluster) waitCoordinator(group string, not int32, timeout time.Duration) int32 {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		agreed := int32(-2)
		for _, nd := range c.running() {
			id, _ := coordinatorOn(nd, group)
			if agreed == -2 || agreed == id {
				agreed = id
			} else {
				agreed = -1
			}
		}
		if agreed >= 0 && agreed != not && c.node(agreed).b != nil {
			return agreed
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no agreed coordinator for %s (other than %d) after %v", group, not, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// commitAsMember joins group as a franz-go consumer of topic, commits
// offsets (partition -> offset) once it is assigned its partitions, and
// leaves.
func (c *testCluster) commitAsMember(group, topic string, offsets map[int32]int64) {
	t := c.t
	t.Helper()
	assigned := make(chan struct{}, 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.seeds()...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(), kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(300*time.Millisecond),
		kgo.RetryTimeout(20*time.Second),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) {
			select {
			case assigned <- struct{}{}:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	go func() {
		for !cl.PollFetches(context.Background()).IsClientClosed() {
		}
	}()
	select {
	case <-assigned:
	case <-time.After(30 * time.Second):
		t.Fatalf("group %s: no assignment after 30 s", group)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	commit := map[string]map[int32]kgo.EpochOffset{topic: {}}
	for p, off := range offsets {
		commit[topic][p] = kgo.EpochOffset{Epoch: -1, Offset: off}
	}
	var cerr error
	cl.CommitOffsetsSync(ctx, commit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest,
		resp *kmsg.OffsetCommitResponse, err error) {
		cerr = err
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				if err := kerr.ErrorForCode(rp.ErrorCode); err != nil && cerr == nil {
					cerr = fmt.Errorf("%s-%d: %w", rt.Topic, rp.Partition, err)
				}
			}
		}
	})
	if cerr != nil {
		t.Fatalf("group %s: commit: %v", group, cerr)
	}
}

// committed is group's committed offsets of topic, as the coordinator
// answers them to a new client of the running nodes: partition -> offset.
func (c *testCluster) committed(group, topic string) map[int32]int64 {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.seeds()...), kgo.RetryTimeout(20*time.Second))
	if err != nil {
		c.t.Fatal(err)
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		c.t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	out := map[int32]int64{}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil {
			out[o.Partition] = o.At
		}
	})
	return out
}

// The coordinator of a group moves with the leadership of its
// __consumer_offsets partition, and its offsets with it (the partition
// replicates): a group consumer commits; the broker coordinating the
// group stops (SIGTERM: a controlled shutdown moves its leadership to the
// other ISR member), and the new leader serves the group with the offsets
// committed before; the old broker comes back, catches up (following the
// partition, it rejoins the ISR), a preferred election moves leadership
// back, and it serves the offsets committed meanwhile.
func TestCluster3CoordinatorMoves(t *testing.T) {
	c := startCluster(t, 3, "std", "--offsets.topic.num.partitions=6", "--offsets.topic.replication.factor=2")
	leader := c.waitLeader(5 * time.Second)
	adm := kadm.NewClient(c.client(kgo.RetryTimeout(20 * time.Second)))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	// A group coordinated by a broker that is not the active controller.
	var group string
	var first int32
	for i := 0; ; i++ {
		group = "g" + strconv.Itoa(i)
		if first = c.waitCoordinator(group, -1, 20*time.Second); first != leader {
			break
		}
	}
	part := int32(groupPartitionOf(group, 6))
	offsetsPart := func(nd *clusterNode) partitionState {
		return partitionLeaders(t, nd, "__consumer_offsets")[part]
	}
	t.Logf("group %s: __consumer_offsets-%d %+v (controller %d)", group, part, offsetsPart(c.node(first)), leader)

	c.commitAsMember(group, "orders", map[int32]int64{0: 10, 1: 20})
	if got := c.committed(group, "orders"); got[0] != 10 || got[1] != 20 {
		t.Fatalf("committed %v, want 10 and 20", got)
	}

	c.stop(first)
	next := c.waitCoordinator(group, first, 20*time.Second)
	t.Logf("node %d stopped; node %d coordinates %s: %+v", first, next, group, offsetsPart(c.node(next)))
	if got := c.committed(group, "orders"); got[0] != 10 || got[1] != 20 {
		t.Fatalf("committed on the new coordinator %d: %v, want 10 and 20 (replicated)", next, got)
	}
	c.commitAsMember(group, "orders", map[int32]int64{0: 1, 1: 2})
	if got := c.committed(group, "orders"); got[0] != 1 || got[1] != 2 {
		t.Fatalf("committed through node %d: %v, want 1 and 2", next, got)
	}

	c.start(first)
	c.waitHealthy(20 * time.Second)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if st := offsetsPart(c.node(next)); slices.Contains(st.isr, first) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %d not back in the ISR of __consumer_offsets-%d: %+v", first, part, offsetsPart(c.node(next)))
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, stdout, stderr := runAdminTool(t, "topic", "elect-leaders", "--type", "preferred", "--topic",
		"__consumer_offsets", "--partition", strconv.Itoa(int(part)), "--bootstrap-server="+c.seeds()[0])
	if code != 0 {
		t.Fatalf("preferred election: exit %d: %s%s", code, stdout, stderr)
	}
	if back := c.waitCoordinator(group, -1, 20*time.Second); back != first {
		t.Fatalf("coordinator %d, want %d back", back, first)
	}
	t.Logf("node %d coordinates %s again: %+v", first, group, offsetsPart(c.node(first)))
	if got := c.committed(group, "orders"); got[0] != 1 || got[1] != 2 {
		t.Fatalf("committed after the move back: %v, want 1 and 2", got)
	}
	// And it serves the group: a consumer joins and commits.
	c.commitAsMember(group, "orders", map[int32]int64{0: 11, 1: 21})
	if got := c.committed(group, "orders"); got[0] != 11 || got[1] != 21 {
		t.Fatalf("committed through node %d: %v, want 11 and 21", first, got)
	}
}

// groupPartitionOf is Kafka's placement of a group on __consumer_offsets
// (abs(Java hashCode) mod n), for group names of ASCII.
func groupPartitionOf(group string, n int) int {
	var h int32
	for _, r := range group {
		h = 31*h + int32(r)
	}
	if h == -1<<31 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return int(h % int32(n))
}

// An offsets topic made with fewer replicas than wanted (as on a node that
// was alone when its first group came, offsets.topic.replication.factor
// capped at the brokers registered) grows by reassignment, as in Kafka:
// `weir topic reassign` gives every partition three replicas, the new ones
// catch up and join the ISR, and a group's committed offsets then survive
// the loss of the broker that held them alone.
func TestCluster3GrowOffsetsTopic(t *testing.T) {
	c := startCluster(t, 3, "std", "--offsets.topic.num.partitions=3", "--offsets.topic.replication.factor=1")
	adm := kadm.NewClient(c.client(kgo.RetryTimeout(20 * time.Second)))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 2, 3, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	group := "growing"
	first := c.waitCoordinator(group, -1, 20*time.Second)
	c.commitAsMember(group, "orders", map[int32]int64{0: 7, 1: 8})
	offsets := partitionLeaders(t, c.node(first), "__consumer_offsets")
	var plan []string
	for p := int32(0); p < 3; p++ {
		st := offsets[p]
		if len(st.isr) != 1 {
			t.Fatalf("__consumer_offsets-%d made with replicas %v, want one", p, st.isr)
		}
		replicas := []int32{st.leader} // the preferred leader stays first
		for _, nd := range c.nodes {
			if nd.id != st.leader {
				replicas = append(replicas, nd.id)
			}
		}
		plan = append(plan, fmt.Sprintf(`{"topic":"__consumer_offsets","partition":%d,"replicas":[%d,%d,%d]}`,
			p, replicas[0], replicas[1], replicas[2]))
	}
	file := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(file, []byte(`{"version":1,"partitions":[`+strings.Join(plan, ",")+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	seed := "--bootstrap-server=" + c.seeds()[0]
	if code, out, errOut := runAdminTool(t, "topic", "reassign", "--reassignment-json-file", file, "--execute", seed); code != 0 {
		t.Fatalf("reassign --execute: exit %d: %s%s", code, out, errOut)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		code, out, _ := runAdminTool(t, "topic", "reassign", "--reassignment-json-file", file, "--verify", seed)
		done := code == 0 && !strings.Contains(out, "in progress")
		for _, st := range partitionLeaders(t, c.node(first), "__consumer_offsets") {
			done = done && len(st.isr) == 3
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the offsets topic did not grow: %s\n%+v", out, partitionLeaders(t, c.node(first), "__consumer_offsets"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.kill(first)
	next := c.waitCoordinator(group, first, 20*time.Second)
	if got := c.committed(group, "orders"); got[0] != 7 || got[1] != 8 {
		t.Fatalf("committed on the new coordinator %d after %d's loss: %v, want 7 and 8", next, first, got)
	}
	t.Logf("offsets topic grown to three replicas; node %d lost, node %d coordinates %s with its offsets", first, next, group)
}
