package engine

import (
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore/metalog"
	"github.com/weirmq/weir/netio"
)

// clusterArgs give a test broker a controller listener and a short broker
// session.
var clusterArgs = []string{"listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
	"controller.listener.names=CONTROLLER", "broker.session.timeout.ms=300"}

func registration(b *Broker, id int32, inc byte) *kmsg.BrokerRegistrationRequest {
	req := kmsg.NewPtrBrokerRegistrationRequest()
	req.BrokerID, req.ClusterID, req.IncarnationID = id, b.ClusterID(), [16]byte{inc}
	l := kmsg.NewBrokerRegistrationRequestListener()
	l.Name, l.Host, l.Port = "PLAINTEXT", "10.0.0.2", 9092
	req.Listeners = append(req.Listeners, l)
	f := kmsg.NewBrokerRegistrationRequestFeature()
	f.Name, f.MinSupportedVersion, f.MaxSupportedVersion = "metadata.version", 7, 21
	req.Features = append(req.Features, f)
	return req
}

func heartbeat(id int32, epoch, offset int64) *kmsg.BrokerHeartbeatRequest {
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.BrokerID, req.BrokerEpoch, req.CurrentMetadataOffset = id, epoch, offset
	return req
}

// brokerIDs lists the brokers a Metadata and a DescribeCluster (v2, with
// the fenced ones and their state) answer.
func brokerIDs(t *testing.T, b *Broker) (metadataIDs []int32, described map[int32]bool) {
	t.Helper()
	for _, br := range roundTrip(t, b, metadataRequest(12)).(*kmsg.MetadataResponse).Brokers {
		metadataIDs = append(metadataIDs, br.NodeID)
	}
	req := kmsg.NewPtrDescribeClusterRequest()
	req.Version, req.IncludeFencedBrokers = 2, true
	described = map[int32]bool{}
	for _, br := range roundTrip(t, b, req).(*kmsg.DescribeClusterResponse).Brokers {
		described[br.NodeID] = br.IsFenced
	}
	return metadataIDs, described
}

// A second broker registers on the controller listener with a raw
// request: it is fenced (in no Metadata response) until its heartbeat
// finds it caught up, then listed, then fenced again when its session
// expires.
func TestBrokerRegistrationAndFencing(t *testing.T) {
	b := newTestBroker(t, clusterArgs...)
	if _, err := tryRoundTrip(b, "PLAINTEXT", registration(b, 2, 1)); err == nil ||
		!strings.Contains(err.Error(), "not served on listener PLAINTEXT") {
		t.Fatalf("registration on a broker listener: %v", err)
	}
	resp, err := tryRoundTrip(b, "CONTROLLER", registration(b, 2, 1))
	if err != nil {
		t.Fatal(err)
	}
	reg := resp.(*kmsg.BrokerRegistrationResponse)
	if reg.ErrorCode != 0 || reg.BrokerEpoch <= 0 {
		t.Fatalf("registration: %+v", reg)
	}
	epoch := reg.BrokerEpoch
	if ids, desc := brokerIDs(t, b); !slices.Equal(ids, []int32{1}) || !reflect.DeepEqual(desc, map[int32]bool{1: false, 2: true}) {
		t.Fatalf("registered: metadata %v, described %v", ids, desc)
	}
	req := kmsg.NewPtrDescribeClusterRequest() // without the fenced ones
	req.Version = 2
	if d := roundTrip(t, b, req).(*kmsg.DescribeClusterResponse); len(d.Brokers) != 1 {
		t.Errorf("describe without fenced: %+v", d.Brokers)
	}

	// Behind its registration: still fenced. Caught up: unfenced.
	hb := controllerTrip(t, b, heartbeat(2, epoch, epoch-1)).(*kmsg.BrokerHeartbeatResponse)
	if hb.ErrorCode != 0 || hb.IsCaughtUp || !hb.IsFenced {
		t.Fatalf("heartbeat behind: %+v", hb)
	}
	hb = controllerTrip(t, b, heartbeat(2, epoch, epoch)).(*kmsg.BrokerHeartbeatResponse)
	if hb.ErrorCode != 0 || !hb.IsCaughtUp || hb.IsFenced || hb.ShouldShutdown {
		t.Fatalf("heartbeat caught up: %+v", hb)
	}
	ids, desc := brokerIDs(t, b)
	if !slices.Equal(ids, []int32{1, 2}) || !reflect.DeepEqual(desc, map[int32]bool{1: false, 2: false}) {
		t.Fatalf("unfenced: metadata %v, described %v", ids, desc)
	}
	mb := roundTrip(t, b, metadataRequest(12)).(*kmsg.MetadataResponse).Brokers[1]
	if mb.Host != "10.0.0.2" || mb.Port != 9092 {
		t.Errorf("broker 2 in metadata: %+v", mb)
	}

	// Wrong epochs, unknown brokers, a second incarnation while it lives.
	if hb := controllerTrip(t, b, heartbeat(2, epoch+1, epoch)).(*kmsg.BrokerHeartbeatResponse); hb.ErrorCode != kerr.StaleBrokerEpoch.Code {
		t.Errorf("stale epoch: %+v", hb)
	}
	if hb := controllerTrip(t, b, heartbeat(7, 1, 1)).(*kmsg.BrokerHeartbeatResponse); hb.ErrorCode != kerr.StaleBrokerEpoch.Code {
		t.Errorf("unknown broker: %+v", hb)
	}
	if r := controllerTrip(t, b, registration(b, 2, 9)).(*kmsg.BrokerRegistrationResponse); r.ErrorCode != kerr.DuplicateBrokerRegistration.Code {
		t.Errorf("second incarnation: %+v", r)
	}
	other := registration(b, 3, 3)
	other.ClusterID = "AAAAAAAAAAAAAAAAAAAAAA"
	if r := controllerTrip(t, b, other).(*kmsg.BrokerRegistrationResponse); r.ErrorCode != kerr.InconsistentClusterID.Code {
		t.Errorf("other cluster: %+v", r)
	}

	// Its session expires; this node's own is kept alive in-process.
	b.lifeTickOnce(time.Now().Add(time.Second))
	ids, desc = brokerIDs(t, b)
	if !slices.Equal(ids, []int32{1}) || !reflect.DeepEqual(desc, map[int32]bool{1: false, 2: true}) {
		t.Fatalf("expired: metadata %v, described %v", ids, desc)
	}
	// And it registers again, as a new incarnation: a new epoch.
	r := controllerTrip(t, b, registration(b, 2, 9)).(*kmsg.BrokerRegistrationResponse)
	if r.ErrorCode != 0 || r.BrokerEpoch <= epoch {
		t.Errorf("new incarnation: %+v (old epoch %d)", r, epoch)
	}
}

func controllerTrip(t *testing.T, b *Broker, req kmsg.Request) kmsg.Response {
	t.Helper()
	resp, err := tryRoundTrip(b, "CONTROLLER", req)
	if err != nil {
		t.Fatalf("%s: %v", kmsg.NameForKey(req.Key()), err)
	}
	return resp
}

// A registered broker's leadership moves when it is fenced, and comes
// back to leaderless partitions when it is unfenced.
func TestFencingMovesLeadership(t *testing.T) {
	b := newTestBroker(t, clusterArgs...)
	reg := controllerTrip(t, b, registration(b, 2, 1)).(*kmsg.BrokerRegistrationResponse)
	controllerTrip(t, b, heartbeat(2, reg.BrokerEpoch, reg.BrokerEpoch))
	// By hand: 2 leads t-0 (replicas 2, 1) and, alone, u-0.
	req := createReq(7, false, kmsg.CreateTopicsRequestTopic{Topic: "t", NumPartitions: -1, ReplicationFactor: -1,
		ReplicaAssignment: []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{2, 1}}}},
		kmsg.CreateTopicsRequestTopic{Topic: "u", NumPartitions: -1, ReplicationFactor: -1,
			ReplicaAssignment: []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{2}}}})
	for _, rt := range roundTrip(t, b, req).(*kmsg.CreateTopicsResponse).Topics {
		if rt.ErrorCode != 0 {
			t.Fatalf("create: %+v %s", rt, msgOf(rt.ErrorMessage))
		}
	}
	part := func(i int) metadata.Partition {
		tp, _ := b.image.Load().Topic([]string{"t", "u"}[i])
		return tp.Partitions[0]
	}
	if p := part(0); p.Leader != 2 || !slices.Equal(p.ISR, []int32{2, 1}) {
		t.Fatalf("t-0 created as %+v", p)
	}
	b.lifeTickOnce(time.Now().Add(time.Second)) // 2's session expires
	if p := part(0); p.Leader != 1 || p.LeaderEpoch != 1 || !slices.Equal(p.ISR, []int32{1}) {
		t.Errorf("p0 after fencing: %+v", p)
	}
	if p := part(1); p.Leader != -1 || p.LeaderEpoch != 1 || !slices.Equal(p.ISR, []int32{2}) {
		t.Errorf("p1 after fencing: %+v", p)
	}
	md := roundTrip(t, b, metadataRequest(12, "t", "u")).(*kmsg.MetadataResponse).Topics
	if p := md[0].Partitions[0]; p.Leader != 1 || p.ErrorCode != 0 || !slices.Equal(p.OfflineReplicas, []int32{2}) {
		t.Errorf("metadata of t-0 after fencing: %+v", p)
	}
	if p := md[1].Partitions[0]; p.Leader != -1 || p.ErrorCode != kerr.LeaderNotAvailable.Code {
		t.Errorf("metadata of u-0 after fencing: %+v", p)
	}
	// Heartbeating again, caught up: unfenced, and u-0 is 2's again.
	hb := controllerTrip(t, b, heartbeat(2, reg.BrokerEpoch, b.ctl.proposer.NextOffset()-1)).(*kmsg.BrokerHeartbeatResponse)
	if hb.IsFenced {
		t.Fatalf("heartbeat: %+v", hb)
	}
	if p := part(1); p.Leader != 2 || p.LeaderEpoch != 2 {
		t.Errorf("p1 after unfencing: %+v", p)
	}
	if p := part(0); p.Leader != 1 {
		t.Errorf("p0 after unfencing: %+v", p)
	}
}

// This node registers itself through the metadata log: a
// RegisterBrokerRecord of its broker listeners (not the controller's),
// then its unfencing; a restart is a new incarnation with a new epoch.
func TestSelfRegistration(t *testing.T) {
	dir := t.TempDir()
	b := openBrokerAt(t, dir, append(clusterArgs, "broker.rack=r1")...)
	self, ok := b.image.Load().Broker(1)
	if !ok || self.Fenced || self.Epoch < 0 || *self.Rack != "r1" ||
		!reflect.DeepEqual(self.Endpoints, map[string]metadata.Endpoint{"PLAINTEXT": {Host: "127.0.0.1", Port: 9092}}) {
		t.Fatalf("self: %+v", self)
	}
	first := *self
	b.Close()
	l, recs, err := metalog.Open(dir+"/"+metalog.DirName, metalog.Options{NodeID: 1, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	var regs, unfences int
	for _, r := range recs {
		switch r := r.(type) {
		case metalog.RegisterBrokerRecord:
			regs++
			if r.BrokerEpoch != first.Epoch || !r.Fenced || r.IncarnationID != first.IncarnationID {
				t.Errorf("registration %+v", r)
			}
		case metalog.BrokerRegistrationChangeRecord:
			unfences++
		}
	}
	if regs != 1 || unfences != 1 {
		t.Errorf("%d registrations, %d unfencings in %+v", regs, unfences, recs)
	}
	b = openBrokerAt(t, dir, clusterArgs...)
	defer b.Close()
	again, _ := b.image.Load().Broker(1)
	if again.Fenced || again.Epoch <= first.Epoch || again.IncarnationID == first.IncarnationID || again.Rack != nil {
		t.Errorf("after restart: %+v (first %+v)", again, first)
	}
}

// Start amends the registration with the ports bound for port 0 (same
// incarnation, same epoch), and DescribeCluster on the controller
// listener lists this node as the controller at its bound port.
func TestStartAmendsRegistration(t *testing.T) {
	port := 40100
	listen := func(rt netio.Runtime, cfg netio.ListenConfig, h netio.Handler) (netio.Server, error) {
		port++
		return &fakeServer{addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}, rt: rt}, nil
	}
	b, err := openWith(t, listen, "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
		"controller.listener.names=CONTROLLER")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	before, _ := b.image.Load().Broker(1)
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	after, _ := b.image.Load().Broker(1)
	if after.Epoch != before.Epoch || after.IncarnationID != before.IncarnationID || after.Fenced ||
		after.Endpoints["PLAINTEXT"].Port != 40101 || before.Endpoints["PLAINTEXT"].Port != 0 {
		t.Errorf("before %+v after %+v", before, after)
	}
	req := kmsg.NewPtrDescribeClusterRequest()
	req.Version, req.EndpointType = 2, 2
	d := controllerTrip(t, b, req).(*kmsg.DescribeClusterResponse)
	if d.ErrorCode != 0 || len(d.Brokers) != 1 || d.Brokers[0].NodeID != 1 || d.Brokers[0].Port != 40102 ||
		d.ControllerID != 1 {
		t.Errorf("controllers: %+v", d)
	}
}

// ApiVersions lists BrokerRegistration and BrokerHeartbeat on controller
// listeners only.
func TestApiVersionsByListener(t *testing.T) {
	b := newTestBroker(t, clusterArgs...)
	keys := func(listener string) map[int16]bool {
		resp, err := tryRoundTrip(b, listener, kmsg.NewPtrApiVersionsRequest())
		if err != nil {
			t.Fatal(err)
		}
		out := map[int16]bool{}
		for _, k := range resp.(*kmsg.ApiVersionsResponse).ApiKeys {
			out[k.ApiKey] = true
		}
		return out
	}
	onBroker, onController := keys("PLAINTEXT"), keys("CONTROLLER")
	if onBroker[62] || onBroker[63] || !onController[62] || !onController[63] || !onBroker[3] || !onController[3] {
		t.Errorf("broker listener %v, controller listener %v", onBroker, onController)
	}
}

// A one-voter quorum of this node runs as a single node.
func TestOneVoterQuorumIsASingleNode(t *testing.T) {
	ctl := []string{"listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0", "controller.listener.names=CONTROLLER"}
	b, err := openWith(t, nil, append(ctl, "controller.quorum.voters=1@127.0.0.1:9193")...)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
}

// A metadata log written before brokers were registered in it (topics,
// no broker records) opens as it is: this node registers, the topics stay.
func TestOldMetadataLogOpens(t *testing.T) {
	dir := t.TempDir()
	l, _, err := metalog.Open(dir+"/"+metalog.DirName, metalog.Options{NodeID: 1, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	id := [16]byte{7}
	if _, err := l.Append([]metalog.Record{metalog.TopicRecord{Name: "old", ID: id},
		metalog.PartitionRecord{TopicID: id, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	b := openBrokerAt(t, dir)
	defer b.Close()
	md := roundTrip(t, b, metadataRequest(12, "old")).(*kmsg.MetadataResponse)
	if len(md.Brokers) != 1 || md.Brokers[0].NodeID != 1 || md.Topics[0].ErrorCode != 0 ||
		md.Topics[0].Partitions[0].Leader != 1 || md.Topics[0].Partitions[0].LeaderEpoch != 0 {
		t.Fatalf("metadata %+v", md)
	}
}
