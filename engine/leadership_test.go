package engine

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/weirmq/weir/netio"
)

// ledElsewhere is a broker on real sockets whose image has a second
// broker, 2, that is no process. Topic "led" has partition 0 on this node
// alone (here) and 1 on broker 2 alone (away); topic "rep" has its
// partition on broker 2 then this node (rep), so 2 leads away and rep
// (epoch 0) and this node is a replica of rep.
type ledElsewhere struct {
	b     *Broker
	cl    *rawClient          // on PLAINTEXT
	addr  string              // PLAINTEXT
	ids   map[string][16]byte // topic ids
	epoch int64               // broker 2's
}

// tp is a topic partition.
type tp struct {
	topic string
	part  int32
}

var (
	here = tp{"led", 0}
	away = tp{"led", 1}
	rep  = tp{"rep", 0}
)

// startLedElsewhere starts it with broker 2 registered at addr2 on
// PLAINTEXT (a host:port; "" for this node's own address). Broker
// sessions are long, so 2 stays unfenced until fence2 expires it.
func startLedElsewhere(t *testing.T, io, addr2 string) *ledElsewhere {
	t.Helper()
	b := newTestBroker(t, "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
		"controller.listener.names=CONTROLLER", "broker.session.timeout.ms=60000")
	b.opts.IO, b.opts.Shards = io, 2
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	c := &ledElsewhere{b: b, addr: listenerAddr(t, b, "PLAINTEXT"), ids: map[string][16]byte{}}
	c.cl = dialRaw(t, c.addr)
	ctl := dialRaw(t, listenerAddr(t, b, "CONTROLLER"))
	if addr2 == "" {
		addr2 = c.addr
	}
	host, port, _ := net.SplitHostPort(addr2)
	reg := registration(b, 2, 1)
	reg.Listeners[0].Host = host
	p, _ := strconv.Atoi(port)
	reg.Listeners[0].Port = uint16(p)
	rr := send(t, ctl, reg).(*kmsg.BrokerRegistrationResponse)
	if rr.ErrorCode != 0 {
		t.Fatalf("register 2: %v", kerr.ErrorForCode(rr.ErrorCode))
	}
	c.epoch = rr.BrokerEpoch
	if hb := send(t, ctl, heartbeat(2, c.epoch, c.epoch)).(*kmsg.BrokerHeartbeatResponse); hb.ErrorCode != 0 || hb.IsFenced {
		t.Fatalf("heartbeat of 2: %+v", hb)
	}
	topic := func(name string, replicas ...[]int32) kmsg.CreateTopicsRequestTopic {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, -1, -1
		for i, r := range replicas {
			a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			a.Partition, a.Replicas = int32(i), r
			rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
		}
		return rt
	}
	req := createReq(7, false, topic("led", []int32{1}, []int32{2}), topic("rep", []int32{2, 1}))
	for _, cr := range send(t, c.cl, req).(*kmsg.CreateTopicsResponse).Topics {
		if cr.ErrorCode != 0 {
			t.Fatalf("create %s: %v %s", cr.Topic, kerr.ErrorForCode(cr.ErrorCode), msgOf(cr.ErrorMessage))
		}
		c.ids[cr.Topic] = cr.TopicID
	}
	c.wantLeader(t, here, 1, 0)
	c.wantLeader(t, away, 2, 0)
	c.wantLeader(t, rep, 2, 0)
	return c
}

func listenerAddr(t *testing.T, b *Broker, name string) string {
	t.Helper()
	for i, l := range b.Listeners() {
		if l.Name == name {
			return b.Servers()[i].Addr().String()
		}
	}
	t.Fatalf("no listener %s", name)
	return ""
}

func (c *ledElsewhere) wantLeader(t *testing.T, at tp, leader, epoch int32) {
	t.Helper()
	tp, _ := c.b.image.Load().Topic(at.topic)
	if p := tp.Partitions[at.part]; p.Leader != leader || p.LeaderEpoch != epoch {
		t.Fatalf("%s-%d: %+v, want leader %d epoch %d", at.topic, at.part, p, leader, epoch)
	}
}

// fence2 expires broker 2's session: away is left without a leader, rep
// moves to this node; both at epoch 1.
func (c *ledElsewhere) fence2(t *testing.T) {
	t.Helper()
	c.b.lifeTickOnce(time.Now().Add(2 * time.Minute))
	c.wantLeader(t, here, 1, 0)
	c.wantLeader(t, away, -1, 1)
	c.wantLeader(t, rep, 1, 1)
}

// logEnd is a partition's log end on this node, -1 when it hosts none.
func (c *ledElsewhere) logEnd(at tp) int64 {
	if p := c.b.lookupPartition(at.topic, at.part); p != nil {
		return p.log.LogEndOffset()
	}
	return -1
}

func (c *ledElsewhere) produce(v int16, acks int16, parts ...tp) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = v, acks, 5000
	for _, at := range parts {
		if n := len(req.Topics); n == 0 || req.Topics[n-1].Topic != at.topic {
			rt := kmsg.NewProduceRequestTopic()
			rt.Topic, rt.TopicID = at.topic, c.ids[at.topic]
			req.Topics = append(req.Topics, rt)
		}
		rt := &req.Topics[len(req.Topics)-1]
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = at.part, makeBatch(-1, -1, -1, "v"+strconv.Itoa(int(v)))
		rt.Partitions = append(rt.Partitions, rp)
	}
	return req
}

func (c *ledElsewhere) produced(t *testing.T, resp *kmsg.ProduceResponse, at tp) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	for _, rt := range resp.Topics {
		if rt.Topic != at.topic && rt.TopicID != c.ids[at.topic] {
			continue
		}
		for _, rp := range rt.Partitions {
			if rp.Partition == at.part {
				return rp
			}
		}
	}
	t.Fatalf("%v missing from %+v", at, resp.Topics)
	return kmsg.ProduceResponseTopicPartition{}
}

// fetch reads the partitions from offset 0, each with its current leader
// epoch.
func (c *ledElsewhere) fetch(v int16, epochs map[tp]int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.MinBytes, req.MaxBytes, req.SessionEpoch = v, 1, 1<<20, -1
	for _, at := range []tp{here, away, rep} {
		e, ok := epochs[at]
		if !ok {
			continue
		}
		if n := len(req.Topics); n == 0 || req.Topics[n-1].Topic != at.topic {
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic, rt.TopicID = at.topic, c.ids[at.topic]
			req.Topics = append(req.Topics, rt)
		}
		rt := &req.Topics[len(req.Topics)-1]
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = at.part, 1<<20, e
		rt.Partitions = append(rt.Partitions, rp)
	}
	return req
}

func (c *ledElsewhere) fetched(t *testing.T, resp *kmsg.FetchResponse, at tp) kmsg.FetchResponseTopicPartition {
	t.Helper()
	for _, rt := range resp.Topics {
		if rt.Topic != at.topic && rt.TopicID != c.ids[at.topic] {
			continue
		}
		for _, rp := range rt.Partitions {
			if rp.Partition == at.part {
				return rp
			}
		}
	}
	t.Fatalf("%v missing from %+v", at, resp.Topics)
	return kmsg.FetchResponseTopicPartition{}
}

// Produce at v3, v9, v10, v11 and v13 (by topic id): the partition this
// node leads takes its batch; those broker 2 leads answer
// NOT_LEADER_OR_FOLLOWER, with the current leader and its endpoint from
// v10, and nothing is appended to them. Once 2 is fenced, the leaderless
// partition names leader -1 and no endpoint, and the one that moved here
// takes batches.
func TestProduceNotLeader(t *testing.T) {
	for _, backend := range backendsForTest(t) {
		t.Run(backend, func(t *testing.T) {
			c := startLedElsewhere(t, backend, "10.0.0.9:9092")
			for i, v := range []int16{3, 9, 10, 11, 13} {
				resp := send(t, c.cl, c.produce(v, -1, here, away, rep)).(*kmsg.ProduceResponse)
				if r := c.produced(t, resp, here); r.ErrorCode != 0 || r.BaseOffset != int64(i) {
					t.Fatalf("v%d led here: %v at %d", v, kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
				}
				want := currentLeader{-1, -1}
				if v >= 10 {
					want = currentLeader{2, 0}
				}
				for _, at := range []tp{away, rep} {
					r := c.produced(t, resp, at)
					if r.ErrorCode != kerr.NotLeaderForPartition.Code || r.BaseOffset != -1 ||
						(currentLeader{r.CurrentLeader.LeaderID, r.CurrentLeader.LeaderEpoch} != want) {
						t.Errorf("v%d %v: %v at %d, current leader %+v", v, at, kerr.ErrorForCode(r.ErrorCode),
							r.BaseOffset, r.CurrentLeader)
					}
				}
				switch {
				case v < 10 && len(resp.Brokers) != 0:
					t.Errorf("v%d has node endpoints: %+v", v, resp.Brokers)
				case v >= 10 && (len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 2 ||
					resp.Brokers[0].Host != "10.0.0.9" || resp.Brokers[0].Port != 9092):
					t.Errorf("v%d node endpoints: %+v", v, resp.Brokers)
				}
			}
			if e1, e2 := c.logEnd(away), c.logEnd(rep); e1 > 0 || e2 > 0 {
				t.Fatalf("appended to partitions led elsewhere: log ends %d, %d", e1, e2)
			}
			// acks=0: no answer, and the error closes the connection.
			other := dialRaw(t, c.addr)
			if _, err := other.request(c.produce(9, 0, away)); err == nil {
				t.Errorf("acks=0 to a partition led elsewhere answered")
			}

			c.fence2(t)
			resp := send(t, c.cl, c.produce(10, 1, away, rep)).(*kmsg.ProduceResponse)
			if r := c.produced(t, resp, away); r.ErrorCode != kerr.NotLeaderForPartition.Code ||
				r.CurrentLeader.LeaderID != -1 || r.CurrentLeader.LeaderEpoch != 1 {
				t.Errorf("leaderless: %v, current leader %+v", kerr.ErrorForCode(r.ErrorCode), r.CurrentLeader)
			}
			if len(resp.Brokers) != 0 {
				t.Errorf("node endpoints for no leader: %+v", resp.Brokers)
			}
			if c.logEnd(rep) >= 0 {
				if r := c.produced(t, resp, rep); r.ErrorCode != 0 || r.BaseOffset != 0 {
					t.Errorf("led here after fencing: %v at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
				}
			}
		})
	}
}

// Fetch from a consumer at v4, v11, v12, v13, v16 and v18 (and from a
// replica at v11 and v15): records of the partition this node leads,
// NOT_LEADER_OR_FOLLOWER and no records for those it does not, the
// current leader from v12 and its endpoint from v16. The request's
// current leader epoch is checked against the image's on replicas only.
func TestFetchNotLeader(t *testing.T) {
	for _, backend := range backendsForTest(t) {
		t.Run(backend, func(t *testing.T) {
			c := startLedElsewhere(t, backend, "10.0.0.9:9092")
			send(t, c.cl, c.produce(9, 1, here))
			all := map[tp]int32{here: -1, away: -1, rep: -1}
			for _, v := range []int16{4, 11, 12, 13, 16, 18} {
				resp := send(t, c.cl, c.fetch(v, all)).(*kmsg.FetchResponse)
				if r := c.fetched(t, resp, here); r.ErrorCode != 0 || r.HighWatermark != 1 || !bytes.Contains(r.RecordBatches, []byte("v9")) {
					t.Fatalf("v%d led here: %v hw %d, %d bytes", v, kerr.ErrorForCode(r.ErrorCode), r.HighWatermark, len(r.RecordBatches))
				}
				want := currentLeader{-1, -1}
				if v >= 12 {
					want = currentLeader{2, 0}
				}
				for _, at := range []tp{away, rep} {
					r := c.fetched(t, resp, at)
					if r.ErrorCode != kerr.NotLeaderForPartition.Code || len(r.RecordBatches) != 0 ||
						(currentLeader{r.CurrentLeader.LeaderID, r.CurrentLeader.LeaderEpoch} != want) {
						t.Errorf("v%d %v: %v, %d bytes, current leader %+v", v, at, kerr.ErrorForCode(r.ErrorCode),
							len(r.RecordBatches), r.CurrentLeader)
					}
				}
				switch {
				case v < 16 && len(resp.Brokers) != 0:
					t.Errorf("v%d has node endpoints: %+v", v, resp.Brokers)
				case v >= 16 && (len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 2 ||
					resp.Brokers[0].Host != "10.0.0.9" || resp.Brokers[0].Port != 9092):
					t.Errorf("v%d node endpoints: %+v", v, resp.Brokers)
				}
			}

			// A replica's fetch gets no records from a node that does not
			// lead the partition either.
			for _, v := range []int16{11, 15} {
				req := c.fetch(v, map[tp]int32{away: -1, rep: -1})
				req.ReplicaID, req.ReplicaState.ID, req.ReplicaState.Epoch = 2, 2, c.epoch
				if v >= 15 {
					req.ReplicaID = -1
				}
				resp := send(t, c.cl, req).(*kmsg.FetchResponse)
				for _, at := range []tp{away, rep} {
					if r := c.fetched(t, resp, at); r.ErrorCode != kerr.NotLeaderForPartition.Code || len(r.RecordBatches) != 0 {
						t.Errorf("replica fetch v%d of %v: %v, %d bytes", v, at, kerr.ErrorForCode(r.ErrorCode), len(r.RecordBatches))
					}
				}
			}

			// A newer epoch than the image's: unknown to a replica (here
			// and rep); a broker that is no replica (of away) is just not
			// the leader.
			resp := send(t, c.cl, c.fetch(12, map[tp]int32{here: 3, away: 3, rep: 3})).(*kmsg.FetchResponse)
			for at, code := range map[tp]int16{here: kerr.UnknownLeaderEpoch.Code, away: kerr.NotLeaderForPartition.Code,
				rep: kerr.UnknownLeaderEpoch.Code} {
				if r := c.fetched(t, resp, at); r.ErrorCode != code {
					t.Errorf("epoch 3 on %v: %v, want %v", at, kerr.ErrorForCode(r.ErrorCode), kerr.ErrorForCode(code))
				}
			}
			if r := c.fetched(t, resp, rep); r.CurrentLeader.LeaderID != -1 {
				t.Errorf("UNKNOWN_LEADER_EPOCH names a leader: %+v", r.CurrentLeader)
			}

			// 2 fenced: away has no leader (epoch 1), rep is this node's
			// (epoch 1), and an older epoch is fenced, with this node named
			// as the leader.
			c.fence2(t)
			resp = send(t, c.cl, c.fetch(16, map[tp]int32{away: 0, rep: 0})).(*kmsg.FetchResponse)
			if r := c.fetched(t, resp, away); r.ErrorCode != kerr.NotLeaderForPartition.Code ||
				r.CurrentLeader.LeaderID != -1 || r.CurrentLeader.LeaderEpoch != 1 {
				t.Errorf("leaderless: %v, current leader %+v", kerr.ErrorForCode(r.ErrorCode), r.CurrentLeader)
			}
			if r := c.fetched(t, resp, rep); r.ErrorCode != kerr.FencedLeaderEpoch.Code ||
				r.CurrentLeader.LeaderID != 1 || r.CurrentLeader.LeaderEpoch != 1 {
				t.Errorf("older epoch: %v, current leader %+v", kerr.ErrorForCode(r.ErrorCode), r.CurrentLeader)
			}
			host, port, _ := net.SplitHostPort(c.addr)
			if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 1 || resp.Brokers[0].Host != host ||
				strconv.Itoa(int(resp.Brokers[0].Port)) != port {
				t.Errorf("node endpoints after fencing: %+v, want 1 at %s", resp.Brokers, c.addr)
			}
			if c.logEnd(rep) >= 0 {
				resp = send(t, c.cl, c.fetch(16, map[tp]int32{rep: 1})).(*kmsg.FetchResponse)
				if r := c.fetched(t, resp, rep); r.ErrorCode != 0 || len(resp.Brokers) != 0 {
					t.Errorf("led here after fencing: %v, node endpoints %+v", kerr.ErrorForCode(r.ErrorCode), resp.Brokers)
				}
			}
		})
	}
}

// ListOffsets, OffsetForLeaderEpoch and DeleteRecords, at every version:
// NOT_LEADER_OR_FOLLOWER for the partitions broker 2 leads, answers for
// the one this node leads, and nothing deleted elsewhere.
func TestOffsetsAPIsNotLeader(t *testing.T) {
	c := startLedElsewhere(t, netio.IOStd, "10.0.0.9:9092")
	for i := 0; i < 3; i++ {
		send(t, c.cl, c.produce(9, 1, here))
	}
	parts := []tp{here, away, rep}
	notLeader := map[tp]int16{here: 0, away: kerr.NotLeaderForPartition.Code, rep: kerr.NotLeaderForPartition.Code}

	for v := int16(1); v <= 11; v++ {
		for _, epoch := range []int32{-1, 3} {
			if epoch >= 0 && v < 4 {
				continue
			}
			req := kmsg.NewPtrListOffsetsRequest()
			req.Version = v
			for _, at := range parts {
				if n := len(req.Topics); n == 0 || req.Topics[n-1].Topic != at.topic {
					rt := kmsg.NewListOffsetsRequestTopic()
					rt.Topic = at.topic
					req.Topics = append(req.Topics, rt)
				}
				rp := kmsg.NewListOffsetsRequestTopicPartition()
				rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = at.part, -1, epoch
				req.Topics[len(req.Topics)-1].Partitions = append(req.Topics[len(req.Topics)-1].Partitions, rp)
			}
			want := notLeader
			if epoch >= 0 {
				want = map[tp]int16{here: kerr.UnknownLeaderEpoch.Code, away: kerr.NotLeaderForPartition.Code,
					rep: kerr.UnknownLeaderEpoch.Code}
			}
			for _, rt := range send(t, c.cl, req).(*kmsg.ListOffsetsResponse).Topics {
				for _, r := range rt.Partitions {
					at := tp{rt.Topic, r.Partition}
					if r.ErrorCode != want[at] || (want[at] == 0 && r.Offset != 3) || (want[at] != 0 && r.Offset != -1) {
						t.Errorf("ListOffsets v%d epoch %d %v: %v offset %d", v, epoch, at, kerr.ErrorForCode(r.ErrorCode), r.Offset)
					}
				}
			}
		}
	}

	for v := int16(0); v <= 4; v++ {
		for _, replica := range []int32{-1, 2} {
			if replica >= 0 && v < 3 {
				continue
			}
			req := kmsg.NewPtrOffsetForLeaderEpochRequest()
			req.Version, req.ReplicaID = v, replica
			for _, at := range parts {
				if n := len(req.Topics); n == 0 || req.Topics[n-1].Topic != at.topic {
					rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
					rt.Topic = at.topic
					req.Topics = append(req.Topics, rt)
				}
				rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
				rp.Partition, rp.LeaderEpoch, rp.CurrentLeaderEpoch = at.part, 0, -1
				req.Topics[len(req.Topics)-1].Partitions = append(req.Topics[len(req.Topics)-1].Partitions, rp)
			}
			for _, rt := range send(t, c.cl, req).(*kmsg.OffsetForLeaderEpochResponse).Topics {
				for _, r := range rt.Partitions {
					at := tp{rt.Topic, r.Partition}
					if r.ErrorCode != notLeader[at] || (at == here && r.EndOffset != 3) || (at != here && r.EndOffset != -1) {
						t.Errorf("OffsetForLeaderEpoch v%d (replica %d) %v: %v end %d", v, replica, at,
							kerr.ErrorForCode(r.ErrorCode), r.EndOffset)
					}
				}
			}
		}
	}

	for v := int16(0); v <= 2; v++ {
		req := kmsg.NewPtrDeleteRecordsRequest()
		req.Version = v
		for _, at := range parts {
			if n := len(req.Topics); n == 0 || req.Topics[n-1].Topic != at.topic {
				rt := kmsg.NewDeleteRecordsRequestTopic()
				rt.Topic = at.topic
				req.Topics = append(req.Topics, rt)
			}
			rp := kmsg.NewDeleteRecordsRequestTopicPartition()
			rp.Partition, rp.Offset = at.part, int64(v)
			req.Topics[len(req.Topics)-1].Partitions = append(req.Topics[len(req.Topics)-1].Partitions, rp)
		}
		for _, rt := range send(t, c.cl, req).(*kmsg.DeleteRecordsResponse).Topics {
			for _, r := range rt.Partitions {
				at := tp{rt.Topic, r.Partition}
				if r.ErrorCode != notLeader[at] || (at == here && r.LowWatermark != int64(v)) ||
					(at != here && r.LowWatermark != -1) {
					t.Errorf("DeleteRecords v%d %v: %v low %d", v, at, kerr.ErrorForCode(r.ErrorCode), r.LowWatermark)
				}
			}
		}
	}
	for _, at := range []tp{away, rep} {
		if p := c.b.lookupPartition(at.topic, at.part); p != nil && p.log.LogStartOffset() != 0 {
			t.Errorf("%v: log start %d, deleted where 2 leads", at, p.log.LogStartOffset())
		}
	}
}

// Metadata names broker 2 as the leader of the partitions it leads,
// whether or not this node keeps a log for them; a partition this node
// leads without a log is LEADER_NOT_AVAILABLE in Metadata and unknown on
// the data path, as before.
func TestMetadataLeaderElsewhere(t *testing.T) {
	c := startLedElsewhere(t, netio.IOStd, "10.0.0.9:9092")
	tab := c.b.parts.Load().clone()
	delete(tab.byName, partitionKey{away.topic, away.part})
	c.b.parts.Store(tab)
	md := send(t, c.cl, metadataRequest(12, "led")).(*kmsg.MetadataResponse)
	for _, p := range md.Topics[0].Partitions {
		if want := []int32{1, 2}[p.Partition]; p.ErrorCode != 0 || p.Leader != want {
			t.Errorf("led-%d: %v leader %d, want %d", p.Partition, kerr.ErrorForCode(p.ErrorCode), p.Leader, want)
		}
	}
	tab = tab.clone()
	delete(tab.byName, partitionKey{here.topic, here.part})
	c.b.parts.Store(tab)
	md = send(t, c.cl, metadataRequest(12, "led")).(*kmsg.MetadataResponse)
	if p := md.Topics[0].Partitions[0]; p.ErrorCode != kerr.LeaderNotAvailable.Code || p.Leader != -1 {
		t.Errorf("led-0 without a log: %v leader %d", kerr.ErrorForCode(p.ErrorCode), p.Leader)
	}
	resp := send(t, c.cl, c.produce(10, 1, here, away)).(*kmsg.ProduceResponse)
	if r := c.produced(t, resp, here); r.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("produce to led-0 without a log: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	if r := c.produced(t, resp, away); r.ErrorCode != kerr.NotLeaderForPartition.Code || r.CurrentLeader.LeaderID != 2 {
		t.Errorf("produce to led-1, hosted nowhere here: %v, current leader %+v", kerr.ErrorForCode(r.ErrorCode), r.CurrentLeader)
	}
}

// A franz-go producer writes to a topic with one partition this node
// leads and one broker 2 leads: the first partition's records land, the
// second's fail. With 2 advertised at this node's own address, the
// client's produce for it reaches a node that does not lead it, as with
// stale metadata: they fail with NOT_LEADER_OR_FOLLOWER. (The client
// stays at ApiVersions v4 there: from v5 it names the node it means, and
// this node answers REBOOTSTRAP_REQUIRED before any produce, KIP-1242.)
// With 2 unreachable, the client never reaches a node for them and they
// fail on its side.
func TestKgoProduceLeaderElsewhere(t *testing.T) {
	versions := kversion.Stable()
	versions.SetMaxKeyVersion(18, 4)
	unreachable := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}()
	for _, tc := range []struct {
		name, addr2 string
		notLeader   bool
	}{{"at-this-address", "", true}, {"unreachable", unreachable, false}} {
		t.Run(tc.name, func(t *testing.T) {
			c := startLedElsewhere(t, netio.IOStd, tc.addr2)
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.addr), kgo.DefaultProduceTopic("led"),
				kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RecordDeliveryTimeout(3*time.Second),
				kgo.RecordRetries(3), kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
				kgo.MetadataMinAge(50*time.Millisecond), kgo.MaxVersions(versions))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var recs []*kgo.Record
			for i := 0; i < 6; i++ {
				recs = append(recs, &kgo.Record{Partition: int32(i % 2), Value: []byte("r" + strconv.Itoa(i))})
			}
			start := time.Now()
			results := cl.ProduceSync(ctx, recs...)
			for _, r := range results {
				switch r.Record.Partition {
				case 0:
					if r.Err != nil {
						t.Errorf("record to led-0: %v", r.Err)
					}
				case 1:
					switch {
					case r.Err == nil:
						t.Errorf("record to led-1 landed at %d", r.Record.Offset)
					case tc.notLeader && !errors.Is(r.Err, kerr.NotLeaderForPartition):
						t.Errorf("record to led-1: %v, want NOT_LEADER_OR_FOLLOWER", r.Err)
					}
				}
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("produce took %v", took)
			}
			if end := c.logEnd(here); end != 3 {
				t.Errorf("led-0 log end %d, want 3", end)
			}
			if end := c.logEnd(away); end > 0 {
				t.Errorf("led-1 log end %d: appended where 2 leads", end)
			}
			for _, r := range results {
				if r.Record.Partition == 1 {
					t.Logf("led-1 error after %v: %v", time.Since(start), r.Err)
					break
				}
			}
		})
	}
}
