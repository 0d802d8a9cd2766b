package controller

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore/metalog"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const timeout = 9 * time.Second

// regRec registers broker id at epoch id*10 (incarnation {id}), fenced.
func regRec(id int32) metadata.RegisterBrokerRecord {
	return metadata.RegisterBrokerRecord{BrokerID: id, BrokerEpoch: int64(id) * 10, IncarnationID: [16]byte{byte(id)},
		EndPoints: []metadata.BrokerEndpoint{{Name: "PLAINTEXT", Host: "h", Port: 9092}}, Fenced: true,
		Features: []metadata.BrokerFeature{{Name: metalog.MetadataVersionFeature, MinSupportedVersion: 7, MaxSupportedVersion: 7}}}
}

func unfenceRec(id int32) metadata.BrokerRegistrationChangeRecord {
	return metadata.BrokerRegistrationChangeRecord{BrokerID: id, BrokerEpoch: int64(id) * 10, Fenced: metalog.UnfenceChange}
}

func fenceRec(id int32) metadata.BrokerRegistrationChangeRecord {
	return metadata.BrokerRegistrationChangeRecord{BrokerID: id, BrokerEpoch: int64(id) * 10, Fenced: metalog.FenceChange}
}

// brokersImage is a cluster at metadata.version 7 with brokers 1..n
// registered and unfenced, then recs applied.
func brokersImage(t *testing.T, n int32, recs ...metadata.Record) *metadata.Image {
	t.Helper()
	base := []metadata.Record{metadata.FeatureLevelRecord{Name: metalog.MetadataVersionFeature, FeatureLevel: 7}}
	for id := int32(1); id <= n; id++ {
		base = append(base, regRec(id), unfenceRec(id))
	}
	im, err := metadata.New("cluster", 1, 1, nil, nil).Apply(append(base, recs...)...)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// partition is a PartitionRecord of topic {id}.
func partition(id byte, index int32, leader int32, replicas, isr []int32) metadata.PartitionRecord {
	return metadata.PartitionRecord{TopicID: [16]byte{id}, Partition: index, Replicas: replicas, ISR: isr, Leader: leader}
}

// change is a PartitionChangeRecord of topic {id}: leader -2 unchanged, isr
// nil unchanged, recovery -1 unchanged.
func change(id byte, index, leader int32, isr []int32, recovery int8) metadata.PartitionChangeRecord {
	return metadata.PartitionChangeRecord{TopicID: [16]byte{id}, Partition: index, Leader: leader, ISR: isr,
		LeaderRecoveryState: recovery}
}

const none = metalog.RecoveryStateUnchanged

// topicT is topic "t" (id 1) with the partitions of the fencing tests:
//
//	p0 replicas 1,2,3 ISR 1,2,3 leader 1
//	p1 replicas 2,1   ISR 2,1   leader 2
//	p2 replicas 1     ISR 1     leader 1
//	p3 replicas 1,3   ISR 1     leader 1
//	p4 replicas 3,2   ISR 3,2   leader 3
func topicT(configs ...string) []metadata.Record {
	recs := []metadata.Record{metadata.TopicRecord{Name: "t", ID: [16]byte{1}}}
	for i := 0; i+1 < len(configs); i += 2 {
		recs = append(recs, metadata.ConfigRecord{ResourceType: metadata.ResourceTopic, ResourceName: "t",
			Name: configs[i], Value: str(configs[i+1])})
	}
	return append(recs,
		partition(1, 0, 1, []int32{1, 2, 3}, []int32{1, 2, 3}),
		partition(1, 1, 2, []int32{2, 1}, []int32{2, 1}),
		partition(1, 2, 1, []int32{1}, []int32{1}),
		partition(1, 3, 1, []int32{1, 3}, []int32{1}),
		partition(1, 4, 3, []int32{3, 2}, []int32{3, 2}))
}

// Fencing a broker takes it out of every ISR and moves its leadership as
// Kafka's PartitionChangeBuilder does; unfencing gives leaderless
// partitions back.
func TestLeaderChanges(t *testing.T) {
	tests := []struct {
		name          string
		recs          []metadata.Record
		remove, add   int32
		brokerUnclean bool
		want          []metadata.Record
	}{
		{name: "fence 1", recs: topicT(), remove: 1, add: -1, want: []metadata.Record{
			change(1, 0, 2, []int32{2, 3}, none), // the next replica in the ISR leads
			change(1, 1, 2, []int32{2}, none),    // the ISR shrinks: the leader's epoch is bumped
			change(1, 2, -1, nil, none),          // no one left: no leader, the ISR kept
			change(1, 3, -1, nil, none),          // 3 is not in sync: no unclean election
		}},
		{name: "fence 1, unclean topic", recs: topicT("unclean.leader.election.enable", "true"), remove: 1, add: -1,
			want: []metadata.Record{
				change(1, 0, 2, []int32{2, 3}, none),
				change(1, 1, 2, []int32{2}, none),
				change(1, 2, -1, nil, none),
				change(1, 3, 3, []int32{3}, metalog.RecoveringLeader), // 3 leads, alone, recovering
			}},
		{name: "fence 1, unclean broker default", recs: topicT(), remove: 1, add: -1, brokerUnclean: true,
			want: []metadata.Record{
				change(1, 0, 2, []int32{2, 3}, none),
				change(1, 1, 2, []int32{2}, none),
				change(1, 2, -1, nil, none),
				change(1, 3, 3, []int32{3}, metalog.RecoveringLeader),
			}},
		{name: "fence 1, topic overrides unclean", recs: topicT("unclean.leader.election.enable", "false"),
			remove: 1, add: -1, brokerUnclean: true, want: []metadata.Record{
				change(1, 0, 2, []int32{2, 3}, none),
				change(1, 1, 2, []int32{2}, none),
				change(1, 2, -1, nil, none),
				change(1, 3, -1, nil, none),
			}},
		{name: "fence 3, a follower", recs: topicT(), remove: 3, add: -1, want: []metadata.Record{
			change(1, 0, 1, []int32{1, 2}, none),
			change(1, 4, 2, []int32{2}, none),
		}},
		{name: "fenced leader's replacement must be active",
			recs: append(topicT(), fenceRec(2)), remove: 1, add: -1, want: []metadata.Record{
				change(1, 0, 3, []int32{2, 3}, none),
				change(1, 1, -1, []int32{2}, none), // 2 may not lead while fenced
				change(1, 2, -1, nil, none),
				change(1, 3, -1, nil, none),
			}},
		{name: "unfence 1 after its fencing", remove: -1, add: 1,
			recs: append(append(topicT(), fenceRec(1)), change(1, 2, -1, nil, none), change(1, 3, -1, nil, none)),
			want: []metadata.Record{change(1, 2, 1, nil, none), change(1, 3, 1, nil, none)}},
	}
	for _, tt := range tests {
		im := brokersImage(t, 3, tt.recs...)
		cfg := brokerConfig(t, "unclean.leader.election.enable", map[bool]string{true: "true", false: "false"}[tt.brokerUnclean])
		parts := inISR(tt.remove)
		if tt.remove < 0 {
			parts = func(p *metadata.Partition) bool { return p.Leader == noBroker }
		}
		got := leaderChanges(im, cfg, tt.remove, tt.add, parts)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
			continue
		}
		if _, err := im.Apply(got...); err != nil {
			t.Errorf("%s: records do not apply: %v", tt.name, err)
		}
	}
}

// A leader that changes bumps the leader epoch; so does one named again
// for an ISR shrink.
func TestLeaderChangesBumpEpochs(t *testing.T) {
	im := brokersImage(t, 3, topicT()...)
	after, err := im.Apply(leaderChanges(im, brokerConfig(t), 1, -1, inISR(1))...)
	if err != nil {
		t.Fatal(err)
	}
	tp, _ := after.Topic("t")
	want := []struct{ leader, epoch int32 }{{2, 1}, {2, 1}, {-1, 1}, {-1, 1}, {3, 0}}
	for i, w := range want {
		if p := tp.Partitions[i]; p.Leader != w.leader || p.LeaderEpoch != w.epoch {
			t.Errorf("p%d: leader %d epoch %d, want %d %d", i, p.Leader, p.LeaderEpoch, w.leader, w.epoch)
		}
	}
}

func TestPlanRegistration(t *testing.T) {
	mv := func(lo, hi int16) []metadata.BrokerFeature {
		return []metadata.BrokerFeature{{Name: metalog.MetadataVersionFeature, MinSupportedVersion: lo, MaxSupportedVersion: hi}}
	}
	req := func(id int32, inc byte, features []metadata.BrokerFeature) Registration {
		return Registration{BrokerID: id, ClusterID: "cluster", IncarnationID: [16]byte{inc}, Rack: str("r"),
			Listeners: []metadata.BrokerEndpoint{{Name: "PLAINTEXT", Host: "b", Port: 1}}, Features: features}
	}
	tests := []struct {
		name    string
		recs    []metadata.Record // over brokers 1 and 2, unfenced
		session time.Time         // broker 2's last heartbeat
		req     Registration
		refusal string
		epoch   int64
		fenced  bool
	}{
		{name: "new broker", req: req(4, 4, mv(7, 21)), epoch: 100, fenced: true},
		{name: "no metadata.version named: 3.3-IV3 assumed", req: req(4, 4, nil), epoch: 100, fenced: true},
		{name: "other cluster", req: Registration{BrokerID: 4, ClusterID: "other"},
			refusal: "INCONSISTENT_CLUSTER_ID: Expected cluster ID cluster, but got cluster ID other"},
		{name: "id taken by a live broker", session: t0, req: req(2, 9, mv(7, 7)),
			refusal: "DUPLICATE_BROKER_REGISTRATION: Another broker is registered with that broker id."},
		{name: "id of an expired session", session: t0.Add(-timeout - time.Millisecond), req: req(2, 9, mv(7, 7)),
			epoch: 100, fenced: true},
		{name: "id of a fenced broker", recs: []metadata.Record{fenceRec(2)}, session: t0, req: req(2, 9, mv(7, 7)),
			epoch: 100, fenced: true},
		{name: "same incarnation amends", session: t0, req: req(2, 2, mv(7, 7)), epoch: 20, fenced: false},
		{name: "zookeeper broker", req: Registration{BrokerID: 4, ClusterID: "cluster", IsMigratingZkBroker: true},
			refusal: "BROKER_ID_NOT_REGISTERED: Controller does not support registering ZK brokers."},
		{name: "metadata.version too new", req: req(4, 4, mv(8, 21)),
			refusal: "UNSUPPORTED_VERSION: Unable to register because the broker does not support finalized " +
				"version 7 of metadata.version. The broker wants a version between 8 and 21, inclusive."},
		{name: "unknown feature at level 1", req: req(4, 4, append(mv(7, 7),
			metadata.BrokerFeature{Name: "group.version", MinSupportedVersion: 1, MaxSupportedVersion: 1})),
			refusal: "UNSUPPORTED_VERSION: Unable to register because the broker does not support finalized " +
				"version 0 of group.version. The broker wants a version between 1 and 1, inclusive."},
		{name: "finalized feature not named", req: req(4, 4, mv(7, 7)),
			recs: []metadata.Record{metadata.FeatureLevelRecord{Name: "transaction.version", FeatureLevel: 2}},
			refusal: "UNSUPPORTED_VERSION: Unable to register because the broker does not support finalized " +
				"version 2 of transaction.version. The broker wants a version between 0 and 0, inclusive."},
	}
	for _, tt := range tests {
		im := brokersImage(t, 2, tt.recs...)
		s := NewSessions(timeout)
		s.Load(im, tt.session)
		plan, r := PlanRegistration(im, s, tt.req, 100, t0)
		if got := refused(r); got != tt.refusal {
			t.Errorf("%s: refusal %q, want %q", tt.name, got, tt.refusal)
			continue
		}
		if r != nil {
			continue
		}
		rec := plan.Records[0].(metadata.RegisterBrokerRecord)
		if plan.Epoch != tt.epoch || rec.BrokerEpoch != tt.epoch || rec.Fenced != tt.fenced || len(plan.Records) != 1 ||
			rec.BrokerID != tt.req.BrokerID || rec.IncarnationID != tt.req.IncarnationID || *rec.Rack != "r" ||
			!reflect.DeepEqual(rec.EndPoints, tt.req.Listeners) {
			t.Errorf("%s: plan %+v record %+v", tt.name, plan, rec)
		}
		if f := rec.Features[len(rec.Features)-1]; f.Name != metalog.MetadataVersionFeature || f.MinSupportedVersion != 7 {
			t.Errorf("%s: features %+v", tt.name, rec.Features)
		}
		if plan.Session.LastContact != t0 || plan.Session.RegisteredOffset != 100 {
			t.Errorf("%s: session %+v", tt.name, plan.Session)
		}
		after, err := im.Apply(plan.Records...)
		if b, _ := after.Broker(tt.req.BrokerID); err != nil || b.Epoch != tt.epoch || b.Fenced != tt.fenced {
			t.Errorf("%s: applied %+v, %v", tt.name, b, err)
		}
	}
}

func TestPlanHeartbeat(t *testing.T) {
	type reply = HeartbeatReply
	fenced2 := []metadata.Record{fenceRec(2)}
	tests := []struct {
		name     string
		recs     []metadata.Record // over brokers 1..3 unfenced and topic t
		shutdown int64             // broker 1's controlled-shutdown offset in its session, or -1
		offsets  [3]int64          // the brokers' metadata offsets in their sessions
		hb       Heartbeat
		refusal  string
		want     []metadata.Record // nil: none
		reply    reply
		sdOffset int64 // the session's shutdown offset after
	}{
		{name: "unknown broker", hb: Heartbeat{BrokerID: 9}, refusal: "STALE_BROKER_EPOCH: Receive a heartbeat from broker 9 before registration"},
		{name: "stale epoch", hb: Heartbeat{BrokerID: 2, BrokerEpoch: 5}, refusal: "STALE_BROKER_EPOCH: Expected broker epoch 20, but got broker epoch 5"},
		{name: "unfenced stays", hb: Heartbeat{BrokerID: 2, BrokerEpoch: 20, CurrentMetadataOffset: 50},
			reply: reply{IsCaughtUp: true}, sdOffset: -1},
		{name: "fenced and behind stays", recs: fenced2, hb: Heartbeat{BrokerID: 2, BrokerEpoch: 20, CurrentMetadataOffset: 19},
			reply: reply{IsFenced: true}, sdOffset: -1},
		{name: "fenced and caught up is unfenced", recs: fenced2,
			hb:    Heartbeat{BrokerID: 2, BrokerEpoch: 20, CurrentMetadataOffset: 20},
			want:  []metadata.Record{unfenceRec(2)},
			reply: reply{IsCaughtUp: true}, sdOffset: -1},
		{name: "fenced but wants fence", recs: fenced2,
			hb:    Heartbeat{BrokerID: 2, BrokerEpoch: 20, CurrentMetadataOffset: 20, WantFence: true},
			reply: reply{IsCaughtUp: true, IsFenced: true}, sdOffset: -1},
		{name: "unfencing gives back leaderless partitions", recs: []metadata.Record{fenceRec(1),
			change(1, 2, -1, nil, none), change(1, 3, -1, nil, none)},
			hb:    Heartbeat{BrokerID: 1, BrokerEpoch: 10, CurrentMetadataOffset: 10},
			want:  []metadata.Record{unfenceRec(1), change(1, 2, 1, nil, none), change(1, 3, 1, nil, none)},
			reply: reply{IsCaughtUp: true}, sdOffset: -1},
		{name: "fenced asks to shut down", recs: fenced2,
			hb: Heartbeat{BrokerID: 2, BrokerEpoch: 20, CurrentMetadataOffset: 20, WantShutDown: true},
			// Kafka fences again: 2 leaves the ISRs (this image fenced it
			// without that) and the fencing is written once more.
			want: []metadata.Record{change(1, 0, 1, []int32{1, 3}, none), change(1, 1, 1, []int32{1}, none),
				change(1, 4, 3, []int32{3}, none), fenceRec(2)},
			reply: reply{IsCaughtUp: true, IsFenced: true, ShouldShutDown: true}, sdOffset: -1},
		{name: "unfenced asks to be fenced", hb: Heartbeat{BrokerID: 3, BrokerEpoch: 30, CurrentMetadataOffset: 30, WantFence: true},
			want:  []metadata.Record{change(1, 0, 1, []int32{1, 2}, none), change(1, 4, 2, []int32{2}, none), fenceRec(3)},
			reply: reply{IsCaughtUp: true, IsFenced: true}, sdOffset: -1},
		{name: "a leader asks to shut down: controlled shutdown",
			hb: Heartbeat{BrokerID: 1, BrokerEpoch: 10, CurrentMetadataOffset: 60, WantShutDown: true},
			want: []metadata.Record{
				metadata.BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 10, InControlledShutdown: 1},
				change(1, 0, 2, []int32{2, 3}, none), change(1, 1, 2, []int32{2}, none),
				change(1, 2, -1, nil, none), change(1, 3, -1, nil, none)},
			reply: reply{IsCaughtUp: true, InControlledShutdown: true}, sdOffset: 100 + 5 - 1},
		{name: "a broker leading nothing shuts down now", recs: []metadata.Record{change(1, 4, 2, nil, none)},
			hb:    Heartbeat{BrokerID: 3, BrokerEpoch: 30, CurrentMetadataOffset: 60, WantShutDown: true},
			want:  []metadata.Record{change(1, 0, 1, []int32{1, 2}, none), change(1, 4, 2, []int32{2}, none), fenceRec(3)},
			reply: reply{IsCaughtUp: true, IsFenced: true, ShouldShutDown: true}, sdOffset: -1},
		{name: "in controlled shutdown, still leading", shutdown: 70,
			hb:    Heartbeat{BrokerID: 1, BrokerEpoch: 10, CurrentMetadataOffset: 70, WantShutDown: true},
			reply: reply{IsCaughtUp: true, InControlledShutdown: true}, sdOffset: 70},
		{name: "in controlled shutdown, others behind", shutdown: 70, offsets: [3]int64{70, 69, 80},
			recs:  []metadata.Record{change(1, 2, -1, nil, none), change(1, 3, -1, nil, none), change(1, 0, 2, nil, none)},
			hb:    Heartbeat{BrokerID: 1, BrokerEpoch: 10, CurrentMetadataOffset: 70, WantShutDown: true},
			reply: reply{IsCaughtUp: true, InControlledShutdown: true}, sdOffset: 70},
		{name: "in controlled shutdown, others caught up", shutdown: 70, offsets: [3]int64{70, 70, 80},
			recs:  []metadata.Record{change(1, 2, -1, nil, none), change(1, 3, -1, nil, none), change(1, 0, 2, nil, none)},
			hb:    Heartbeat{BrokerID: 1, BrokerEpoch: 10, CurrentMetadataOffset: 70, WantShutDown: true},
			want:  []metadata.Record{change(1, 0, 2, []int32{2, 3}, none), change(1, 1, 2, []int32{2}, none), fenceRec(1)},
			reply: reply{IsCaughtUp: true, IsFenced: true, ShouldShutDown: true}, sdOffset: -1},
	}
	for _, tt := range tests {
		im := brokersImage(t, 3, append(topicT(), tt.recs...)...)
		s := NewSessions(timeout)
		s.Load(im, t0)
		for i, off := range tt.offsets {
			v, _ := s.Get(int32(i + 1))
			v.MetadataOffset = off
			s.Set(int32(i+1), v)
		}
		if tt.shutdown > 0 {
			v, _ := s.Get(1)
			v.ShutdownOffset = tt.shutdown
			s.Set(1, v)
		}
		now := t0.Add(time.Second)
		plan, r := PlanHeartbeat(im, brokerConfig(t), s, tt.hb, 100, now)
		if got := refused(r); got != tt.refusal {
			t.Errorf("%s: refusal %q, want %q", tt.name, got, tt.refusal)
			continue
		}
		if r != nil {
			continue
		}
		if !reflect.DeepEqual(plan.Records, tt.want) || plan.Reply != tt.reply {
			t.Errorf("%s:\n got %+v %+v\nwant %+v %+v", tt.name, plan.Records, plan.Reply, tt.want, tt.reply)
		}
		if v := plan.Session; v.LastContact != now || v.MetadataOffset != tt.hb.CurrentMetadataOffset ||
			v.ShutdownOffset != tt.sdOffset {
			t.Errorf("%s: session %+v, want shutdown offset %d", tt.name, v, tt.sdOffset)
		}
		if _, err := im.Apply(plan.Records...); err != nil {
			t.Errorf("%s: records do not apply: %v", tt.name, err)
		}
	}
}

// A broker unheard of for longer than the session timeout is fenced, the
// least recently heard first, one at a time.
func TestPlanSessionExpiry(t *testing.T) {
	im := brokersImage(t, 3, topicT()...)
	s := NewSessions(timeout)
	s.Load(im, t0)
	for id, last := range map[int32]time.Time{1: t0.Add(3 * time.Second), 2: t0.Add(time.Second), 3: t0.Add(2 * time.Second)} {
		v, _ := s.Get(id)
		v.LastContact = last
		s.Set(id, v)
	}
	if e := PlanSessionExpiry(im, brokerConfig(t), s, t0.Add(time.Second+timeout)); e != nil {
		t.Fatalf("fenced at exactly the timeout: %+v", e)
	}
	e := PlanSessionExpiry(im, brokerConfig(t), s, t0.Add(time.Second+timeout+time.Millisecond))
	if e == nil || e.BrokerID != 2 || !reflect.DeepEqual(e.Records, []metadata.Record{
		change(1, 0, 1, []int32{1, 3}, none), change(1, 1, 1, []int32{1}, none), change(1, 4, 3, []int32{3}, none),
		fenceRec(2)}) {
		t.Fatalf("expiry %+v", e)
	}
	im, err := im.Apply(e.Records...)
	if err != nil {
		t.Fatal(err)
	}
	s.Set(2, e.Session)
	// Broker 2 is fenced now; the next one goes only when its own session ends.
	if e := PlanSessionExpiry(im, brokerConfig(t), s, t0.Add(2*time.Second+timeout)); e != nil {
		t.Fatalf("second expiry too early: %+v", e)
	}
	if e := PlanSessionExpiry(im, brokerConfig(t), s, t0.Add(2*time.Second+timeout+1)); e == nil || e.BrokerID != 3 {
		t.Fatalf("second expiry: %+v", e)
	}
}

// New partitions are placed over unfenced brokers first, and their ISR is
// the active replicas.
func TestPlacementAvoidsFencedBrokers(t *testing.T) {
	im := brokersImage(t, 3, fenceRec(2))
	plan, r := PlanTopic(im, brokerConfig(t), nil, TopicRequest{Name: "a", Partitions: 2, Replication: 3}, [16]byte{9})
	if r != nil {
		t.Fatal(refused(r))
	}
	if !reflect.DeepEqual(plan.Replicas, [][]int32{{1, 3, 2}, {3, 1, 2}}) || !reflect.DeepEqual(plan.ISR, [][]int32{{1, 3}, {3, 1}}) {
		t.Errorf("replicas %v isr %v", plan.Replicas, plan.ISR)
	}
	all := brokersImage(t, 2, fenceRec(1), fenceRec(2))
	_, r = PlanTopic(all, brokerConfig(t), nil, TopicRequest{Name: "a", Partitions: 1, Replication: 1}, [16]byte{9})
	if got := refused(r); !strings.Contains(got, "All brokers are currently fenced.") {
		t.Errorf("all fenced: %q", got)
	}
	_, r = PlanTopic(im, brokerConfig(t), nil, TopicRequest{Name: "a", Partitions: -1, Replication: -1,
		Assignments: map[int32][]int32{0: {2}}, Order: []int32{0}}, [16]byte{9})
	if got := refused(r); got != "INVALID_REPLICA_ASSIGNMENT: All brokers specified in the manual partition "+
		"assignment for partition 0 are fenced or in controlled shutdown." {
		t.Errorf("manual on a fenced broker: %q", got)
	}
}
