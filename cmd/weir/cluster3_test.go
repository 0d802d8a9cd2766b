package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A cluster of combined nodes (broker,controller) on 127.0.0.1, each a
// `weir serve` process with its own broker and controller ports and log
// dir, started with quick elections and sessions so that failover tests
// stay short.
type testCluster struct {
	t      *testing.T
	io     string
	nodes  []*clusterNode
	voters string
	args   []string  // more serve flags for every node
	env    []string  // more environment variables for every node
	net    *faultNet // nodes in network namespaces (faults_test.go); nil: 127.0.0.1
}

type clusterNode struct {
	id      int32
	port    int
	ctlPort int    // 0: a broker that is not a voter
	ctlOnly bool   // a voter that is not a broker (process.roles=controller)
	host    string // "" is 127.0.0.1
	dir     string
	b       *broker // nil while stopped
}

func (n *clusterNode) addr() string    { return net.JoinHostPort(n.ip(), strconv.Itoa(n.port)) }
func (n *clusterNode) ctlAddr() string { return net.JoinHostPort(n.ip(), strconv.Itoa(n.ctlPort)) }

func (n *clusterNode) ip() string {
	if n.host == "" {
		return "127.0.0.1"
	}
	return n.host
}

// Cluster timings of the tests: an election timeout of 500 ms (etcd
// raft draws each follower's in [500 ms, 1 s)), heartbeats every 100 ms,
// sessions of 1.5 s.
const (
	testElectionTimeout = 500 * time.Millisecond
	testSessionTimeout  = 1500 * time.Millisecond
)

// startCluster starts n combined nodes, ids 1..n, and waits until they
// have a leader and every broker is registered and unfenced.
func startCluster(t *testing.T, n int, io string, args ...string) *testCluster {
	t.Helper()
	c := &testCluster{t: t, io: io, args: args}
	c.startNodes(n)
	return c
}

// startNodes starts n combined nodes, ids 1..n, as startCluster does.
func (c *testCluster) startNodes(n int) {
	c.t.Helper()
	t := c.t
	var voters []string
	for i := 1; i <= n; i++ {
		nd := &clusterNode{id: int32(i), port: freePort(t), ctlPort: freePort(t), dir: t.TempDir()}
		c.nodes = append(c.nodes, nd)
		voters = append(voters, fmt.Sprintf("%d@%s", i, nd.ctlAddr()))
	}
	c.voters = strings.Join(voters, ",")
	for _, nd := range c.nodes {
		c.start(nd.id)
	}
	c.waitHealthy(20 * time.Second)
}

func (c *testCluster) node(id int32) *clusterNode { return c.nodes[id-1] }

// addBroker adds node id, a broker that is not a voter
// (process.roles=broker), and starts it.
func (c *testCluster) addBroker(id int32) *clusterNode {
	nd := &clusterNode{id: id, port: freePort(c.t), dir: c.t.TempDir()}
	c.nodes = append(c.nodes, nd)
	c.start(id)
	return nd
}

// start starts node id (again) on its ports and log dir.
func (c *testCluster) start(id int32) {
	nd := c.node(id)
	roles, listeners := "broker,controller", "PLAINTEXT://"+nd.addr()+",CONTROLLER://"+nd.ctlAddr()
	advertised := "--advertised.listeners=PLAINTEXT://" + nd.addr()
	switch {
	case nd.ctlPort == 0:
		roles, listeners = "broker", "PLAINTEXT://"+nd.addr()
	case nd.ctlOnly:
		roles, listeners, advertised = "controller", "CONTROLLER://"+nd.ctlAddr(), "--advertised.listeners="
	}
	args := []string{"--node.id=" + strconv.Itoa(int(id)), "--process.roles=" + roles,
		"--listeners=" + listeners, advertised,
		"--controller.listener.names=CONTROLLER",
		"--listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"--controller.quorum.voters=" + c.voters,
		"--controller.quorum.election.timeout.ms=" + strconv.Itoa(int(testElectionTimeout.Milliseconds())),
		"--broker.session.timeout.ms=" + strconv.Itoa(int(testSessionTimeout.Milliseconds())),
		"--broker.heartbeat.interval.ms=100"}
	o := brokerOpts{io: c.io, logDir: nd.dir, port: nd.port, args: append(args, c.args...), env: c.env, host: nd.host}
	if c.net != nil {
		o.wrap = []string{"ip", "netns", "exec", c.net.ns(strconv.Itoa(int(id)))}
	}
	nd.b = startBroker(c.t, o)
}

// kill SIGKILLs node id.
func (c *testCluster) kill(id int32) {
	nd := c.node(id)
	if nd.b == nil {
		return
	}
	syscall.Kill(nd.b.pid(), syscall.SIGKILL)
	<-nd.b.done
	nd.b = nil
}

// stop stops node id with SIGTERM (a controlled shutdown).
func (c *testCluster) stop(id int32) {
	nd := c.node(id)
	if nd.b == nil {
		return
	}
	if code, _ := nd.b.stop(); code != 0 {
		c.t.Errorf("node %d exited with %d:\n%s", id, code, nd.b.stderr)
	}
	nd.b = nil
}

// running lists the nodes that run.
func (c *testCluster) running() []*clusterNode {
	var out []*clusterNode
	for _, nd := range c.nodes {
		if nd.b != nil {
			out = append(out, nd)
		}
	}
	return out
}

// seeds are the broker addresses of the running nodes.
func (c *testCluster) seeds() []string {
	var out []string
	for _, nd := range c.running() {
		out = append(out, nd.addr())
	}
	return out
}

// quorum asks node nd for the quorum's state (DescribeQuorum on its
// broker listener); nil when it does not answer.
func quorumOf(nd *clusterNode) *kmsg.DescribeQuorumResponseTopicPartition {
	c, err := dialRaw(nd.addr())
	if err != nil {
		return nil
	}
	defer c.conn.Close()
	c.conn.SetDeadline(time.Now().Add(2 * time.Second))
	req := kmsg.NewPtrDescribeQuorumRequest()
	req.Version = 2
	req.Topics = []kmsg.DescribeQuorumRequestTopic{{Topic: "__cluster_metadata",
		Partitions: []kmsg.DescribeQuorumRequestTopicPartition{{Partition: 0}}}}
	resp, err := c.do(req)
	if err != nil {
		return nil
	}
	r := resp.(*kmsg.DescribeQuorumResponse)
	if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
		return nil
	}
	return &r.Topics[0].Partitions[0]
}

// leader is the quorum leader every running node agrees on, or -1.
func (c *testCluster) leader() int32 {
	leader := int32(-2)
	for _, nd := range c.running() {
		q := quorumOf(nd)
		if q == nil || q.LeaderID < 0 || leader != -2 && q.LeaderID != leader {
			return -1
		}
		leader = q.LeaderID
	}
	if leader < 0 || c.node(leader).b == nil {
		return -1
	}
	return leader
}

// waitLeader waits until the running nodes agree on a running leader.
func (c *testCluster) waitLeader(timeout time.Duration) int32 {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if l := c.leader(); l >= 0 {
			return l
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no agreed quorum leader after %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// brokerStates is DescribeCluster v2's view from nd: broker id -> fenced.
func brokerStates(nd *clusterNode) map[int32]bool {
	c, err := dialRaw(nd.addr())
	if err != nil {
		return nil
	}
	defer c.conn.Close()
	c.conn.SetDeadline(time.Now().Add(2 * time.Second))
	req := kmsg.NewPtrDescribeClusterRequest()
	req.Version, req.IncludeFencedBrokers = 2, true
	resp, err := c.do(req)
	if err != nil {
		return nil
	}
	out := map[int32]bool{}
	for _, br := range resp.(*kmsg.DescribeClusterResponse).Brokers {
		out[br.NodeID] = br.IsFenced
	}
	return out
}

// waitHealthy waits for a leader and for every running node to see every
// running node registered and unfenced.
func (c *testCluster) waitHealthy(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	c.waitLeader(timeout)
	for {
		healthy := true
		for _, nd := range c.running() {
			st := brokerStates(nd)
			for _, other := range c.running() {
				if fenced, ok := st[other.id]; !ok || fenced {
					healthy = false
				}
			}
		}
		if healthy {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("cluster not healthy after %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// client is a franz-go client seeded with every running node.
func (c *testCluster) client(opts ...kgo.Opt) *kgo.Client {
	c.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.seeds()...)}, opts...)...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(cl.Close)
	return cl
}

// topicsOn is the Metadata of every topic (not internal) as node nd
// answers it: name -> partition -> replicas.
func topicsOn(nd *clusterNode) (map[string][][]int32, error) {
	c, err := dialRaw(nd.addr())
	if err != nil {
		return nil, err
	}
	defer c.conn.Close()
	c.conn.SetDeadline(time.Now().Add(2 * time.Second))
	resp, err := c.do(metadataAll())
	if err != nil {
		return nil, err
	}
	out := map[string][][]int32{}
	for _, t := range resp.(*kmsg.MetadataResponse).Topics {
		if t.IsInternal {
			continue
		}
		parts := make([][]int32, len(t.Partitions))
		for _, p := range t.Partitions {
			if int(p.Partition) < len(parts) {
				parts[p.Partition] = p.Replicas
			}
		}
		out[*t.Topic] = parts
	}
	return out, nil
}

// hasLog says whether node nd's log dir holds topic's partition p.
func (nd *clusterNode) hasLog(topic string, p int) bool {
	_, err := os.Stat(filepath.Join(nd.dir, topic+"-"+strconv.Itoa(p)))
	return err == nil
}

// Three nodes form a quorum over their controller listeners; topics
// created through any broker (forwarded to the active controller) are
// spread over the brokers, each broker holds logs for its replicas only,
// and records produced through any node are read back through any node.
func TestCluster3Basics(t *testing.T) {
	c := startCluster(t, 3, "uring")
	leader := c.waitLeader(5 * time.Second)
	var follower *clusterNode
	for _, nd := range c.nodes {
		if nd.id != leader {
			follower = nd
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Through a follower: forwarded to the active controller.
	fcl, err := kgo.NewClient(kgo.SeedBrokers(follower.addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer fcl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "spread", 6, 1
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, fcl.Broker(int(follower.id)))
	if err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("CreateTopics through follower %d: %v %+v", follower.id, err, resp)
	}
	// Placement: each broker leads two partitions and holds their logs only.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok := true
		for _, nd := range c.nodes {
			md, err := topicsOn(nd)
			if err != nil || len(md["spread"]) != 6 {
				ok = false
				continue
			}
			for p, reps := range md["spread"] {
				if len(reps) != 1 || nd.hasLog("spread", p) != (reps[0] == nd.id) {
					ok = false
				}
			}
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			for _, nd := range c.nodes {
				md, err := topicsOn(nd)
				t.Logf("node %d: %v %v", nd.id, md, err)
			}
			t.Fatalf("partitions not placed and hosted as the metadata says")
		}
		time.Sleep(50 * time.Millisecond)
	}
	md, _ := topicsOn(c.nodes[0])
	per := map[int32]int{}
	for _, reps := range md["spread"] {
		per[reps[0]]++
	}
	if per[1] != 2 || per[2] != 2 || per[3] != 2 {
		t.Errorf("replicas per broker %v, want 2 each", per)
	}

	// Records through a client seeded with one node reach every leader.
	cl := c.client(kgo.DefaultProduceTopic("spread"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	const n = 600
	for i := 0; i < n; i++ {
		cl.Produce(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	results := map[string]bool{}
	cons := c.client(kgo.ConsumeTopics("spread"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for len(results) < n {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d records back", len(results), n)
		}
		fs.EachRecord(func(r *kgo.Record) { results[string(r.Value)] = true })
	}

	// Every node names the active controller in Metadata and describes
	// the same quorum.
	for _, nd := range c.nodes {
		q := quorumOf(nd)
		if q == nil || q.LeaderID != leader || len(q.CurrentVoters) != 3 {
			t.Errorf("node %d describes the quorum as %+v", nd.id, q)
		}
	}
	var st statusJSON
	adminJSON(t, &st, "cluster", "status", "--bootstrap-server="+follower.addr())
	if st.LeaderID != leader || len(st.Voters) != 3 || len(st.Brokers) != 3 {
		t.Errorf("cluster status %+v", st)
	}
	for _, br := range st.Brokers {
		if br.Fenced {
			t.Errorf("broker %d fenced", br.NodeID)
		}
	}
	adm := kadm.NewClient(cl)
	// DescribeLogDirs across the brokers: each answers for its own dirs,
	// which hold the partitions it is a replica of.
	dirs, err := adm.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range c.nodes {
		held := 0
		for _, d := range dirs[nd.id] {
			d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
				if p.Topic == "spread" {
					held++
					if md["spread"][p.Partition][0] != nd.id {
						t.Errorf("broker %d lists spread-%d, a partition of broker %d", nd.id, p.Partition,
							md["spread"][p.Partition][0])
					}
				}
			})
		}
		if held != 2 {
			t.Errorf("broker %d lists %d partitions of spread in its log dirs, want 2", nd.id, held)
		}
	}
	// A broker's dynamic config, altered through the cluster (committed by
	// the active controller), is what that broker describes.
	v := "1234567"
	if _, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: "log.retention.ms", Value: &v}}, follower.id); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		rc, err := adm.DescribeBrokerConfigs(ctx, follower.id)
		if err == nil {
			if c, err := rc.On(strconv.Itoa(int(follower.id)), nil); err == nil {
				if slices.ContainsFunc(c.Configs, func(e kadm.Config) bool {
					return e.Key == "log.retention.ms" && e.Value != nil && *e.Value == v
				}) {
					break
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker %d does not describe its altered log.retention.ms: %v", follower.id, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := adm.DeleteTopics(ctx, "spread"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		gone := true
		for _, nd := range c.nodes {
			for p := 0; p < 6; p++ {
				if nd.hasLog("spread", p) {
					gone = false
				}
			}
		}
		if gone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deleted topic's logs still on the brokers")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metadataAgrees waits until every running node answers Metadata with
// the same topics, partitions and replicas, and returns that view.
func (c *testCluster) metadataAgrees(timeout time.Duration) map[string][][]int32 {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var first map[string][][]int32
		same := true
		for i, nd := range c.running() {
			md, err := topicsOn(nd)
			if err != nil {
				same = false
				break
			}
			if i == 0 {
				first = md
			} else if fmt.Sprint(md) != fmt.Sprint(first) {
				same = false
			}
		}
		if same && first != nil {
			return first
		}
		if time.Now().After(deadline) {
			for _, nd := range c.running() {
				md, err := topicsOn(nd)
				c.t.Logf("node %d: %d topics, %v", nd.id, len(md), err)
			}
			c.t.Fatalf("nodes' metadata differ after %v", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The active controller is SIGKILLed during a stream of topic creations:
// the survivors elect a new leader within two election timeouts, every
// acknowledged creation exists afterwards on every node, with every
// partition and the logs of its replicas, and the killed node catches up
// when it comes back.
func TestCluster3ControllerFailover(t *testing.T) {
	c := startCluster(t, 3, "std")
	leader := c.waitLeader(5 * time.Second)
	adm := kadm.NewClient(c.client(kgo.RetryTimeout(20 * time.Second)))

	acked := map[string]bool{}
	create := func(name string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		resp, err := adm.CreateTopic(ctx, 2, 3, nil, name)
		switch {
		case err == nil && resp.Err == nil:
			acked[name] = true
		case resp.Err != nil && strings.Contains(resp.Err.Error(), "TOPIC_ALREADY_EXISTS"):
			acked[name] = true // a retry of a creation whose answer was lost
		default:
			t.Logf("create %s: %v %v", name, err, resp.Err)
		}
	}
	for i := 0; i < 15; i++ {
		create(fmt.Sprintf("before-%02d", i))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 30; i++ {
			create(fmt.Sprintf("during-%02d", i))
		}
	}()
	time.Sleep(50 * time.Millisecond)
	killed := time.Now()
	c.kill(leader)
	var next int32
	for {
		if l := c.leader(); l >= 0 {
			next = l
			break
		}
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("no new leader 10 s after killing node %d", leader)
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(killed)
	t.Logf("node %d killed; node %d leads after %v", leader, next, took)
	// A follower waits at most one election timeout without the leader,
	// then an election takes a round trip and an fsync; the survivors are
	// asked every few ms.
	if took > 2*testElectionTimeout {
		t.Errorf("a new leader after %v, over two election timeouts (%v)", took, 2*testElectionTimeout)
	}
	<-done
	for i := 0; i < 5; i++ {
		create(fmt.Sprintf("after-%02d", i))
	}
	if len(acked) < 40 {
		t.Errorf("only %d of 50 creations acknowledged", len(acked))
	}
	c.start(leader)
	c.waitHealthy(20 * time.Second)
	md := c.metadataAgrees(20 * time.Second)
	for name := range acked {
		parts, ok := md[name]
		if !ok || len(parts) != 2 {
			t.Errorf("acknowledged topic %s: %v on every node", name, parts)
		}
	}
	// None half made: every topic any node knows has all its partitions,
	// each with the logs of its replicas (the killed node's made again
	// from the log it caught up on).
	deadline := time.Now().Add(10 * time.Second)
	for name, parts := range md {
		for p, reps := range parts {
			if len(reps) != 3 {
				t.Errorf("%s-%d: replicas %v", name, p, reps)
			}
			for _, id := range reps {
				for !c.node(id).hasLog(name, p) {
					if time.Now().After(deadline) {
						t.Fatalf("%s-%d: no log on node %d", name, p, id)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}
	}
}

// A broker killed (not the active controller) is fenced once its session
// times out, the partitions it led get new leaders from their ISR with
// their leader epochs bumped, and after a restart it registers again and
// is unfenced.
func TestCluster3BrokerLoss(t *testing.T) {
	c := startCluster(t, 3, "std")
	leader := c.waitLeader(5 * time.Second)
	cl := c.client()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 3, 3, nil, "r3"); err != nil {
		t.Fatal(err)
	}
	lost := int32(1)
	if lost == leader {
		lost = 2
	}
	survivor := c.node(leader)
	before := partitionLeaders(t, survivor, "r3")
	killed := time.Now()
	c.kill(lost)
	for !brokerStates(survivor)[lost] {
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("broker %d not fenced 10 s after it was killed", lost)
		}
		time.Sleep(10 * time.Millisecond)
	}
	fencedAfter := time.Since(killed)
	t.Logf("broker %d fenced %v after SIGKILL (session timeout %v)", lost, fencedAfter, testSessionTimeout)
	if fencedAfter < testSessionTimeout-200*time.Millisecond {
		t.Errorf("fenced after %v, before its session (%v) could have expired", fencedAfter, testSessionTimeout)
	}
	after := partitionLeaders(t, survivor, "r3")
	for p, was := range before {
		now := after[p]
		if now.leader == lost || now.leader < 0 {
			t.Errorf("r3-%d still led by %d", p, now.leader)
		}
		if was.leader == lost && now.epoch <= was.epoch {
			t.Errorf("r3-%d: new leader %d at epoch %d, was %d at %d", p, now.leader, now.epoch, was.leader, was.epoch)
		}
		if slices.Contains(now.isr, lost) {
			t.Errorf("r3-%d: fenced broker %d still in the ISR %v", p, lost, now.isr)
		}
	}
	restarted := time.Now()
	c.start(lost)
	c.waitHealthy(20 * time.Second)
	t.Logf("broker %d unfenced %v after its restart", lost, time.Since(restarted))
}

type partitionState struct {
	leader, epoch int32
	isr           []int32
}

// partitionLeaders is topic's partitions as node nd's Metadata says.
func partitionLeaders(t *testing.T, nd *clusterNode, topic string) map[int32]partitionState {
	t.Helper()
	resp := rawDo(t, nd.addr(), metadataAll()).(*kmsg.MetadataResponse)
	out := map[int32]partitionState{}
	for _, tp := range resp.Topics {
		if *tp.Topic == topic {
			for _, p := range tp.Partitions {
				out[p.Partition] = partitionState{p.Leader, p.LeaderEpoch, p.ISR}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("node %d has no topic %s", nd.id, topic)
	}
	return out
}

// Nodes are killed (SIGKILL) or stopped (SIGTERM) and restarted at random
// for a bounded time while topics are created; then, with every node
// back and caught up, all agree on the image and hold the same committed
// metadata log, byte for byte.
func TestCluster3RandomFaults(t *testing.T) {
	c := startCluster(t, 3, "std")
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("seed %d", seed)
	stop := make(chan struct{})
	created := make(chan int, 1)
	go func() {
		n := 0
		defer func() { created <- n }()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.seedsSnapshot()...), kgo.RetryTimeout(3*time.Second))
			if err != nil {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			if resp, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, fmt.Sprintf("f-%03d", i)); err == nil && resp.Err == nil {
				n++
			}
			cancel()
			cl.Close()
		}
	}()
	deadline := time.Now().Add(15 * time.Second)
	faults := 0
	for time.Now().Before(deadline) {
		time.Sleep(time.Duration(100+rng.IntN(500)) * time.Millisecond)
		var down []int32
		for _, nd := range c.nodes {
			if nd.b == nil {
				down = append(down, nd.id)
			}
		}
		// Keep a majority: restart a stopped node before taking another.
		if len(down) > 0 {
			c.start(down[rng.IntN(len(down))])
			continue
		}
		id := int32(1 + rng.IntN(3))
		start := time.Now()
		if rng.IntN(2) == 0 {
			c.kill(id)
			t.Logf("killed node %d", id)
		} else {
			c.stop(id)
			t.Logf("stopped node %d in %v", id, time.Since(start))
		}
		faults++
	}
	close(stop)
	n := <-created
	for _, nd := range c.nodes {
		if nd.b == nil {
			c.start(nd.id)
		}
	}
	c.waitHealthy(30 * time.Second)
	c.t.Logf("%d faults, %d topics created", faults, n)
	c.metadataAgrees(20 * time.Second)
	// Every node has applied the leader's whole log: same log end.
	for deadline := time.Now().Add(20 * time.Second); ; {
		ends := map[int64]bool{}
		for _, nd := range c.nodes {
			q := quorumOf(nd)
			if q == nil {
				ends[-1] = true
				continue
			}
			for _, v := range q.CurrentVoters {
				if v.ReplicaID == nd.id {
					ends[v.LogEndOffset] = true
				}
			}
		}
		if len(ends) == 1 && !ends[-1] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log ends differ: %v", ends)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, nd := range c.nodes {
		c.stop(nd.id)
	}
	// They stopped one by one, and the later ones committed the earlier
	// ones' controlled shutdowns: each log is a prefix of the next.
	var prev []byte
	for _, nd := range c.nodes {
		data := metadataLogBytes(t, nd.dir)
		if len(data) < len(prev) || !bytes.Equal(data[:len(prev)], prev) {
			t.Errorf("node %d's metadata log (%d bytes) does not extend node %d's (%d bytes)",
				nd.id, len(data), nd.id-1, len(prev))
		}
		prev = data
	}
}

// seedsSnapshot is seeds, safe to call while nodes restart: every node's
// address (a client skips those that do not answer).
func (c *testCluster) seedsSnapshot() []string {
	var out []string
	for _, nd := range c.nodes {
		out = append(out, nd.addr())
	}
	return out
}

// metadataLogBytes is the bytes of a node's metadata log segments, in
// offset order.
func metadataLogBytes(t *testing.T, dir string) []byte {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "__cluster_metadata-0", "*.log"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no metadata log segments in %s: %v", dir, err)
	}
	slices.Sort(segs)
	var out []byte
	for _, s := range segs {
		data, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data...)
	}
	return out
}

// A topic deleted while one of its brokers was down: when that broker
// comes back and has caught up, its log of the topic is deleted (the
// deletion is in the log it catches up on; a log of a topic that its
// image never names, as after a snapshot, would be renamed stray).
func TestCluster3DeletedWhileDown(t *testing.T) {
	c := startCluster(t, 3, "std")
	leader := c.waitLeader(5 * time.Second)
	down := int32(1)
	if down == leader {
		down = 2
	}
	cl := c.client(kgo.DefaultProduceTopic("gone"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "gone"); err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 3; p++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Partition: p, Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	md, _ := topicsOn(c.node(down))
	var mine []int
	for p, reps := range md["gone"] {
		if reps[0] == down {
			mine = append(mine, p)
		}
	}
	if len(mine) == 0 {
		t.Fatalf("no partition of gone on node %d: %v", down, md)
	}
	c.kill(down)
	if _, err := adm.DeleteTopics(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	c.start(down)
	c.waitHealthy(20 * time.Second)
	nd := c.node(down)
	for deadline := time.Now().Add(10 * time.Second); ; {
		aside, _ := filepath.Glob(filepath.Join(nd.dir, "gone-*-*"))
		if !nd.hasLog("gone", mine[0]) && len(aside) == len(mine) {
			break
		}
		if time.Now().After(deadline) {
			ents, _ := os.ReadDir(nd.dir)
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Fatalf("node %d still holds %v after catching up", down, names)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Election and fencing times with Kafka's defaults (election timeout
// 1 s, session 9 s, heartbeats every 2 s), for the record: set
// WEIR_CLUSTER_MEASURE=N to run N rounds of each (about 2 min for 10).
func TestCluster3Measure(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("WEIR_CLUSTER_MEASURE"))
	if rounds <= 0 {
		t.Skip("set WEIR_CLUSTER_MEASURE=N to measure")
	}
	c := startCluster(t, 3, "uring", "--controller.quorum.election.timeout.ms=1000",
		"--broker.session.timeout.ms=9000", "--broker.heartbeat.interval.ms=2000")
	var elections, fencings []time.Duration
	for i := 0; i < rounds; i++ {
		leader := c.waitLeader(10 * time.Second)
		killed := time.Now()
		c.kill(leader)
		for c.leader() < 0 {
			time.Sleep(2 * time.Millisecond)
		}
		elections = append(elections, time.Since(killed))
		c.start(leader)
		c.waitHealthy(60 * time.Second)
	}
	for i := 0; i < max(rounds/3, 1); i++ {
		leader := c.waitLeader(10 * time.Second)
		lost := int32(1 + (int(leader)+i)%3)
		if lost == leader {
			lost = leader%3 + 1
		}
		killed := time.Now()
		c.kill(lost)
		for !brokerStates(c.node(leader))[lost] {
			time.Sleep(5 * time.Millisecond)
		}
		fencings = append(fencings, time.Since(killed))
		c.start(lost)
		c.waitHealthy(60 * time.Second)
	}
	slices.Sort(elections)
	slices.Sort(fencings)
	t.Logf("leader SIGKILL to a new agreed leader, %d rounds: min %v median %v max %v", len(elections),
		elections[0], elections[len(elections)/2], elections[len(elections)-1])
	t.Logf("broker SIGKILL to fenced, %d rounds: min %v median %v max %v", len(fencings),
		fencings[0], fencings[len(fencings)/2], fencings[len(fencings)-1])
}

// A broker that is not a voter (process.roles=broker) follows the quorum
// as an observer: it registers, is unfenced, hosts its partitions, serves
// clients, forwards admin requests, is listed among DescribeQuorum's
// observers, follows a new active controller after a failover, and
// fetches the image again after a restart.
func TestCluster3BrokerOnly(t *testing.T) {
	c := startCluster(t, 3, "std")
	b4 := c.addBroker(4)
	c.waitHealthy(20 * time.Second)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b4.addr()), kgo.DefaultProduceTopic("four"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 4, 1, nil, "four"); err != nil {
		t.Fatal(err)
	}
	md := c.metadataAgrees(10 * time.Second)
	on4 := -1
	for p, reps := range md["four"] {
		if reps[0] == 4 {
			on4 = p
		}
	}
	if on4 < 0 {
		t.Fatalf("no partition of four on broker 4: %v", md["four"])
	}
	for deadline := time.Now().Add(10 * time.Second); !b4.hasLog("four", on4); {
		if time.Now().After(deadline) {
			t.Fatalf("broker 4 has no log of four-%d", on4)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Partition: int32(on4), Value: []byte("on four")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	q := quorumOf(b4)
	if q == nil || len(q.CurrentVoters) != 3 || len(q.Observers) != 1 || q.Observers[0].ReplicaID != 4 {
		t.Fatalf("DescribeQuorum through broker 4: %+v", q)
	}
	leader := c.waitLeader(5 * time.Second)
	c.kill(leader)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "after-failover"); err != nil {
		t.Fatal(err)
	}
	c.start(leader)
	c.stop(4)
	c.start(4)
	c.waitHealthy(20 * time.Second)
	md = c.metadataAgrees(10 * time.Second)
	if _, ok := md["after-failover"]; !ok {
		t.Fatalf("broker 4 does not know the topic made after the failover: %v", md)
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(b4.addr()), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		"four": {int32(on4): kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	fs := cons.PollFetches(ctx)
	if err := fs.Err0(); err != nil || fs.NumRecords() != 1 || string(fs.Records()[0].Value) != "on four" {
		t.Fatalf("read back from broker 4 after its restart: %v %d records", err, fs.NumRecords())
	}
}

// Controllers and brokers apart, as Kafka 4 deploys them: three
// controllers (process.roles=controller) and two brokers; topics spread
// over the brokers, records go through either.
func TestClusterSeparateRoles(t *testing.T) {
	c := &testCluster{t: t, io: "std"}
	var voters []string
	for i := int32(1); i <= 3; i++ {
		nd := &clusterNode{id: i, ctlPort: freePort(t), ctlOnly: true, dir: t.TempDir()}
		c.nodes = append(c.nodes, nd)
		voters = append(voters, fmt.Sprintf("%d@%s", i, nd.ctlAddr()))
	}
	c.voters = strings.Join(voters, ",")
	for _, nd := range c.nodes {
		c.startController(nd.id)
	}
	b4, b5 := c.addBroker(4), c.addBroker(5)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b4.addr(), b5.addr()), kgo.DefaultProduceTopic("apart"),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.RetryTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for deadline := time.Now().Add(20 * time.Second); ; {
		if st := brokerStates(b4); len(st) == 2 && !st[4] && !st[5] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("brokers not both unfenced: %v", brokerStates(b4))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 4, 2, nil, "apart"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		cl.Produce(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	md, err := topicsOn(b5)
	if err != nil || len(md["apart"]) != 4 {
		t.Fatalf("metadata from broker 5: %v %v", md, err)
	}
	for p, reps := range md["apart"] {
		if len(reps) != 2 || slices.Contains(reps, 1) || slices.Contains(reps, 2) || slices.Contains(reps, 3) {
			t.Errorf("apart-%d on %v: replicas must be brokers 4 and 5", p, reps)
		}
	}
}

// startController starts a controller-only node and waits for its
// controller listener.
func (c *testCluster) startController(id int32) {
	nd := c.node(id)
	nd.b = startBroker(c.t, brokerOpts{io: c.io, logDir: nd.dir, port: nd.ctlPort, args: []string{
		"--node.id=" + strconv.Itoa(int(id)), "--process.roles=controller",
		"--listeners=CONTROLLER://" + nd.ctlAddr(), "--advertised.listeners=",
		"--controller.listener.names=CONTROLLER", "--listener.security.protocol.map=CONTROLLER:PLAINTEXT",
		"--controller.quorum.voters=" + c.voters,
		"--controller.quorum.election.timeout.ms=" + strconv.Itoa(int(testElectionTimeout.Milliseconds())),
		"--broker.session.timeout.ms=" + strconv.Itoa(int(testSessionTimeout.Milliseconds()))}})
}

// SIGTERM is a controlled shutdown: before the broker exits, the
// controller moves the leadership of its partitions to other ISR members
// and fences it, so clients find new leaders at once, not a session
// timeout later.
func TestCluster3ControlledShutdown(t *testing.T) {
	c := startCluster(t, 3, "std", "--broker.session.timeout.ms=30000")
	leader := c.waitLeader(5 * time.Second)
	adm := kadm.NewClient(c.client())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 6, 3, nil, "moving"); err != nil {
		t.Fatal(err)
	}
	leaving := int32(1)
	if leaving == leader {
		leaving = 2
	}
	survivor := c.node(leader)
	before := partitionLeaders(t, survivor, "moving")
	led := 0
	for _, p := range before {
		if p.leader == leaving {
			led++
		}
	}
	if led == 0 {
		t.Fatalf("broker %d leads no partition of moving: %v", leaving, before)
	}
	stopped := time.Now()
	c.stop(leaving)
	took := time.Since(stopped)
	// With a 30 s session, only the controlled shutdown explains this.
	if !brokerStates(survivor)[leaving] {
		t.Errorf("broker %d not fenced right after its controlled shutdown", leaving)
	}
	after := partitionLeaders(t, survivor, "moving")
	for p, was := range before {
		if now := after[p]; now.leader == leaving || now.leader < 0 || was.leader == leaving && now.epoch <= was.epoch {
			t.Errorf("moving-%d: led by %d at epoch %d after the shutdown (was %d at %d)", p, now.leader, now.epoch,
				was.leader, was.epoch)
		}
	}
	t.Logf("broker %d (led %d partitions) stopped in %v", leaving, led, took)
}

// partitionLogBytes is the bytes of a node's log of topic-p, in offset
// order, up to its records' end (the reserved zeros left out).
func partitionLogBytes(t *testing.T, nd *clusterNode, topic string, p int) []byte {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(nd.dir, fmt.Sprintf("%s-%d", topic, p), "*.log"))
	slices.Sort(segs)
	var out []byte
	for _, s := range segs {
		data, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		// Batches up to the first zero length: the rest is reserved space.
		n := 0
		for n+12 <= len(data) {
			size := int(binary.BigEndian.Uint32(data[n+8:])) + 12
			if size <= 12 || n+size > len(data) {
				break
			}
			n += size
		}
		out = append(out, data[:n]...)
	}
	return out
}

// waitSameLogs waits until every replica of topic-p holds the same bytes.
func (c *testCluster) waitSameLogs(topic string, p int, replicas []int32, timeout time.Duration) []byte {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var first []byte
		same := true
		for i, id := range replicas {
			b := partitionLogBytes(c.t, c.node(id), topic, p)
			if i == 0 {
				first = b
			} else if !bytes.Equal(b, first) {
				same = false
			}
		}
		if same && len(first) > 0 {
			return first
		}
		if time.Now().After(deadline) {
			for _, id := range replicas {
				c.t.Logf("node %d: %d bytes", id, len(partitionLogBytes(c.t, c.node(id), topic, p)))
			}
			c.t.Fatalf("%s-%d: replicas %v hold different bytes after %v", topic, p, replicas, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Followers replicate: records produced to an RF=3 topic are read back
// through the high watermark, and the three replicas hold the same bytes.
// Then the leader takes writes its followers never see (acks=1, the
// followers stopped), and dies; a follower becomes leader and takes other
// writes; when the old leader comes back it truncates its unreplicated
// tail (by the DivergingEpoch its first fetch is answered, never by high
// watermark alone), rejoins the ISR, and every replica again holds the
// same bytes, the new leader's.
func TestCluster3Replication(t *testing.T) {
	// Sessions of 4 s: followers stopped for a second stay unfenced.
	c := startCluster(t, 3, "std", "--replica.lag.time.max.ms=2000", "--broker.session.timeout.ms=4000")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := c.client(kgo.DefaultProduceTopic("rep"), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RetryTimeout(20*time.Second))
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 3, nil, "rep"); err != nil {
		t.Fatal(err)
	}
	produce := func(cl *kgo.Client, from, n int) {
		t.Helper()
		for i := from; i < from+n; i++ {
			cl.Produce(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}, func(_ *kgo.Record, err error) {
				if err != nil {
					t.Errorf("record %d: %v", i, err)
				}
			})
		}
		if err := cl.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	produce(cl, 0, 200)
	before := partitionLeaders(t, c.nodes[0], "rep")[0]
	all := []int32{1, 2, 3}
	c.waitSameLogs("rep", 0, all, 10*time.Second)
	readAll := func(want int) {
		t.Helper()
		cons := c.client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"rep": {0: kgo.NewOffset().AtStart()}}))
		got := 0
		for got < want {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("read %d of %d records", got, want)
			}
			got += fs.NumRecords()
		}
		cons.Close()
	}
	readAll(200)

	// The leader's own writes: its followers stopped, acks=1.
	old := before.leader
	var followers []int32
	for _, id := range all {
		if id != old {
			followers = append(followers, id)
			syscall.Kill(c.node(id).b.pid(), syscall.SIGSTOP)
		}
	}
	// A fetch sent before the stop is answered within its 500 ms wait:
	// after that no follower has one in flight to carry the writes.
	time.Sleep(700 * time.Millisecond)
	lone, err := kgo.NewClient(kgo.SeedBrokers(c.node(old).addr()), kgo.DefaultProduceTopic("rep"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.LeaderAck()),
		kgo.DisableIdempotentWrite())
	if err != nil {
		t.Fatal(err)
	}
	produce(lone, 1000, 50)
	lone.Close()
	c.kill(old)
	if !bytes.Contains(partitionLogBytes(t, c.node(old), "rep", 0), []byte("1049")) {
		t.Fatalf("the old leader's log lacks the writes it acknowledged alone")
	}
	for _, id := range followers {
		syscall.Kill(c.node(id).b.pid(), syscall.SIGCONT)
	}
	var now partitionState
	for deadline := time.Now().Add(20 * time.Second); ; {
		now = partitionLeaders(t, c.node(followers[0]), "rep")[0]
		if now.leader >= 0 && now.leader != old {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new leader for rep-0: %+v", now)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if now.epoch <= before.epoch {
		t.Errorf("new leader %d at epoch %d, not above %d", now.leader, now.epoch, before.epoch)
	}
	cl2 := c.client(kgo.DefaultProduceTopic("rep"), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RetryTimeout(20*time.Second))
	produce(cl2, 2000, 30)
	c.start(old)
	c.waitHealthy(20 * time.Second)
	data := c.waitSameLogs("rep", 0, all, 20*time.Second)
	if bytes.Contains(data, []byte("1049")) || !bytes.Contains(data, []byte("2029")) {
		t.Errorf("the replicas' log holds the old leader's unreplicated records, or not the new leader's")
	}
	if !strings.Contains(c.node(old).b.stderr.String(), "truncating records the new leader does not have") {
		t.Errorf("the old leader did not say it truncated its diverging tail")
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		st := partitionLeaders(t, c.node(now.leader), "rep")[0]
		if len(st.isr) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("old leader %d not back in the ISR: %+v", old, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	readAll(230)
}

// The default producer (idempotent, acks=all) on an RF=3 partition with
// min.insync.replicas=2 while its leader is SIGKILLed: every
// acknowledged record is read back once, in the order it was produced,
// from the new leader; and with two of three brokers stopped, acks=all
// answers NOT_ENOUGH_REPLICAS rather than acknowledge what one broker
// holds.
func TestCluster3AcksAllSurvivesLeaderLoss(t *testing.T) {
	c := startCluster(t, 3, "std", "--replica.lag.time.max.ms=2000")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	leader, acked, got := killLeaderUnderLoad(ctx, t, c)
	if missing, dups, reordered := ackedReadBack(acked, got); missing != 0 || dups != 0 || reordered != 0 {
		t.Errorf("%d of %d acknowledged records lost, %d read twice, %d out of order", missing, len(acked), dups, reordered)
	}
	t.Logf("%d records acknowledged across the leader's SIGKILL; %d read back", len(acked), len(got))

	// Two brokers down: the ISR cannot reach min.insync.replicas=2.
	c.start(leader)
	c.waitHealthy(20 * time.Second)
	var down []int32
	for _, nd := range c.nodes {
		if len(down) < 2 && nd.id != c.waitLeader(5*time.Second) {
			down = append(down, nd.id)
		}
	}
	for _, id := range down {
		c.stop(id)
	}
	// Not idempotent: a producer id needs the controller quorum, which two
	// stopped voters of three no longer make.
	one := c.client(kgo.DefaultProduceTopic("safe"), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordDeliveryTimeout(5*time.Second), kgo.RecordRetries(2), kgo.DisableIdempotentWrite())
	err := one.ProduceSync(ctx, &kgo.Record{Partition: 0, Value: []byte("alone")}).FirstErr()
	if err == nil || !strings.Contains(err.Error(), "NOT_ENOUGH_REPLICAS") && !strings.Contains(err.Error(), "timed out") {
		t.Errorf("acks=all with one broker of three: %v", err)
	}
}

// The checker of TestCluster3AcksAllSurvivesLeaderLoss can fail: with
// Weir's test-only switch that acknowledges acks=all before the ISR has
// the records, the same run loses acknowledged records, and the check
// finds them.
func TestCluster3CheckerCatchesEarlyAcks(t *testing.T) {
	c := &testCluster{t: t, io: "std", env: []string{"WEIR_TEST_ACK_BEFORE_REPLICATION=1"},
		args: []string{"--replica.lag.time.max.ms=2000"}}
	c.startNodes(3)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	_, acked, got := killLeaderUnderLoad(ctx, t, c)
	missing, _, _ := ackedReadBack(acked, got)
	if missing == 0 {
		t.Fatalf("acks before replication lost nothing of %d acknowledged records: the checker cannot fail", len(acked))
	}
	t.Logf("acks before replication: %d of %d acknowledged records lost, and found", missing, len(acked))
}

// killLeaderUnderLoad runs the default producer (idempotent, acks=all)
// against partition 0 of a new RF=3 topic with min.insync.replicas=2,
// stops the followers for 300 ms (what the leader takes then is on the
// leader alone), SIGKILLs the leader, lets the followers go on, and
// returns the leader killed, the values acknowledged, in order, and the
// values read back from the partition afterwards.
func killLeaderUnderLoad(ctx context.Context, t *testing.T, c *testCluster) (leader int32, acked, got []int) {
	t.Helper()
	c.createSafeTopic(ctx, "safe")
	leader = partitionLeaders(t, c.nodes[0], "safe")[0].leader
	cl := c.client(kgo.DefaultProduceTopic("safe"), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordDeliveryTimeout(30*time.Second))
	var mu sync.Mutex
	var sent sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			sent.Add(1)
			cl.Produce(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}, func(r *kgo.Record, err error) {
				defer sent.Done()
				if err == nil {
					mu.Lock()
					acked = append(acked, i)
					mu.Unlock()
				}
			})
			time.Sleep(time.Millisecond)
		}
	}()
	time.Sleep(500 * time.Millisecond)
	var followers []int32
	for _, nd := range c.nodes {
		if nd.id != leader {
			followers = append(followers, nd.id)
			syscall.Kill(nd.b.pid(), syscall.SIGSTOP)
		}
	}
	time.Sleep(300 * time.Millisecond)
	c.kill(leader)
	for _, id := range followers {
		syscall.Kill(c.node(id).b.pid(), syscall.SIGCONT)
	}
	time.Sleep(3 * time.Second)
	close(stop)
	sent.Wait()
	if len(acked) < 100 {
		t.Fatalf("only %d records acknowledged", len(acked))
	}
	slices.Sort(acked) // one partition, one producer: acknowledged in order
	cons := c.client(kgo.ConsumeTopics("safe"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	// Read until every acknowledged record could be there, or nothing
	// more comes for 5 s.
	for len(got) < len(acked) {
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		fs := cons.PollFetches(pctx)
		pcancel()
		if fs.NumRecords() == 0 && (pctx.Err() != nil || ctx.Err() != nil) {
			break
		}
		fs.EachRecord(func(r *kgo.Record) {
			v, _ := strconv.Atoi(string(r.Value))
			got = append(got, v)
		})
	}
	return leader, acked, got
}

// ackedReadBack compares the values acknowledged (in produce order) with
// those read back: how many acknowledged ones are missing, how many
// values were read more than once, and how many acknowledged ones come
// before an acknowledged one produced earlier (reordered).
// Unacknowledged values may be there too (their answer was lost), once.
func ackedReadBack(acked, got []int) (missing, dups, reordered int) {
	seen := map[int]bool{}
	for _, v := range got {
		if seen[v] {
			dups++
		}
		seen[v] = true
	}
	isAcked := map[int]bool{}
	for _, v := range acked {
		isAcked[v] = true
		if !seen[v] {
			missing++
		}
	}
	last := -1
	for _, v := range got {
		if isAcked[v] {
			if v < last {
				reordered++
			}
			last = max(last, v)
		}
	}
	return missing, dups, reordered
}

// Unclean election (unclean.leader.election.enable=true on the topic):
// the only ISR member dies, the out-of-sync replica becomes leader, and
// the log says what is lost: the new leader its log end, the old leader,
// when it comes back, the committed offsets it truncates.
func TestCluster3UncleanElectionLogsLoss(t *testing.T) {
	c := startCluster(t, 3, "std", "--replica.lag.time.max.ms=1000", "--broker.session.timeout.ms=3000")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Replicas 2 then 3, on brokers that are not the active controller
	// when possible; unclean election allowed for this topic only.
	ctl := c.waitLeader(5 * time.Second)
	a, b := int32(2), int32(3)
	if ctl == 2 {
		a = 1
	} else if ctl == 3 {
		b = 1
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "risky", -1, -1
	ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	ra.Partition, ra.Replicas = 0, []int32{a, b}
	rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
	rc := kmsg.NewCreateTopicsRequestTopicConfig()
	rc.Name, rc.Value = "unclean.leader.election.enable", kmsg.StringPtr("true")
	rt.Configs = append(rt.Configs, rc)
	req.Topics = append(req.Topics, rt)
	if resp, err := req.RequestWith(ctx, c.client()); err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create risky: %v %+v", err, resp)
	}
	c.metadataAgrees(10 * time.Second)
	// b falls out of the ISR (stopped past replica.lag.time.max.ms, not
	// past its session), then a takes records b never sees.
	syscall.Kill(c.node(b).b.pid(), syscall.SIGSTOP)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if st := partitionLeaders(t, c.node(a), "risky")[0]; slices.Equal(st.isr, []int32{a}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker %d still in the ISR of risky-0", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.node(a).addr()), kgo.DefaultProduceTopic("risky"),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DisableIdempotentWrite())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("only-on-a")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	c.kill(a)
	syscall.Kill(c.node(b).b.pid(), syscall.SIGCONT)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if st := partitionLeaders(t, c.node(b), "risky")[0]; st.leader == b {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker %d not elected leader of risky-0 (unclean)", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.start(a)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if strings.Contains(c.node(a).b.stderr.String(), "truncating committed records") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the old leader did not log the committed records it lost:\n%s", c.node(a).b.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(c.node(b).b.stderr.String(), "leader by an unclean election") {
		t.Errorf("the new leader did not log its unclean election")
	}
	for _, line := range strings.Split(c.node(a).b.stderr.String(), "\n") {
		if strings.Contains(line, "truncating committed records") {
			t.Logf("%s", line)
			if !strings.Contains(line, "from_offset=0") || !strings.Contains(line, "to_offset=20") {
				t.Errorf("lost offsets not [0, 20): %s", line)
			}
		}
	}
}

// Reassignment (KIP-455): a partition on broker A with records moves to
// brokers B and C: they follow, join the ISR, the reassignment completes
// (ListPartitionReassignments empties), A drops its log and leadership,
// the records read back from the new replicas, whose logs hold the same
// bytes; a cancel with nothing in progress and a target naming an
// unknown broker are refused.
func TestCluster3Reassignment(t *testing.T) {
	c := startCluster(t, 3, "std")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := c.client(kgo.DefaultProduceTopic("moving"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "moving"); err != nil {
		t.Fatal(err)
	}
	c.metadataAgrees(10 * time.Second)
	from := partitionLeaders(t, c.nodes[0], "moving")[0].leader
	var to []int32
	for _, nd := range c.nodes {
		if nd.id != from {
			to = append(to, nd.id)
		}
	}
	for i := 0; i < 300; i++ {
		cl.Produce(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var reqs kadm.AlterPartitionAssignmentsReq
	reqs.Assign("moving", 0, to)
	res, err := adm.AlterPartitionAssignments(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Error(); err != nil {
		t.Fatalf("reassign moving-0 to %v: %v", to, err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		st := partitionLeaders(t, c.node(to[0]), "moving")[0]
		listed, err := adm.ListPartitionReassignments(ctx, nil)
		if err == nil && len(listed) == 0 && !slices.Contains(st.isr, from) && slices.Contains(to, st.leader) &&
			!c.node(from).hasLog("moving", 0) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reassignment not complete: %+v, listed %v (%v), log on %d: %v", st, listed, err, from,
				c.node(from).hasLog("moving", 0))
		}
		time.Sleep(50 * time.Millisecond)
	}
	md := c.metadataAgrees(10 * time.Second)
	if got := md["moving"][0]; !slices.Equal(got, to) {
		t.Errorf("replicas %v, want %v", got, to)
	}
	data := c.waitSameLogs("moving", 0, to, 10*time.Second)
	if !bytes.Contains(data, []byte("299")) {
		t.Errorf("the new replicas lack the records written before the move")
	}
	cons := c.client(kgo.ConsumeTopics("moving"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for n := 0; n < 300; {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of 300 records after the move", n)
		}
		n += fs.NumRecords()
	}
	// Refusals.
	var cancelReq kadm.AlterPartitionAssignmentsReq
	cancelReq.CancelAssign("moving", 0)
	res, err = adm.AlterPartitionAssignments(ctx, cancelReq)
	if err != nil || res.Error() == nil || !strings.Contains(res.Error().Error(), "NO_REASSIGNMENT_IN_PROGRESS") {
		t.Errorf("cancel with none in progress: %v %v", err, res.Error())
	}
	var bad kadm.AlterPartitionAssignmentsReq
	bad.Assign("moving", 0, []int32{to[0], 42})
	res, err = adm.AlterPartitionAssignments(ctx, bad)
	if err != nil || res.Error() == nil || !strings.Contains(res.Error().Error(), "INVALID_REPLICA_ASSIGNMENT") {
		t.Errorf("unknown broker 42: %v %v", err, res.Error())
	}

	// And back with the tool, as kafka-reassign-partitions.sh would:
	// a plan file, --execute, then --verify until it is complete.
	plan := filepath.Join(t.TempDir(), "plan.json")
	back := fmt.Sprintf(`{"version":1,"partitions":[{"topic":"moving","partition":0,"replicas":[%d,%d]}]}`, from, to[0])
	if err := os.WriteFile(plan, []byte(back), 0o644); err != nil {
		t.Fatal(err)
	}
	seed := "--bootstrap-server=" + c.seeds()[0]
	if code, out, errOut := runAdminTool(t, "topic", "reassign", "--reassignment-json-file", plan, "--execute", seed); code != 0 ||
		!strings.Contains(out, "Started the reassignment of partition moving-0") {
		t.Fatalf("weir topic reassign --execute: exit %d: %s%s", code, out, errOut)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		code, out, _ := runAdminTool(t, "topic", "reassign", "--reassignment-json-file", plan, "--verify", seed)
		if code == 0 && strings.Contains(out, "Reassignment of partition moving-0 is completed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("weir topic reassign --verify: exit %d: %s", code, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := c.metadataAgrees(10 * time.Second)["moving"][0]; !slices.Equal(got, []int32{from, to[0]}) {
		t.Errorf("replicas after moving back %v, want [%d %d]", got, from, to[0])
	}
}

// A follower's fetch can carry more than its segment.bytes (the topic's
// segments were made larger before segment.bytes was lowered): it is
// appended a segment's worth at a time. A replica added by reassignment
// then holds the same records as the leader.
func TestCluster3ReplicationSmallSegments(t *testing.T) {
	c := startCluster(t, 3, "std")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := c.client(kgo.DefaultProduceTopic("small"), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(50<<10))
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"segment.bytes": kmsg.StringPtr("1048576")},
		"small"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 800; i++ {
		value := make([]byte, 1000) // random: no codec shrinks it
		for j := range value {
			value[j] = byte(rand.IntN(256))
		}
		cl.Produce(ctx, &kgo.Record{Value: value}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "segment.bytes", Value: kmsg.StringPtr("102400")}},
		"small"); err != nil {
		t.Fatal(err)
	}
	c.metadataAgrees(10 * time.Second)
	leader := partitionLeaders(t, c.nodes[0], "small")[0].leader
	other := leader%3 + 1
	var req kadm.AlterPartitionAssignmentsReq
	req.Assign("small", 0, []int32{leader, other})
	if res, err := adm.AlterPartitionAssignments(ctx, req); err != nil || res.Error() != nil {
		t.Fatalf("add a replica: %v %v", err, res.Error())
	}
	data := c.waitSameLogs("small", 0, []int32{leader, other}, 20*time.Second)
	if len(data) < 800*1000 {
		t.Errorf("the replicas hold %d bytes", len(data))
	}
}

// createSafeTopic creates topic, one partition of three replicas with
// min.insync.replicas=2, and waits until every node knows it.
func (c *testCluster) createSafeTopic(ctx context.Context, topic string) {
	c.t.Helper()
	adm := kadm.NewClient(c.client())
	if _, err := adm.CreateTopic(ctx, 1, 3, map[string]*string{"min.insync.replicas": kmsg.StringPtr("2")}, topic); err != nil {
		c.t.Fatal(err)
	}
	c.metadataAgrees(10 * time.Second)
}
