package controller

import (
	"reflect"
	"slices"
	"testing"

	"github.com/weirmq/weir/engine/metadata"
)

// racked is an image with brokers 1..len(racks), broker i+1 in racks[i]
// ("" for none).
func racked(t *testing.T, racks ...string) *metadata.Image {
	t.Helper()
	var brokers []metadata.Broker
	for i, r := range racks {
		b := metadata.Broker{NodeID: int32(i + 1)}
		if r != "" {
			b.Rack = str(r)
		}
		brokers = append(brokers, b)
	}
	return metadata.New("cluster", 1, 1, brokers, nil)
}

func rackOf(im *metadata.Image, id int32) string {
	b, _ := im.Broker(id)
	if b.Rack == nil {
		return ""
	}
	return *b.Rack
}

// Six brokers in three racks, replication factor 3: every partition on
// the three racks, leaders and replicas spread evenly over the brokers.
// The same with nine brokers, racks listed in blocks.
func TestStripeReplicasRacks(t *testing.T) {
	im := racked(t, "a", "b", "c", "a", "b", "c")
	got, r := stripeReplicas(im, 0, 6, 3)
	if r != nil {
		t.Fatal(refused(r))
	}
	want := [][]int32{{1, 2, 3}, {2, 3, 4}, {3, 4, 5}, {4, 5, 6}, {5, 6, 1}, {6, 1, 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("placement %v\nwant %v", got, want)
	}
	for _, racks := range [][]string{{"a", "b", "c", "a", "b", "c"}, {"a", "a", "a", "b", "b", "b", "c", "c", "c"}} {
		im := racked(t, racks...)
		n := len(racks)
		got, r := stripeReplicas(im, 0, int32(2*n), 3)
		if r != nil {
			t.Fatal(refused(r))
		}
		leaders, replicas := map[int32]int{}, map[int32]int{}
		for i, p := range got {
			on := map[string]bool{}
			for _, id := range p {
				on[rackOf(im, id)] = true
				replicas[id]++
			}
			if len(on) != 3 {
				t.Errorf("%v: partition %d %v is on racks %v", racks, i, p, on)
			}
			leaders[p[0]]++
		}
		for id := int32(1); id <= int32(n); id++ {
			if leaders[id] != 2 || replicas[id] != 6 {
				t.Errorf("%v: broker %d leads %d and holds %d of %d partitions, want 2 and 6",
					racks, id, leaders[id], replicas[id], 2*n)
			}
		}
	}
}

func TestStripeReplicasRackCases(t *testing.T) {
	tests := []struct {
		name   string
		racks  []string
		fenced []int32
		rf     int32
		want   [][]int32
	}{
		// Plain round robin, fenced brokers last: Weir's placement before racks.
		{name: "no racks", racks: []string{"", "", "", ""}, rf: 3,
			want: [][]int32{{1, 2, 3}, {2, 3, 4}, {3, 4, 1}, {4, 1, 2}, {1, 2, 3}}},
		{name: "no racks, 3 fenced", racks: []string{"", "", "", ""}, fenced: []int32{3}, rf: 4,
			want: [][]int32{{1, 2, 4, 3}, {2, 4, 1, 3}, {4, 1, 2, 3}, {1, 2, 4, 3}}},
		// Brokers without a rack are a rack of their own, sorted first.
		{name: "some racks", racks: []string{"", "", "x", "y"}, rf: 3,
			want: [][]int32{{1, 3, 4}, {3, 4, 2}, {4, 2, 3}, {2, 3, 4}}},
		// More replicas than racks: every rack, then round again.
		{name: "two racks", racks: []string{"a", "a", "b", "b"}, rf: 3,
			want: [][]int32{{1, 3, 2}, {3, 2, 4}, {2, 4, 1}, {4, 1, 3}}},
		// Uneven racks: the lone rack's broker follows every leader of the other.
		{name: "uneven racks", racks: []string{"a", "a", "a", "b"}, rf: 2,
			want: [][]int32{{1, 4}, {4, 2}, {2, 4}, {3, 4}}},
		// A fenced broker never leads; its rack's others do.
		{name: "fenced in a rack", racks: []string{"a", "b", "a", "b"}, fenced: []int32{1}, rf: 2,
			want: [][]int32{{3, 2}, {2, 3}, {4, 3}, {3, 2}}},
		// A rack of fenced brokers only: its broker follows, never leads.
		{name: "fenced rack", racks: []string{"a", "b", "a"}, fenced: []int32{2}, rf: 2,
			want: [][]int32{{1, 2}, {3, 2}, {1, 2}, {3, 2}}},
	}
	for _, tt := range tests {
		im := racked(t, tt.racks...)
		var brokers []metadata.Broker
		for _, b := range im.Brokers() {
			b.Fenced = slices.Contains(tt.fenced, b.NodeID)
			brokers = append(brokers, b)
		}
		im = im.WithBrokers(1, brokers)
		got, r := stripeReplicas(im, 0, int32(len(tt.want)), tt.rf)
		if r != nil {
			t.Errorf("%s: %s", tt.name, refused(r))
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v\nwant %v", tt.name, got, tt.want)
		}
		for i, p := range got {
			if slices.Contains(tt.fenced, p[0]) {
				t.Errorf("%s: partition %d led by fenced broker %d", tt.name, i, p[0])
			}
		}
	}
}

// New partitions go on with the stripe where the topic's left off.
func TestStripeReplicasFrom(t *testing.T) {
	im := racked(t, "a", "b", "c", "a", "b", "c")
	all, _ := stripeReplicas(im, 0, 7, 2)
	more, _ := stripeReplicas(im, 4, 3, 2)
	if !reflect.DeepEqual(more, all[4:]) {
		t.Errorf("partitions 4-6: %v, want %v", more, all[4:])
	}
}

// CreateTopics and CreatePartitions place with racks.
func TestPlanWithRacks(t *testing.T) {
	im := racked(t, "a", "b", "c", "a", "b", "c")
	plan, r := PlanTopic(im, brokerConfig(t), nil, TopicRequest{Name: "t", Partitions: 6, Replication: 3}, [16]byte{1})
	if r != nil {
		t.Fatal(refused(r))
	}
	for i, p := range plan.Replicas {
		if rackOf(im, p[0]) == rackOf(im, p[1]) || rackOf(im, p[1]) == rackOf(im, p[2]) ||
			rackOf(im, p[0]) == rackOf(im, p[2]) {
			t.Errorf("partition %d: %v", i, p)
		}
	}
	im, err := im.Apply(plan.Records()...)
	if err != nil {
		t.Fatal(err)
	}
	_, replicas, _, r := PlanPartitions(im, "t", 8, nil)
	if r != nil {
		t.Fatal(refused(r))
	}
	if want := [][]int32{{1, 2, 3}, {2, 3, 4}}; !reflect.DeepEqual(replicas, want) {
		t.Errorf("partitions 6-7: %v, want %v", replicas, want)
	}
}
