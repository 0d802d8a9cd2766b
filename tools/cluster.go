package tools

import (
	"encoding/base64"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Cluster runs `weir cluster <subcommand>`.
func Cluster(args []string, io IO) int {
	return dispatch("cluster", "Show the cluster: its metadata quorum and its brokers.", []subcommand{
		{clusterStatusCmd, clusterStatus},
	}, args, io)
}

var clusterStatusCmd = command{
	name:  "cluster status",
	usage: "weir cluster status [--human-readable]",
	summary: "Show the metadata quorum (leader, epoch, high watermark, voters and observers with their lag, " +
		"as kafka-metadata-quorum.sh describe --status and --replication) and the brokers with their fenced state.",
	examples: `
		weir cluster status
		weir cluster status --human-readable
		weir cluster status --output json`,
}

// quorumStatus is what `cluster status` prints: DescribeQuorum and
// DescribeCluster (v2, fenced brokers included).
type quorumStatus struct {
	ClusterID            string          `json:"cluster_id"`
	LeaderID             int32           `json:"leader_id"`
	LeaderEpoch          int32           `json:"leader_epoch"`
	HighWatermark        int64           `json:"high_watermark"`
	MaxFollowerLag       int64           `json:"max_follower_lag"`
	MaxFollowerLagTimeMs int64           `json:"max_follower_lag_time_ms"`
	Voters               []quorumReplica `json:"voters"`
	Observers            []quorumReplica `json:"observers"`
	Brokers              []clusterBroker `json:"brokers"`
}

// quorumReplica is a voter or observer: Kafka's --replication row.
type quorumReplica struct {
	NodeID                int32    `json:"node_id"`
	DirectoryID           string   `json:"directory_id"`
	LogEndOffset          int64    `json:"log_end_offset"`
	Lag                   int64    `json:"lag"`
	LastFetchTimestamp    int64    `json:"last_fetch_timestamp"`
	LastCaughtUpTimestamp int64    `json:"last_caught_up_timestamp"`
	Status                string   `json:"status"` // Leader, Follower or Observer
	Endpoints             []string `json:"endpoints"`
}

type clusterBroker struct {
	NodeID int32   `json:"node_id"`
	Host   string  `json:"host"`
	Port   int32   `json:"port"`
	Rack   *string `json:"rack"`
	Fenced bool    `json:"fenced"`
}

func clusterStatus(args []string, io IO) int {
	c := clusterStatusCmd
	a := newAdmin(c, io)
	human := a.fs.Bool("human-readable", false, "print the replicas' timestamps as how long ago (table only)")
	if code, done := a.parse(args); done {
		return code
	}
	if a.fs.NArg() > 0 {
		return usageError(c, io, "unexpected argument %q", a.fs.Arg(0))
	}
	s, exit := a.open()
	if s == nil {
		return exit
	}
	defer s.close()
	qreq := kmsg.NewPtrDescribeQuorumRequest()
	qt := kmsg.NewDescribeQuorumRequestTopic()
	qt.Topic = "__cluster_metadata"
	qt.Partitions = []kmsg.DescribeQuorumRequestTopicPartition{kmsg.NewDescribeQuorumRequestTopicPartition()}
	qreq.Topics = append(qreq.Topics, qt)
	qresp, err := qreq.RequestWith(s.ctx, s.cl)
	if err != nil {
		return failure(c, io, "describe quorum: %s", a.cn.explain(err))
	}
	creq := kmsg.NewPtrDescribeClusterRequest()
	creq.IncludeFencedBrokers = true
	cresp, err := creq.RequestWith(s.ctx, s.cl)
	if err != nil {
		return failure(c, io, "describe cluster: %s", a.cn.explain(err))
	}
	if err := kerr.ErrorForCode(cresp.ErrorCode); err != nil {
		return failure(c, io, "describe cluster: %s", brokerError(err, deref(cresp.ErrorMessage)))
	}
	st, problem := statusOf(qresp, cresp)
	if problem != "" {
		return failure(c, io, "describe quorum: %s", problem)
	}
	if a.out.json() {
		writeJSON(io.Out, st)
		return exitOK
	}
	printStatus(io.Out, st, *human, time.Now())
	return exitOK
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// statusOf builds the status from the two answers, or says what is wrong
// with the quorum's.
func statusOf(q *kmsg.DescribeQuorumResponse, c *kmsg.DescribeClusterResponse) (quorumStatus, string) {
	if err := kerr.ErrorForCode(q.ErrorCode); err != nil {
		return quorumStatus{}, brokerError(err, deref(q.ErrorMessage))
	}
	if len(q.Topics) != 1 || len(q.Topics[0].Partitions) != 1 {
		return quorumStatus{}, "the answer holds no __cluster_metadata partition"
	}
	p := q.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
		return quorumStatus{}, brokerError(err, deref(p.ErrorMessage))
	}
	endpoints := map[int32][]string{}
	for _, n := range q.Nodes {
		for _, l := range n.Listeners {
			endpoints[n.NodeID] = append(endpoints[n.NodeID], l.Name+"://"+hostPort(l.Host, int32(l.Port)))
		}
	}
	st := quorumStatus{ClusterID: c.ClusterID, LeaderID: p.LeaderID, LeaderEpoch: p.LeaderEpoch,
		HighWatermark: p.HighWatermark, MaxFollowerLagTimeMs: -1}
	var leader *kmsg.DescribeQuorumResponseTopicPartitionReplicaState
	for i := range p.CurrentVoters {
		if p.CurrentVoters[i].ReplicaID == p.LeaderID {
			leader = &p.CurrentVoters[i]
		}
	}
	if leader == nil {
		return quorumStatus{}, fmt.Sprintf("the leader %d is not among the voters", p.LeaderID)
	}
	row := func(r kmsg.DescribeQuorumResponseTopicPartitionReplicaState, status string) quorumReplica {
		return quorumReplica{NodeID: r.ReplicaID, DirectoryID: base64.RawURLEncoding.EncodeToString(r.ReplicaDirectoryID[:]),
			LogEndOffset: r.LogEndOffset, Lag: leader.LogEndOffset - r.LogEndOffset,
			LastFetchTimestamp: r.LastFetchTimestamp, LastCaughtUpTimestamp: r.LastCaughtUpTimestamp,
			Status: status, Endpoints: append([]string{}, endpoints[r.ReplicaID]...)}
	}
	st.Voters = append(st.Voters, row(*leader, "Leader"))
	laggard := *leader
	for _, v := range p.CurrentVoters {
		if v.LogEndOffset < laggard.LogEndOffset {
			laggard = v
		}
		if v.ReplicaID != p.LeaderID {
			st.Voters = append(st.Voters, row(v, "Follower"))
		}
	}
	// As kafka-metadata-quorum.sh: the lag of the voter furthest behind,
	// and how long ago it was caught up relative to the leader.
	st.MaxFollowerLag = leader.LogEndOffset - laggard.LogEndOffset
	switch {
	case laggard.ReplicaID == leader.ReplicaID:
		st.MaxFollowerLagTimeMs = 0
	case leader.LastCaughtUpTimestamp >= 0 && laggard.LastCaughtUpTimestamp >= 0:
		st.MaxFollowerLagTimeMs = leader.LastCaughtUpTimestamp - laggard.LastCaughtUpTimestamp
	}
	st.Observers = []quorumReplica{}
	for _, o := range p.Observers {
		st.Observers = append(st.Observers, row(o, "Observer"))
	}
	st.Brokers = []clusterBroker{}
	for _, b := range c.Brokers {
		st.Brokers = append(st.Brokers, clusterBroker{NodeID: b.NodeID, Host: b.Host, Port: b.Port, Rack: b.Rack,
			Fenced: b.IsFenced})
	}
	sort.Slice(st.Brokers, func(i, j int) bool { return st.Brokers[i].NodeID < st.Brokers[j].NodeID })
	return st, ""
}

func hostPort(host string, port int32) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(int(port))
}

// printStatus prints the status as kafka-metadata-quorum.sh describe
// --status does, then its --replication table, then the brokers.
func printStatus(w io.Writer, st quorumStatus, human bool, now time.Time) {
	list := func(rs []quorumReplica) string {
		var items []string
		for _, r := range rs {
			s := fmt.Sprintf(`{"id": %d, "directoryId": %s`, r.NodeID, dirID(r.DirectoryID))
			if len(r.Endpoints) > 0 {
				s += `, "endpoints": ["` + strings.Join(r.Endpoints, `", "`) + `"]`
			}
			items = append(items, s+"}")
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	fmt.Fprintf(w, "ClusterId:              %s\n", st.ClusterID)
	fmt.Fprintf(w, "LeaderId:               %d\n", st.LeaderID)
	fmt.Fprintf(w, "LeaderEpoch:            %d\n", st.LeaderEpoch)
	fmt.Fprintf(w, "HighWatermark:          %d\n", st.HighWatermark)
	fmt.Fprintf(w, "MaxFollowerLag:         %d\n", st.MaxFollowerLag)
	fmt.Fprintf(w, "MaxFollowerLagTimeMs:   %d\n", st.MaxFollowerLagTimeMs)
	fmt.Fprintf(w, "CurrentVoters:          %s\n", list(st.Voters))
	fmt.Fprintf(w, "CurrentObservers:       %s\n\n", list(st.Observers))
	when := func(ms int64) string {
		if !human || ms < 0 {
			return strconv.FormatInt(ms, 10)
		}
		return fmt.Sprintf("%d ms ago", max(now.UnixMilli()-ms, 0))
	}
	t := newTable(w, "NodeId", "DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status")
	for _, r := range append(append([]quorumReplica{}, st.Voters...), st.Observers...) {
		t.row(r.NodeID, r.DirectoryID, r.LogEndOffset, r.Lag, when(r.LastFetchTimestamp), when(r.LastCaughtUpTimestamp), r.Status)
	}
	t.flush()
	fmt.Fprintln(w)
	t = newTable(w, "BrokerId", "Host", "Port", "Rack", "Fenced")
	for _, b := range st.Brokers {
		rack := "-"
		if b.Rack != nil {
			rack = *b.Rack
		}
		t.row(b.NodeID, b.Host, b.Port, rack, b.Fenced)
	}
	t.flush()
}

// dirID is a directory id as Kafka's tool prints it: null for none.
func dirID(id string) string {
	if id == "AAAAAAAAAAAAAAAAAAAAAA" {
		return "null"
	}
	return `"` + id + `"`
}
