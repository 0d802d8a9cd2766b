package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
)

// DescribeQuorum: v0-2
//
// Behavior:
// * Served on broker and controller listeners (Kafka's brokers forward it
//   to the active controller; this node is its own), from a control-plane
//   goroutine.
// * The request must name exactly __cluster_metadata partition 0, else
//   every partition asked gets UNKNOWN_TOPIC_OR_PARTITION (with its
//   message in v2), as KafkaRaftClient answers.
// * The answer is the metadata quorum as the controller's Proposer
//   describes it: on a single node, this node is the leader, in the
//   metadata log's epoch (one per start), and the sole voter; the high
//   watermark and its log end offset are the log's end (everything
//   appended is committed), and, as Kafka's leader reports itself, its
//   last fetch and last caught-up timestamps are now. No observers.
// * v2: each voter's directory id is zero (static voters, KIP-853), and
//   Nodes lists the voters' controller endpoints: the voter's host:port
//   under the first controller listener name, or with no quorum keys this
//   node's advertised controller listeners (none when it has none).
//
// Version notes:
// * v1: LastFetchTimestamp, LastCaughtUpTimestamp
// * v2: ErrorMessage, ReplicaDirectoryID, Nodes

func init() { register(api{key: 55, min: 0, max: 2, handle: handleDescribeQuorum}) }

func handleDescribeQuorum(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeQuorumRequest)
	// The proposer may be writing (an fsync): answer from a control-plane
	// goroutine, not the connection's shard.
	go func() { r.respond(b.describeQuorum(req)) }()
	return nil, nil
}

func (b *Broker) describeQuorum(req *kmsg.DescribeQuorumRequest) *kmsg.DescribeQuorumResponse {
	resp := req.ResponseKind().(*kmsg.DescribeQuorumResponse)
	if len(req.Topics) != 1 || req.Topics[0].Topic != controller.ClusterMetadataTopic ||
		len(req.Topics[0].Partitions) != 1 || req.Topics[0].Partitions[0].Partition != 0 {
		for _, rt := range req.Topics {
			t := kmsg.NewDescribeQuorumResponseTopic()
			t.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				p := kmsg.NewDescribeQuorumResponseTopicPartition()
				p.Partition, p.ErrorCode = rp.Partition, kerr.UnknownTopicOrPartition.Code
				p.ErrorMessage = kmsg.StringPtr(kerr.UnknownTopicOrPartition.Description)
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return resp
	}
	q := controller.Quorum{LeaderID: -1}
	if b.ctl.proposer != nil {
		q = b.ctl.proposer.Quorum()
	}
	if cl := b.cluster; cl != nil && cl.raft != nil && q.LeaderID == b.nodeID {
		q.Observers = append(q.Observers, cl.observerStates()...)
	}
	t := kmsg.NewDescribeQuorumResponseTopic()
	t.Topic = controller.ClusterMetadataTopic
	p := kmsg.NewDescribeQuorumResponseTopicPartition()
	p.LeaderID, p.LeaderEpoch, p.HighWatermark = q.LeaderID, q.LeaderEpoch, q.HighWatermark
	if q.LeaderID < 0 {
		p.ErrorCode = kerr.NotLeaderForPartition.Code
		p.ErrorMessage = kmsg.StringPtr(kerr.NotLeaderForPartition.Description)
	}
	p.CurrentVoters, p.Observers = replicaStates(q.Voters), replicaStates(q.Observers)
	t.Partitions = append(t.Partitions, p)
	resp.Topics = append(resp.Topics, t)
	if req.Version >= 2 {
		for _, v := range q.Voters {
			resp.Nodes = append(resp.Nodes, b.quorumNode(v.ID))
		}
	}
	return resp
}

func replicaStates(rs []controller.Replica) []kmsg.DescribeQuorumResponseTopicPartitionReplicaState {
	out := []kmsg.DescribeQuorumResponseTopicPartitionReplicaState{}
	for _, r := range rs {
		s := kmsg.NewDescribeQuorumResponseTopicPartitionReplicaState()
		s.ReplicaID, s.ReplicaDirectoryID, s.LogEndOffset = r.ID, r.DirectoryID, r.LogEndOffset
		s.LastFetchTimestamp, s.LastCaughtUpTimestamp = r.LastFetchMs, r.LastCaughtUpMs
		out = append(out, s)
	}
	return out
}

// quorumNode is voter id's controller endpoints (see DescribeQuorum).
func (b *Broker) quorumNode(id int32) kmsg.DescribeQuorumResponseNode {
	n := kmsg.NewDescribeQuorumResponseNode()
	n.NodeID = id
	n.Listeners = []kmsg.DescribeQuorumResponseNodeListener{}
	for _, v := range b.cfg.Voters {
		if v.ID == id && len(b.cfg.ControllerListeners) > 0 {
			l := kmsg.NewDescribeQuorumResponseNodeListener()
			l.Name, l.Host, l.Port = b.cfg.ControllerListeners[0], v.Host, uint16(v.Port)
			n.Listeners = append(n.Listeners, l)
			return n
		}
	}
	if id != b.nodeID {
		return n
	}
	ends := *b.endpoints.Load()
	for _, name := range b.cfg.ControllerListeners {
		if ep, ok := ends[name]; ok {
			l := kmsg.NewDescribeQuorumResponseNodeListener()
			l.Name, l.Host, l.Port = name, ep.Host, uint16(ep.Port)
			n.Listeners = append(n.Listeners, l)
		}
	}
	return n
}
