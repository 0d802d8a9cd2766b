package main

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// clusterBroker starts a broker with a controller listener and a short
// broker session (1 s), and returns it with the controller's address.
func clusterBroker(t *testing.T) (*broker, string) {
	t.Helper()
	port, ctl := freePort(t), freePort(t)
	ctlAddr := "127.0.0.1:" + strconv.Itoa(ctl)
	b := startBroker(t, brokerOpts{io: "std", port: port, args: []string{
		"--listeners=PLAINTEXT://127.0.0.1:" + strconv.Itoa(port) + ",CONTROLLER://" + ctlAddr,
		"--controller.listener.names=CONTROLLER", "--broker.session.timeout.ms=1000",
		"--broker.heartbeat.interval.ms=100"}})
	return b, ctlAddr
}

func rawDo(t *testing.T, addr string, req kmsg.Request) kmsg.Response {
	t.Helper()
	c, err := dialRaw(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.conn.Close()
	resp, err := c.do(req)
	if err != nil {
		t.Fatalf("%s to %s: %v", kmsg.NameForKey(req.Key()), addr, err)
	}
	return resp
}

// fencedState is DescribeCluster v2's brokers (fenced included) by id.
func fencedState(t *testing.T, addr string) map[int32]bool {
	req := kmsg.NewPtrDescribeClusterRequest()
	req.Version, req.IncludeFencedBrokers = 2, true
	out := map[int32]bool{}
	for _, br := range rawDo(t, addr, req).(*kmsg.DescribeClusterResponse).Brokers {
		out[br.NodeID] = br.IsFenced
	}
	return out
}

func metadataBrokers(t *testing.T, addr string) []int32 {
	var ids []int32
	for _, br := range rawDo(t, addr, metadataAll()).(*kmsg.MetadataResponse).Brokers {
		ids = append(ids, br.NodeID)
	}
	return ids
}

type statusJSON struct {
	ClusterID   string `json:"cluster_id"`
	LeaderID    int32  `json:"leader_id"`
	LeaderEpoch int32  `json:"leader_epoch"`
	HW          int64  `json:"high_watermark"`
	Voters      []struct {
		NodeID       int32    `json:"node_id"`
		LogEndOffset int64    `json:"log_end_offset"`
		Lag          int64    `json:"lag"`
		LastFetch    int64    `json:"last_fetch_timestamp"`
		Status       string   `json:"status"`
		Endpoints    []string `json:"endpoints"`
	} `json:"voters"`
	Brokers []struct {
		NodeID int32 `json:"node_id"`
		Fenced bool  `json:"fenced"`
	} `json:"brokers"`
}

// A second broker id registers over the wire, raw, on the controller
// listener: fenced until it heartbeats, listed once unfenced, fenced again
// when its session ends; `weir cluster status` shows it all.
func TestBrokerRegistrationOverTheWire(t *testing.T) {
	b, ctl := clusterBroker(t)
	reg := kmsg.NewPtrBrokerRegistrationRequest()
	reg.BrokerID, reg.IncarnationID = 2, [16]byte{2}
	reg.ClusterID = *rawDo(t, b.addr, metadataAll()).(*kmsg.MetadataResponse).ClusterID
	reg.Listeners = []kmsg.BrokerRegistrationRequestListener{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(freePort(t))}}
	reg.Features = []kmsg.BrokerRegistrationRequestFeature{{Name: "metadata.version", MinSupportedVersion: 7, MaxSupportedVersion: 7}}

	// Not on a broker listener: the connection is closed, as Kafka does.
	c, err := dialRaw(b.addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.do(reg); err == nil {
		t.Fatalf("BrokerRegistration answered on the broker listener")
	}
	c.conn.Close()

	rr := rawDo(t, ctl, reg).(*kmsg.BrokerRegistrationResponse)
	if rr.ErrorCode != 0 || rr.BrokerEpoch <= 0 {
		t.Fatalf("registration: %+v", rr)
	}
	if got := fencedState(t, b.addr); len(got) != 2 || got[1] || !got[2] {
		t.Fatalf("registered: %v", got)
	}
	if ids := metadataBrokers(t, b.addr); !slices.Equal(ids, []int32{1}) {
		t.Fatalf("metadata lists %v", ids)
	}
	var st statusJSON
	adminJSON(t, &st, "cluster", "status", "--bootstrap-server="+b.addr)
	if st.LeaderID != 1 || st.LeaderEpoch < 1 || st.HW <= 0 || len(st.Voters) != 1 || st.Voters[0].NodeID != 1 ||
		st.Voters[0].Status != "Leader" || st.Voters[0].LogEndOffset != st.HW || st.Voters[0].Lag != 0 ||
		!slices.Equal(st.Voters[0].Endpoints, []string{"CONTROLLER://" + ctl}) || len(st.Brokers) != 2 ||
		st.Brokers[0].Fenced || !st.Brokers[1].Fenced || st.ClusterID == "" {
		t.Fatalf("cluster status %+v", st)
	}

	hb := kmsg.NewPtrBrokerHeartbeatRequest()
	hb.BrokerID, hb.BrokerEpoch, hb.CurrentMetadataOffset = 2, rr.BrokerEpoch, rr.BrokerEpoch
	hr := rawDo(t, ctl, hb).(*kmsg.BrokerHeartbeatResponse)
	unfenced := time.Now()
	if hr.ErrorCode != 0 || hr.IsFenced || !hr.IsCaughtUp {
		t.Fatalf("heartbeat: %+v", hr)
	}
	if ids := metadataBrokers(t, b.addr); !slices.Equal(ids, []int32{1, 2}) {
		t.Fatalf("metadata after unfencing lists %v", ids)
	}
	code, out, _ := runAdminTool(t, "cluster", "status", "--bootstrap-server="+b.addr, "--human-readable")
	if code != 0 || !strings.Contains(out, "LeaderId:               1") || !strings.Contains(out, "Leader\n") ||
		!strings.Contains(out, "ms ago") {
		t.Errorf("cluster status table: exit %d\n%s", code, out)
	}
	// No more heartbeats: fenced after the 1 s session (checked every 100 ms).
	for fencedState(t, b.addr)[2] == false {
		if time.Since(unfenced) > 5*time.Second {
			t.Fatalf("broker 2 not fenced 5 s after its last heartbeat")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if took := time.Since(unfenced); took < time.Second {
		t.Errorf("fenced after %v, before the session timeout", took)
	}
	if ids := metadataBrokers(t, b.addr); !slices.Equal(ids, []int32{1}) {
		t.Errorf("metadata after fencing lists %v", ids)
	}
	if !strings.Contains(b.stderr.String(), "fenced a broker whose session expired") {
		t.Errorf("no log of the fencing:\n%s", b.stderr)
	}
}

// franz-go finds DescribeQuorum and DescribeTopicPartitions in ApiVersions
// and gets Kafka's answers; a client pages DescribeTopicPartitions.
func TestClusterAPIsFranzGo(t *testing.T) {
	b, _ := clusterBroker(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "b"); err != nil {
		t.Fatal(err)
	}
	qreq := kmsg.NewPtrDescribeQuorumRequest()
	qreq.Topics = []kmsg.DescribeQuorumRequestTopic{{Topic: "__cluster_metadata",
		Partitions: []kmsg.DescribeQuorumRequestTopicPartition{{Partition: 0}}}}
	q, err := qreq.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if q.Version != 2 || len(q.Topics) != 1 || q.Topics[0].Partitions[0].LeaderID != 1 ||
		len(q.Topics[0].Partitions[0].CurrentVoters) != 1 || q.Topics[0].Partitions[0].HighWatermark <= 0 {
		t.Fatalf("DescribeQuorum v%d: %+v", q.Version, q)
	}
	var pages []string
	var cursor *kmsg.DescribeTopicPartitionsRequestCursor
	for i := 0; i < 5; i++ {
		req := kmsg.NewPtrDescribeTopicPartitionsRequest()
		req.ResponsePartitionLimit, req.Cursor = 2, cursor
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		var page []string
		for _, tp := range resp.Topics {
			for _, p := range tp.Partitions {
				page = append(page, *tp.Topic+"-"+strconv.Itoa(int(p.Partition)))
				if p.LeaderID != 1 || len(p.ISR) != 1 || p.EligibleLeaderReplicas == nil {
					t.Errorf("%s-%d: %+v", *tp.Topic, p.Partition, p)
				}
			}
		}
		pages = append(pages, strings.Join(page, ","))
		if resp.NextCursor == nil {
			break
		}
		cursor = &kmsg.DescribeTopicPartitionsRequestCursor{Topic: resp.NextCursor.Topic, Partition: resp.NextCursor.Partition}
	}
	if got := strings.Join(pages, " | "); got != "a-0,a-1 | a-2,b-0 | b-1" {
		t.Errorf("pages %q", got)
	}
}

// The tool's usage and failures exit as the other tools do.
func TestClusterStatusExits(t *testing.T) {
	closed := "--bootstrap-server=127.0.0.1:" + strconv.Itoa(freePort(t))
	wantExit(t, 2, "unexpected argument", "cluster", "status", "extra")
	wantExit(t, 2, "unknown subcommand", "cluster", "bogus")
	wantExit(t, 2, "--output must be table or json", "cluster", "status", "--output", "xml")
	wantExit(t, 1, "cannot reach the cluster", "cluster", "status", closed, "--request-timeout=2s")
	if code, out, _ := runAdminTool(t, "cluster", "status", "--help"); code != 0 || !strings.Contains(out, "--human-readable") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
}
