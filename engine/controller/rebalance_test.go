package controller

import (
	"fmt"
	"strings"
	"testing"

	"github.com/weirmq/weir/engine/metadata"
)

// rebalanceImage has brokers 1-3 (fenced as given) and topic "t" with
// the partitions given, each "leader replicas/isr" as "1 2,1/2,1".
func rebalanceImage(t *testing.T, fenced int32, parts ...string) *metadata.Image {
	t.Helper()
	ids := func(s string) []int32 {
		var out []int32
		for _, f := range strings.Split(s, ",") {
			var id int32
			fmt.Sscan(f, &id)
			out = append(out, id)
		}
		return out
	}
	var ps []metadata.Partition
	for _, s := range parts {
		var leader int32
		var rest string
		fmt.Sscan(s, &leader, &rest)
		replicas, isr, _ := strings.Cut(rest, "/")
		ps = append(ps, metadata.Partition{Leader: leader, Replicas: ids(replicas), ISR: ids(isr), LeaderEpoch: 3})
	}
	brokers := []metadata.Broker{{NodeID: 1}, {NodeID: 2}, {NodeID: 3}}
	for i := range brokers {
		brokers[i].Fenced = brokers[i].NodeID == fenced
	}
	return metadata.New("cluster", 1, 1, brokers, []metadata.Topic{{Name: "t", ID: [16]byte{1}, Partitions: ps}})
}

func TestPlanLeaderRebalance(t *testing.T) {
	// Broker 2 is the preferred leader of t-0..3 and leads only t-2 and
	// t-3; broker 1 leads its own t-4.
	half := []string{"1 2,1/2,1", "1 2,1/2,1", "2 2,1/2,1", "2 2,1/2,1", "1 1,2/1,2"}
	tests := []struct {
		name    string
		fenced  int32
		parts   []string
		percent string
		limit   int
		want    string // the partitions moved to their preferred leader
	}{
		{name: "half of 2's led by 1", parts: half, want: "t-0>2 t-1>2"},
		{name: "under the percentage", parts: half, percent: "50", want: ""},
		{name: "just over", parts: half, percent: "49", want: "t-0>2 t-1>2"},
		{name: "limit", parts: half, limit: 1, want: "t-0>2"},
		{name: "preferred fenced", parts: half, fenced: 2, want: ""},
		{name: "preferred out of the ISR", want: "t-1>2",
			parts: []string{"1 2,1/1", "1 2,1/2,1", "2 2,1/2,1", "2 2,1/2,1"}},
		// A partition without a leader counts, and gets its preferred one.
		{name: "leaderless", want: "t-0>3 t-1>3",
			parts: []string{"-1 3,1/3,1", "1 3,1/1,3", "1 1,3/1,3"}},
		// 1 of 10: 10% is not above 10%; 0 moves any.
		{name: "at the percentage", want: "",
			parts: []string{"1 2,1/2,1", "2 2,1/2,1", "2 2,1/2,1", "2 2,1/2,1", "2 2,1/2,1",
				"2 2,1/2,1", "2 2,1/2,1", "2 2,1/2,1", "2 2,1/2,1", "2 2,1/2,1"}},
		{name: "percentage 0", percent: "0", want: "t-0>2",
			parts: []string{"1 2,1/2,1", "2 2,1/2,1", "2 2,1/2,1", "2 2,1/2,1", "2 2,1/2,1",
				"2 2,1/2,1", "2 2,1/2,1", "2 2,1/2,1", "2 2,1/2,1", "2 2,1/2,1"}},
	}
	for _, tt := range tests {
		im := rebalanceImage(t, tt.fenced, tt.parts...)
		var kv []string
		if tt.percent != "" {
			kv = []string{"leader.imbalance.per.broker.percentage", tt.percent}
		}
		limit := tt.limit
		if limit == 0 {
			limit = MaxElectionsPerRebalance
		}
		recs := PlanLeaderRebalance(im, brokerConfig(t, kv...), limit)
		var got []string
		for _, r := range recs {
			c := r.(metadata.PartitionChangeRecord)
			got = append(got, fmt.Sprintf("t-%d>%d", c.Partition, c.Leader))
			if c.ISR != nil || c.Replicas != nil {
				t.Errorf("%s: %+v changes more than the leader", tt.name, c)
			}
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s: moved %q, want %q", tt.name, strings.Join(got, " "), tt.want)
		}
		after, err := im.Apply(recs...)
		if err != nil {
			t.Fatal(err)
		}
		// Once applied, nothing more moves, and the leader epochs are new.
		if more := PlanLeaderRebalance(after, brokerConfig(t, kv...), MaxElectionsPerRebalance); tt.limit == 0 && len(more) > 0 {
			t.Errorf("%s: moves again: %v", tt.name, more)
		}
		tp, _ := after.Topic("t")
		for _, r := range recs {
			if p := tp.Partitions[r.(metadata.PartitionChangeRecord).Partition]; p.LeaderEpoch != 4 {
				t.Errorf("%s: leader epoch %d after the move", tt.name, p.LeaderEpoch)
			}
		}
	}
}
