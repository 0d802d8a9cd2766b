package tools

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func replicaState(id int32, leo, fetch, caught int64) kmsg.DescribeQuorumResponseTopicPartitionReplicaState {
	return kmsg.DescribeQuorumResponseTopicPartitionReplicaState{ReplicaID: id, LogEndOffset: leo,
		LastFetchTimestamp: fetch, LastCaughtUpTimestamp: caught}
}

// A three-voter quorum with an observer: lags against the leader, the
// furthest follower's lag and lag time as kafka-metadata-quorum.sh
// computes them, and the brokers with their fenced state.
func TestClusterStatusOf(t *testing.T) {
	q := kmsg.NewPtrDescribeQuorumResponse()
	q.Topics = []kmsg.DescribeQuorumResponseTopic{{Topic: "__cluster_metadata", Partitions: []kmsg.DescribeQuorumResponseTopicPartition{{
		LeaderID: 2, LeaderEpoch: 5, HighWatermark: 90,
		CurrentVoters: []kmsg.DescribeQuorumResponseTopicPartitionReplicaState{
			replicaState(1, 95, 1000, 900), replicaState(2, 100, 1010, 1010), replicaState(3, 80, 1005, 700)},
		Observers: []kmsg.DescribeQuorumResponseTopicPartitionReplicaState{replicaState(4, 99, 1008, 1008)},
	}}}}
	q.Nodes = []kmsg.DescribeQuorumResponseNode{{NodeID: 2, Listeners: []kmsg.DescribeQuorumResponseNodeListener{
		{Name: "CONTROLLER", Host: "h2", Port: 9193}}}}
	c := kmsg.NewPtrDescribeClusterResponse()
	c.ClusterID = "cid"
	c.Brokers = []kmsg.DescribeClusterResponseBroker{{NodeID: 4, Host: "h4", Port: 9092, IsFenced: true}, {NodeID: 1, Host: "h1", Port: 9092}}
	st, problem := statusOf(q, c)
	if problem != "" {
		t.Fatal(problem)
	}
	zero := "AAAAAAAAAAAAAAAAAAAAAA"
	want := quorumStatus{ClusterID: "cid", LeaderID: 2, LeaderEpoch: 5, HighWatermark: 90, MaxFollowerLag: 20,
		MaxFollowerLagTimeMs: 310,
		Voters: []quorumReplica{
			{NodeID: 2, DirectoryID: zero, LogEndOffset: 100, Lag: 0, LastFetchTimestamp: 1010, LastCaughtUpTimestamp: 1010,
				Status: "Leader", Endpoints: []string{"CONTROLLER://h2:9193"}},
			{NodeID: 1, DirectoryID: zero, LogEndOffset: 95, Lag: 5, LastFetchTimestamp: 1000, LastCaughtUpTimestamp: 900,
				Status: "Follower", Endpoints: []string{}},
			{NodeID: 3, DirectoryID: zero, LogEndOffset: 80, Lag: 20, LastFetchTimestamp: 1005, LastCaughtUpTimestamp: 700,
				Status: "Follower", Endpoints: []string{}}},
		Observers: []quorumReplica{{NodeID: 4, DirectoryID: zero, LogEndOffset: 99, Lag: 1, LastFetchTimestamp: 1008,
			LastCaughtUpTimestamp: 1008, Status: "Observer", Endpoints: []string{}}},
		Brokers: []clusterBroker{{NodeID: 1, Host: "h1", Port: 9092}, {NodeID: 4, Host: "h4", Port: 9092, Fenced: true}},
	}
	if !reflect.DeepEqual(st, want) {
		t.Fatalf("status\n got %+v\nwant %+v", st, want)
	}
	var out bytes.Buffer
	printStatus(&out, st, true, time.UnixMilli(1020))
	for _, w := range []string{
		"ClusterId:              cid\n", "LeaderId:               2\n", "MaxFollowerLag:         20\n",
		`CurrentVoters:          [{"id": 2, "directoryId": null, "endpoints": ["CONTROLLER://h2:9193"]}, {"id": 1, "directoryId": null}, {"id": 3, "directoryId": null}]`,
		`CurrentObservers:       [{"id": 4, "directoryId": null}]`,
		"NodeId  DirectoryId             LogEndOffset  Lag  LastFetchTimestamp  LastCaughtUpTimestamp  Status",
		"3       " + zero + "  80            20   15 ms ago           320 ms ago             Follower",
		"4         h4    9092  -     true",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("no %q in:\n%s", w, out.String())
		}
	}

	// A quorum answer with an error says so.
	q.Topics[0].Partitions[0].ErrorCode = kerr.NotLeaderForPartition.Code
	if _, problem := statusOf(q, c); !strings.Contains(problem, "NOT_LEADER") {
		t.Errorf("error: %q", problem)
	}
}
