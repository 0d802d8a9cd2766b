package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ReplicationSpec says how to measure the cost of replication on a
// three-node cluster started on this host.
type ReplicationSpec struct {
	WeirBin    string
	IO         string // the nodes' --io backend
	DataDir    string // a temporary dir is made in it (default: in the system's)
	Duration   time.Duration
	Warmup     time.Duration
	Rounds     int
	Partitions int
	Producers  int
}

// The replication scenarios. Node 1 leads every partition of each.
const (
	scRF1      = "RF1 acks=1"
	scRF3Acks1 = "RF3 acks=1"
	scRF3All   = "RF3 acks=all"
)

type replScenario struct {
	name       string
	topic      string // a prefix; each run has its own topic
	replicas   []int32
	acks       string
	idempotent bool
}

var replScenarios = []replScenario{
	{scRF1, "rf1", []int32{1}, "1", false},
	{scRF3Acks1, "rf3-acks1", []int32{1, 2, 3}, "1", false},
	{scRF3All, "rf3-acksall", []int32{1, 2, 3}, "all", true},
}

// produceSpec is the producers' workload, the same in every
// scenario but for the topic and acks: compare's produce 1KiB.
func (s ReplicationSpec) produceSpec(sc replScenario, topic string) ProduceSpec {
	return ProduceSpec{Topic: topic, Partitions: s.Partitions, Replication: int16(len(sc.replicas)),
		Producers: s.Producers, RecordSize: 1024, Payload: "json", Keys: "none", Acks: sc.acks,
		BatchMaxBytes: 1 << 20, Linger: 5 * time.Millisecond, Compression: "none", Idempotent: sc.idempotent,
		Duration: s.Duration, Warmup: s.Warmup, MaxBuffered: defaultMaxBuffered(1024)}
}

// workload describes what the scenarios share.
func (s ReplicationSpec) workload() string {
	p := s.produceSpec(replScenarios[0], "")
	return fmt.Sprintf("%s %s values, no keys, batches up to %s, linger %v, compression %s", size(p.RecordSize),
		p.Payload, size(p.BatchMaxBytes), p.Linger, p.Compression)
}

// clusterNodes is the number of nodes the replication scenario starts.
const clusterNodes = 3

// cluster is three combined Weir nodes (broker and controller) the
// benchmark started as child processes, with a client per node that
// talks to that node only.
type cluster struct {
	nodes  []*brokerProc // node id i+1
	direct []*kgo.Client // seeded with node i+1 alone
	dir    string
}

// startCluster runs three combined nodes on free 127.0.0.1 ports with
// their logs in dir/node-N, and waits until each sees all three brokers
// registered and unfenced.
func startCluster(ctx context.Context, bin, ioBackend, dir string) (*cluster, error) {
	c := &cluster{dir: dir}
	var ports, ctlPorts [clusterNodes]int
	var voters []string
	for i := range clusterNodes {
		var err error
		if ports[i], err = freePort(); err != nil {
			return nil, err
		}
		if ctlPorts[i], err = freePort(); err != nil {
			return nil, err
		}
		voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", i+1, ctlPorts[i]))
	}
	for i := range clusterNodes {
		id := strconv.Itoa(i + 1)
		addr := "127.0.0.1:" + strconv.Itoa(ports[i])
		logDir := filepath.Join(dir, "node-"+id)
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			c.stop()
			return nil, err
		}
		// The Makefile's cluster target, on free ports, with startWeir's
		// segment sizes.
		p, err := startChild("node-"+id, addr, "weir serving", bin, "serve", "--node.id="+id,
			"--process.roles=broker,controller",
			"--listeners=PLAINTEXT://"+addr+",CONTROLLER://127.0.0.1:"+strconv.Itoa(ctlPorts[i]),
			"--advertised.listeners=PLAINTEXT://"+addr,
			"--controller.listener.names=CONTROLLER",
			"--listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
			"--controller.quorum.voters="+strings.Join(voters, ","),
			"--log.dirs="+logDir, "--io="+ioBackend,
			"--log.segment.bytes=134217728", "--log.index.size.max.bytes=1048576")
		if err != nil {
			c.stop()
			return nil, err
		}
		c.nodes = append(c.nodes, p)
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID("weir-bench"), kgo.DialTimeout(5*time.Second))
		if err != nil {
			c.stop()
			return nil, err
		}
		c.direct = append(c.direct, cl)
	}
	if err := c.waitRegistered(ctx, 30*time.Second); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// target is the cluster as the producers see it: seeded with every node,
// its CPU metered per node.
func (c *cluster) target() Target {
	t := Target{Name: "weir-3-nodes"}
	for _, n := range c.nodes {
		t.Bootstrap = append(t.Bootstrap, n.Bootstrap...)
		t.NodePIDs = append(t.NodePIDs, n.PID)
	}
	return t
}

// stop stops every node at once: SIGTERM, and SIGKILL after 4 s. The
// nodes' controlled shutdowns take about 2 s, but the last node left
// without a quorum waits out its broker session (9 s) for a controller
// that is gone; its logs are thrown away, so it is killed instead.
func (c *cluster) stop() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); n.stopWithin(4 * time.Second) }()
	}
	wg.Wait()
	for _, cl := range c.direct {
		cl.Close()
	}
}

// ask sends req to node id alone, bounded by 5 s.
func (c *cluster) ask(ctx context.Context, id int32, req kmsg.Request) (kmsg.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return c.direct[id-1].SeedBrokers()[0].Request(ctx, req)
}

// poll calls check every 50 ms until it returns nil, the context ends or
// timeout passes; then it returns check's last error.
func poll(ctx context.Context, timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitRegistered waits until every node's DescribeCluster lists the three
// brokers, none fenced.
func (c *cluster) waitRegistered(ctx context.Context, timeout time.Duration) error {
	err := poll(ctx, timeout, func() error {
		for id := int32(1); id <= clusterNodes; id++ {
			req := kmsg.NewPtrDescribeClusterRequest()
			req.Version, req.IncludeFencedBrokers = 2, true
			resp, err := c.ask(ctx, id, req)
			if err != nil {
				return fmt.Errorf("node %d: %w", id, err)
			}
			r := resp.(*kmsg.DescribeClusterResponse)
			if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
				return fmt.Errorf("node %d: %w", id, err)
			}
			unfenced := 0
			for _, b := range r.Brokers {
				if !b.IsFenced {
					unfenced++
				}
			}
			if unfenced != clusterNodes {
				return fmt.Errorf("node %d sees %d unfenced brokers of %d", id, unfenced, clusterNodes)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cluster not ready: %w", err)
	}
	return nil
}

// quorumLeader is the active controller (the Raft leader) as node 1 sees
// it; -1 when it does not say.
func (c *cluster) quorumLeader(ctx context.Context) int32 {
	req := kmsg.NewPtrDescribeQuorumRequest()
	rt := kmsg.NewDescribeQuorumRequestTopic()
	rt.Topic = "__cluster_metadata"
	rp := kmsg.NewDescribeQuorumRequestTopicPartition()
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := c.ask(ctx, 1, req)
	if err != nil {
		return -1
	}
	r := resp.(*kmsg.DescribeQuorumResponse)
	if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
		return -1
	}
	return r.Topics[0].Partitions[0].LeaderID
}

// createTopic creates topic with every partition on the given replicas
// (the first leads), and with min.insync.replicas=2 when replicated. Its
// logs are unlinked as soon as it is deleted (file.delete.delay.ms=0, not
// Kafka's minute), so deleteTopic can wait for them to be gone.
func (c *cluster) createTopic(ctx context.Context, topic string, partitions int, replicas []int32) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 15000
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = topic, -1, -1
	for p := range partitions {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = int32(p), replicas
		t.ReplicaAssignment = append(t.ReplicaAssignment, a)
	}
	configs := map[string]string{"file.delete.delay.ms": "0"}
	if len(replicas) > 1 {
		configs["min.insync.replicas"] = "2"
	}
	for k, v := range configs {
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = k, kmsg.StringPtr(v)
		t.Configs = append(t.Configs, cfg)
	}
	req.Topics = append(req.Topics, t)
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	resp, err := req.RequestWith(rctx, c.direct[0]) // kgo sends it to the controller
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	for _, rt := range resp.Topics {
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			msg := ""
			if rt.ErrorMessage != nil {
				msg = ": " + *rt.ErrorMessage
			}
			return fmt.Errorf("create topic %s: %w%s", topic, err, msg)
		}
	}
	return nil
}

// partitionState is one partition as a node's Metadata answers it.
type partitionState struct {
	leader int32
	isr    []int32
}

// topicState is Metadata for topic from node id, by partition.
func (c *cluster) topicState(ctx context.Context, id int32, topic string) (map[int32]partitionState, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := c.ask(ctx, id, req)
	if err != nil {
		return nil, fmt.Errorf("metadata from node %d: %w", id, err)
	}
	out := map[int32]partitionState{}
	for _, t := range resp.(*kmsg.MetadataResponse).Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return nil, fmt.Errorf("metadata of %s from node %d: %w", topic, id, err)
		}
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, fmt.Errorf("metadata of %s[%d] from node %d: %w", topic, p.Partition, id, err)
			}
			out[p.Partition] = partitionState{leader: p.Leader, isr: p.ISR}
		}
	}
	return out, nil
}

// checkLed says whether node id's metadata has every partition of topic led
// by node 1 with all replicas in sync.
func (c *cluster) checkLed(ctx context.Context, id int32, topic string, partitions, replicas int) error {
	st, err := c.topicState(ctx, id, topic)
	if err != nil {
		return err
	}
	if len(st) != partitions {
		return fmt.Errorf("node %d knows %d partitions of %s, want %d", id, len(st), topic, partitions)
	}
	for p, s := range st {
		if s.leader != 1 {
			return fmt.Errorf("node %d: %s[%d] led by node %d, not node 1", id, topic, p, s.leader)
		}
		if len(s.isr) != replicas {
			return fmt.Errorf("node %d: %s[%d] has ISR %v, want %d replicas", id, topic, p, s.isr, replicas)
		}
	}
	return nil
}

// endOffsets lists topic's high watermarks on node 1 (its leader).
func (c *cluster) endOffsets(ctx context.Context, topic string, partitions int) (map[int32]int64, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for p := range partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = int32(p), -1, -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := c.ask(ctx, 1, req)
	if err != nil {
		return nil, fmt.Errorf("list offsets on node 1: %w", err)
	}
	out := map[int32]int64{}
	for _, t := range resp.(*kmsg.ListOffsetsResponse).Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, fmt.Errorf("list offsets of %s[%d] on node 1: %w", topic, p.Partition, err)
			}
			out[p.Partition] = p.Offset
		}
	}
	return out, nil
}

// logSizes is the size of each of topic's partition logs on node id
// (DescribeLogDirs: all segments' bytes).
func (c *cluster) logSizes(ctx context.Context, id int32, topic string, partitions int) (map[int32]int64, error) {
	req := kmsg.NewPtrDescribeLogDirsRequest()
	rt := kmsg.NewDescribeLogDirsRequestTopic()
	rt.Topic = topic
	for p := range partitions {
		rt.Partitions = append(rt.Partitions, int32(p))
	}
	req.Topics = append(req.Topics, rt)
	resp, err := c.ask(ctx, id, req)
	if err != nil {
		return nil, fmt.Errorf("describe log dirs on node %d: %w", id, err)
	}
	r := resp.(*kmsg.DescribeLogDirsResponse)
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		return nil, fmt.Errorf("describe log dirs on node %d: %w", id, err)
	}
	out := map[int32]int64{}
	for _, d := range r.Dirs {
		if err := kerr.ErrorForCode(d.ErrorCode); err != nil {
			return nil, fmt.Errorf("log dir %s on node %d: %w", d.Dir, id, err)
		}
		for _, t := range d.Topics {
			for _, p := range t.Partitions {
				if !p.IsFuture {
					out[p.Partition] += p.Size
				}
			}
		}
	}
	return out, nil
}

// ReplicaCheck is what one run's records became on the cluster: what the
// producers had acknowledged, the leader's high watermark, and each
// node's log bytes for the topic (equal on every replica once followers
// caught up, as they append the leader's batches as they are).
type ReplicaCheck struct {
	Round        int     `json:"round"`
	Scenario     string  `json:"scenario"`
	Topic        string  `json:"topic"`
	Acknowledged int64   `json:"acknowledged_records"` // warm-up included
	HighWater    int64   `json:"leader_high_watermark"`
	NodeBytes    []int64 `json:"node_log_bytes"` // node 1, 2, 3; 0 on a node without a replica
	MinISR       int     `json:"min_isr_after"`  // the smallest ISR of the topic's partitions after the run
	CatchUp      float64 `json:"catch_up_s"`     // from the last acknowledgement until the checks held
	Err          string  `json:"error,omitempty"`
}

// verify waits (at most 30 s) until node 1's high watermark of every
// partition equals the records acknowledged to it and, when replicated,
// every follower's log is as long as the leader's; and checks that node 1
// still leads every partition.
func (c *cluster) verify(ctx context.Context, round int, sc replScenario, topic string, partitions int,
	res *Result) *ReplicaCheck {
	chk := &ReplicaCheck{Round: round, Scenario: sc.name, Topic: topic, NodeBytes: make([]int64, clusterNodes)}
	acked := map[int32]int64{}
	for _, p := range res.Partitions {
		acked[p.Partition] = p.Records
		chk.Acknowledged += p.Records
	}
	began := time.Now()
	err := poll(ctx, 30*time.Second, func() error {
		hw, err := c.endOffsets(ctx, topic, partitions)
		if err != nil {
			return err
		}
		chk.HighWater = 0
		var errs []string
		for p := range int32(partitions) {
			chk.HighWater += hw[p]
			if hw[p] != acked[p] {
				errs = append(errs, fmt.Sprintf("%s[%d] high watermark %d, %d acknowledged", topic, p, hw[p], acked[p]))
			}
		}
		sizes := make([]map[int32]int64, clusterNodes)
		for i := range clusterNodes {
			if sizes[i], err = c.logSizes(ctx, int32(i+1), topic, partitions); err != nil {
				return err
			}
			chk.NodeBytes[i] = 0
			for _, n := range sizes[i] {
				chk.NodeBytes[i] += n
			}
		}
		for _, id := range sc.replicas[1:] {
			for p := range int32(partitions) {
				if got, want := sizes[id-1][p], sizes[0][p]; got != want {
					errs = append(errs, fmt.Sprintf("node %d's log of %s[%d] is %d bytes, the leader's %d",
						id, topic, p, got, want))
				}
			}
		}
		if len(errs) > 0 {
			return errors.New(strings.Join(errs, "; "))
		}
		return nil
	})
	chk.CatchUp = time.Since(began).Seconds()
	if err == nil {
		st, serr := c.topicState(ctx, 1, topic)
		err = serr
		chk.MinISR = clusterNodes
		for p, s := range st {
			chk.MinISR = min(chk.MinISR, len(s.isr))
			if s.leader != 1 && err == nil {
				err = fmt.Errorf("%s[%d] is led by node %d after the run, not node 1: the nodes' CPU is not the roles'",
					topic, p, s.leader)
			}
		}
	}
	if err != nil {
		chk.Err = err.Error()
		return chk
	}
	var followers []string
	for _, id := range sc.replicas[1:] {
		followers = append(followers, strconv.Itoa(int(id)))
	}
	res.Verified = fmt.Sprintf("%d records acknowledged = node 1's high watermarks (per partition)", chk.Acknowledged)
	if len(followers) > 0 {
		res.Verified += fmt.Sprintf("; nodes %s hold the leader's %.1f MB of log (per partition, after %.1f s); "+
			"smallest ISR %d of %d", strings.Join(followers, " and "), float64(chk.NodeBytes[0])/1e6, chk.CatchUp,
			chk.MinISR, len(sc.replicas))
	}
	return chk
}

// deleteTopic deletes topic and waits (at most 60 s) until no node's log
// dir holds any of its logs, so the next run's nodes are not busy
// removing this one's files.
func (c *cluster) deleteTopic(ctx context.Context, topic string) error {
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TimeoutMillis = 15000
	req.TopicNames = []string{topic}
	rt := kmsg.NewDeleteTopicsRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	resp, err := req.RequestWith(rctx, c.direct[0])
	if err != nil {
		return fmt.Errorf("delete topic %s: %w", topic, err)
	}
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return fmt.Errorf("delete topic %s: %w", topic, err)
		}
	}
	return poll(ctx, 60*time.Second, func() error {
		for i := range clusterNodes {
			dir := filepath.Join(c.dir, "node-"+strconv.Itoa(i+1))
			entries, err := os.ReadDir(dir)
			if err != nil {
				return err
			}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), topic+"-") {
					return fmt.Errorf("%s still holds %s", dir, e.Name())
				}
			}
		}
		return nil
	})
}

// Replication starts the cluster and runs the three scenarios in
// alternation for the rounds, each on a topic of its own, verifying each
// run's replication and deleting its topic after it.
func Replication(ctx context.Context, s ReplicationSpec, stderr io.Writer) (*ReplicationReport, error) {
	rep := &ReplicationReport{Date: time.Now().UTC(), Machine: thisMachine(), IO: s.IO, Partitions: s.Partitions,
		Producers: s.Producers, Rounds: s.Rounds, Duration: s.Duration, Warmup: s.Warmup,
		Workload: s.workload()}
	parent := s.DataDir
	if parent != "" {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp(parent, "weir-bench-replication-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(stderr, "starting 3 nodes (--io=%s) in %s...\n", s.IO, dir)
	c, err := startCluster(ctx, s.WeirBin, s.IO, dir)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	t := c.target()
	for i, n := range c.nodes {
		rep.Nodes = append(rep.Nodes, fmt.Sprintf("node %d: %s, pid %d", i+1, n.Bootstrap[0], n.PID))
	}
	rep.QuorumLeader = c.quorumLeader(ctx)
	prog := newProgress(stderr)
	for round := 1; round <= s.Rounds; round++ {
		for _, sc := range replScenarios {
			topic := fmt.Sprintf("%s-%d", sc.topic, round)
			res, chk, err := c.run(ctx, s, sc, round, topic, t, prog)
			if res != nil {
				rep.Results = append(rep.Results, res)
				logResult(stderr, round, res)
			}
			if chk != nil {
				rep.Checks = append(rep.Checks, *chk)
			}
			if err != nil {
				rep.finish()
				return rep, fmt.Errorf("%s, round %d: %w", sc.name, round, err)
			}
		}
	}
	rep.finish()
	return rep, nil
}

// run is one scenario's run: its topic made and led by node 1 with every
// replica in sync, the producers, the replication check, the topic
// deleted.
func (c *cluster) run(ctx context.Context, s ReplicationSpec, sc replScenario, round int, topic string, t Target,
	prog *progress) (*Result, *ReplicaCheck, error) {
	if err := c.createTopic(ctx, topic, s.Partitions, sc.replicas); err != nil {
		return nil, nil, err
	}
	err := poll(ctx, 30*time.Second, func() error {
		for id := int32(1); id <= clusterNodes; id++ {
			if err := c.checkLed(ctx, id, topic, s.Partitions, len(sc.replicas)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	res, err := produceInto(ctx, t, s.produceSpec(sc, topic), prog.titled(sc.name))
	if err != nil {
		return nil, nil, err
	}
	res.Scenario = sc.name
	if res.Errors > 0 {
		return res, nil, fmt.Errorf("%d records failed, first: %s", res.Errors, res.FirstErr)
	}
	chk := c.verify(ctx, round, sc, topic, s.Partitions, res)
	if chk.Err != "" {
		return res, chk, errors.New(chk.Err)
	}
	return res, chk, c.deleteTopic(ctx, topic)
}
