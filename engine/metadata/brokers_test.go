package metadata

import (
	"reflect"
	"strings"
	"testing"

	"github.com/weirmq/weir/logstore/metalog"
)

func register(id int32, epoch int64, inc byte) RegisterBrokerRecord {
	return RegisterBrokerRecord{BrokerID: id, BrokerEpoch: epoch, IncarnationID: metalog.UUID{inc},
		Fenced: true, Rack: sp("r"), EndPoints: []BrokerEndpoint{{Name: "PLAINTEXT", Host: "h", Port: 9092}},
		Features: []BrokerFeature{{Name: metalog.MetadataVersionFeature, MinSupportedVersion: 7, MaxSupportedVersion: 7}}}
}

// The broker records register, fence, unfence, mark controlled shutdown
// and unregister brokers; each change names the epoch it applies to.
func TestBrokerRecords(t *testing.T) {
	type state struct {
		epoch                int64
		fenced, shuttingDown bool
	}
	tests := []struct {
		name string
		recs []Record
		want map[int32]state // nil: no such broker
		err  string
	}{
		{"registered fenced", []Record{register(2, 10, 1)}, map[int32]state{2: {10, true, false}}, ""},
		{"unfenced", []Record{register(2, 10, 1), BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: 10,
			Fenced: metalog.UnfenceChange}}, map[int32]state{2: {10, false, false}}, ""},
		{"fenced again", []Record{register(2, 10, 1),
			BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: 10, Fenced: metalog.UnfenceChange},
			BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: 10, Fenced: metalog.FenceChange}},
			map[int32]state{2: {10, true, false}}, ""},
		{"old unfence and fence records", []Record{register(2, 10, 1), UnfenceBrokerRecord{ID: 2, Epoch: 10},
			FenceBrokerRecord{ID: 2, Epoch: 10}, UnfenceBrokerRecord{ID: 2, Epoch: 10}},
			map[int32]state{2: {10, false, false}}, ""},
		{"controlled shutdown", []Record{register(2, 10, 1),
			BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: 10, Fenced: metalog.UnfenceChange},
			BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: 10, InControlledShutdown: 1}},
			map[int32]state{2: {10, false, true}}, ""},
		{"new incarnation replaces", []Record{register(2, 10, 1), register(3, 11, 1), register(2, 20, 2)},
			map[int32]state{2: {20, true, false}, 3: {11, true, false}}, ""},
		{"unregistered", []Record{register(2, 10, 1), UnregisterBrokerRecord{BrokerID: 2, BrokerEpoch: 10}},
			map[int32]state{}, ""},
		{"stale epoch", []Record{register(2, 10, 1), BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: 9,
			Fenced: metalog.UnfenceChange}}, nil, "registered with epoch 10, not 9"},
		{"unknown broker", []Record{FenceBrokerRecord{ID: 4, Epoch: 1}}, nil, "broker 4 is not registered"},
		{"unregister stale", []Record{register(2, 10, 1), UnregisterBrokerRecord{BrokerID: 2, BrokerEpoch: 1}},
			nil, "not 1"},
		{"bad fencing value", []Record{register(2, 10, 1), BrokerRegistrationChangeRecord{BrokerID: 2,
			BrokerEpoch: 10, Fenced: 5}}, nil, "not changes"},
	}
	for _, tt := range tests {
		base := New("c", 1, 1, nil, nil)
		im, err := base.Apply(tt.recs...)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := map[int32]state{}
		for _, b := range im.Brokers() {
			got[b.NodeID] = state{b.Epoch, b.Fenced, b.InControlledShutdown}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: brokers %+v, want %+v", tt.name, got, tt.want)
		}
		if len(base.Brokers()) != 0 {
			t.Errorf("%s: the base image changed", tt.name)
		}
	}
}

// A registration keeps what the record says, and the image's records
// rebuild it (a snapshot), state included.
func TestBrokerRegistrationImage(t *testing.T) {
	reg := register(2, 10, 7)
	reg.EndPoints = append(reg.EndPoints, BrokerEndpoint{Name: "CONTROLLER", Host: "c", Port: 9093})
	im, err := New("c", 1, 1, nil, nil).Apply(reg,
		BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: 10, Fenced: metalog.UnfenceChange})
	if err != nil {
		t.Fatal(err)
	}
	b, ok := im.Broker(2)
	want := Broker{NodeID: 2, Rack: sp("r"), Epoch: 10, IncarnationID: [16]byte{7},
		Endpoints: map[string]Endpoint{"PLAINTEXT": {Host: "h", Port: 9092}, "CONTROLLER": {Host: "c", Port: 9093}},
		Features:  reg.Features}
	if !ok || !reflect.DeepEqual(*b, want) || !b.Active() {
		t.Fatalf("broker 2: %+v", b)
	}
	if _, ok := im.Broker(1); ok {
		t.Errorf("found broker 1")
	}
	recs := im.Records()
	again, err := New("c", 1, 1, nil, nil).Apply(recs...)
	if err != nil || !reflect.DeepEqual(again.Brokers(), im.Brokers()) {
		t.Fatalf("rebuilt %+v, %v", again.Brokers(), err)
	}
	r := recs[0].(RegisterBrokerRecord)
	if r.Fenced || r.EndPoints[0].Name != "CONTROLLER" || r.EndPoints[1].Name != "PLAINTEXT" {
		t.Errorf("snapshot record %+v", r)
	}
}
