package metadata

import (
	"reflect"
	"testing"

	"github.com/weirmq/weir/logstore/metalog"
)

func TestImage(t *testing.T) {
	im := New("c", 1, 2, []Broker{{NodeID: 2}, {NodeID: 1}}, []Topic{{Name: "b", ID: [16]byte{2}}, {Name: "a", ID: [16]byte{1}}})
	if im.NodeID != 1 || im.ControllerID != 2 || im.ClusterID != "c" {
		t.Errorf("identity %+v", im)
	}
	if b := im.Brokers(); len(b) != 2 || b[0].NodeID != 1 || b[1].NodeID != 2 {
		t.Errorf("brokers %+v", b)
	}
	if ts := im.Topics(); len(ts) != 2 || ts[0].Name != "a" {
		t.Errorf("topics %+v", ts)
	}
	if tp, ok := im.TopicByID([16]byte{2}); !ok || tp.Name != "b" {
		t.Errorf("by id: %+v %v", tp, ok)
	}
	if _, ok := im.Topic("zz"); ok {
		t.Errorf("found unknown topic")
	}
}

func TestImageDuplicatesPanic(t *testing.T) {
	for name, f := range map[string]func(){
		"broker": func() { New("c", 1, 1, []Broker{{NodeID: 1}, {NodeID: 1}}, nil) },
		"topic":  func() { New("c", 1, 1, nil, []Topic{{Name: "a"}, {Name: "a"}}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func sp(s string) *string { return &s }

// createRecords are what the controller writes for a new topic.
func createRecords(name string, id byte, parts int, configs ...string) []Record {
	recs := []Record{TopicRecord{Name: name, ID: [16]byte{id}}}
	for i := 0; i+1 < len(configs); i += 2 {
		recs = append(recs, ConfigRecord{ResourceType: ResourceTopic, ResourceName: name,
			Name: configs[i], Value: sp(configs[i+1])})
	}
	for p := 0; p < parts; p++ {
		recs = append(recs, PartitionRecord{TopicID: [16]byte{id}, Partition: int32(p),
			Replicas: []int32{1}, ISR: []int32{1}, Leader: 1})
	}
	return recs
}

func TestApply(t *testing.T) {
	base := New("c", 1, 1, nil, nil)
	im, err := base.Apply(createRecords("orders", 1, 3, "retention.ms", "100")...)
	if err != nil {
		t.Fatal(err)
	}
	if len(base.Topics()) != 0 {
		t.Fatalf("Apply changed its receiver")
	}
	tp, ok := im.Topic("orders")
	if !ok || len(tp.Partitions) != 3 || tp.Configs["retention.ms"] != "100" || tp.Internal {
		t.Fatalf("topic %+v", tp)
	}
	im2, err := im.Apply(
		PartitionRecord{TopicID: [16]byte{1}, Partition: 3, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1},
		ConfigRecord{ResourceType: ResourceTopic, ResourceName: "orders", Name: "retention.ms"},
		ConfigRecord{ResourceType: ResourceBroker, ResourceName: "", Name: "log.retention.ms", Value: sp("5")},
	)
	if err != nil {
		t.Fatal(err)
	}
	if tp, _ := im.Topic("orders"); len(tp.Partitions) != 3 || tp.Configs["retention.ms"] != "100" {
		t.Errorf("older image changed: %+v", tp)
	}
	if tp, _ := im2.Topic("orders"); len(tp.Partitions) != 4 || len(tp.Configs) != 0 {
		t.Errorf("new image: %+v", tp)
	}
	if got := im2.BrokerConfigs(""); got["log.retention.ms"] != "5" || im.BrokerConfigs("") != nil {
		t.Errorf("broker configs %v / %v", got, im.BrokerConfigs(""))
	}
	im3, err := im2.Apply(RemoveTopicRecord{ID: [16]byte{1}})
	if err != nil || len(im3.Topics()) != 0 {
		t.Fatalf("remove: %v %+v", err, im3.Topics())
	}
	if _, ok := im3.TopicByID([16]byte{1}); ok {
		t.Errorf("removed topic found by id")
	}
	im4, err := im3.Apply(createRecords("__consumer_offsets", 9, 1)...)
	if tp, _ := im4.Topic("__consumer_offsets"); err != nil || !tp.Internal {
		t.Errorf("internal: %+v %v", tp, err)
	}
}

func TestApplyRejectsMisfits(t *testing.T) {
	im, _ := New("c", 1, 1, nil, nil).Apply(createRecords("a", 1, 1)...)
	bad := map[string][]Record{
		"topic twice":       createRecords("a", 2, 1),
		"id twice":          createRecords("b", 1, 1),
		"zero id":           {TopicRecord{Name: "z"}},
		"partition gap":     {PartitionRecord{TopicID: [16]byte{1}, Partition: 5, Replicas: []int32{1}}},
		"unknown topic id":  {PartitionRecord{TopicID: [16]byte{7}, Partition: 0, Replicas: []int32{1}}},
		"no replicas":       {PartitionRecord{TopicID: [16]byte{1}, Partition: 1}},
		"config of unknown": {ConfigRecord{ResourceType: ResourceTopic, ResourceName: "x", Name: "k", Value: sp("v")}},
		"bad resource":      {ConfigRecord{ResourceType: 8, Name: "k"}},
		"remove unknown":    {RemoveTopicRecord{ID: [16]byte{3}}},
	}
	for name, recs := range bad {
		if _, err := im.Apply(recs...); err == nil {
			t.Errorf("%s: applied", name)
		}
	}
}

// Records rebuild the same image.
func TestRecordsRoundTrip(t *testing.T) {
	im, err := New("c", 1, 1, nil, nil).Apply(append(createRecords("a", 1, 2, "x", "1", "y", "2"),
		append(createRecords("b", 2, 1),
			ConfigRecord{ResourceType: ResourceBroker, ResourceName: "1", Name: "k", Value: sp("v")})...)...)
	if err != nil {
		t.Fatal(err)
	}
	again, err := New("c", 1, 1, nil, nil).Apply(im.Records()...)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Records(), im.Records()) || !reflect.DeepEqual(again.Topics(), im.Topics()) {
		t.Errorf("rebuilt image differs:\n%+v\n%+v", again.Records(), im.Records())
	}
}

// PartitionChangeRecord merges as Kafka's PartitionRegistration.merge: a
// leader given bumps the leader epoch, every change the partition epoch,
// and nil fields stay.
func TestApplyPartitionChange(t *testing.T) {
	im, _ := New("c", 1, 1, nil, nil).Apply(createRecords("a", 1, 2)...)
	id := [16]byte{1}
	im2, err := im.Apply(
		PartitionChangeRecord{TopicID: id, Partition: 1, ISR: []int32{1, 2}, Replicas: []int32{1, 2},
			Leader: metalog.LeaderUnchanged, LeaderRecoveryState: metalog.RecoveryStateUnchanged},
		PartitionChangeRecord{TopicID: id, Partition: 1, Leader: 2, LeaderRecoveryState: metalog.RecoveryStateUnchanged})
	if err != nil {
		t.Fatal(err)
	}
	tp, _ := im2.Topic("a")
	want := Partition{Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 2, LeaderEpoch: 1, PartitionEpoch: 2}
	if !reflect.DeepEqual(tp.Partitions[1], want) || !reflect.DeepEqual(tp.Partitions[0].ISR, []int32{1}) {
		t.Errorf("partitions %+v", tp.Partitions)
	}
	if old, _ := im.Topic("a"); old.Partitions[1].Leader != 1 {
		t.Errorf("older image changed: %+v", old.Partitions[1])
	}
	for name, r := range map[string]PartitionChangeRecord{
		"unknown partition": {TopicID: id, Partition: 2, Leader: metalog.LeaderUnchanged},
		"unknown topic":     {TopicID: [16]byte{9}, Leader: metalog.LeaderUnchanged},
		"no replicas":       {TopicID: id, Replicas: []int32{}, Leader: metalog.LeaderUnchanged},
	} {
		if _, err := im.Apply(r); err == nil {
			t.Errorf("%s: applied", name)
		}
	}
}

// An image's records start with metadata.version and end with the
// producer id reservation, and rebuild the same image.
func TestRecordsFeaturesAndProducerIDs(t *testing.T) {
	im, err := New("c", 1, 1, nil, nil).Apply(append([]Record{
		FeatureLevelRecord{Name: "z.feature", FeatureLevel: 2},
		FeatureLevelRecord{Name: metalog.MetadataVersionFeature, FeatureLevel: metalog.MetadataVersion},
		ProducerIdsRecord{BrokerID: 1, BrokerEpoch: -1, NextProducerID: 1000},
		NoOpRecord{},
	}, createRecords("a", 1, 1)...)...)
	if err != nil {
		t.Fatal(err)
	}
	recs := im.Records()
	if recs[0] != (FeatureLevelRecord{Name: metalog.MetadataVersionFeature, FeatureLevel: metalog.MetadataVersion}) ||
		recs[1] != (FeatureLevelRecord{Name: "z.feature", FeatureLevel: 2}) ||
		recs[len(recs)-1] != (ProducerIdsRecord{BrokerID: 1, BrokerEpoch: -1, NextProducerID: 1000}) {
		t.Errorf("records %+v", recs)
	}
	again, err := New("c", 1, 1, nil, nil).Apply(recs...)
	if err != nil || again.NextProducerID() != 1000 || again.FeatureLevel("z.feature") != 2 ||
		!reflect.DeepEqual(again.Records(), recs) {
		t.Errorf("rebuilt: %v %+v", err, again.Records())
	}
	if _, err := im.Apply(ProducerIdsRecord{NextProducerID: 999}); err == nil {
		t.Errorf("producer ids went back")
	}
	if gone, _ := im.Apply(FeatureLevelRecord{Name: "z.feature"}); gone.FeatureLevel("z.feature") != 0 {
		t.Errorf("level 0 did not remove the feature")
	}
}
