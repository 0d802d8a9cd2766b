package controller

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/engine/metadata"
)

// AlterPartition from partition t-3's leader (replicas 1,3, ISR 1; broker
// 3 at epoch 30): Kafka's checks, in its order, and the change committed
// for an accepted ISR.
func TestPlanAlterPartition(t *testing.T) {
	im := brokersImage(t, 3, topicT()...)
	p3 := func() metadata.Partition { tp, _ := im.Topic("t"); return tp.Partitions[3] }()
	ok := ISRChange{TopicID: [16]byte{1}, Partition: 3, LeaderEpoch: p3.LeaderEpoch,
		PartitionEpoch: p3.PartitionEpoch, ISR: []int32{1, 3}, ISREpochs: []int64{10, 30}}
	with := func(f func(c *ISRChange)) ISRChange { c := ok; c.ISR = slices.Clone(ok.ISR); f(&c); return c }
	tests := []struct {
		name string
		c    ISRChange
		want int16
	}{
		{"expand", ok, 0},
		{"unknown topic id", with(func(c *ISRChange) { c.TopicID = [16]byte{9} }), kerr.UnknownTopicID.Code},
		{"unknown partition", with(func(c *ISRChange) { c.Partition = 7 }), kerr.UnknownTopicOrPartition.Code},
		{"old leader epoch", with(func(c *ISRChange) { c.LeaderEpoch-- }), kerr.FencedLeaderEpoch.Code},
		{"other partition epoch", with(func(c *ISRChange) { c.PartitionEpoch++ }), kerr.InvalidUpdateVersion.Code},
		{"no leader in it", with(func(c *ISRChange) { c.ISR, c.ISREpochs = []int32{3}, nil }), kerr.InvalidRequest.Code},
		{"not a replica", with(func(c *ISRChange) { c.ISR, c.ISREpochs = []int32{1, 2}, nil }), kerr.InvalidRequest.Code},
		{"twice", with(func(c *ISRChange) { c.ISR, c.ISREpochs = []int32{1, 3, 3}, nil }), kerr.InvalidRequest.Code},
		{"another broker epoch", with(func(c *ISRChange) { c.ISREpochs = []int64{10, 31} }), kerr.IneligibleReplica.Code},
	}
	for _, tt := range tests {
		recs, results, refused := PlanAlterPartition(im, 1, 10, []ISRChange{tt.c})
		if refused != nil || len(results) != 1 || results[0].Code != tt.want {
			t.Errorf("%s: %v %+v", tt.name, refused, results)
			continue
		}
		if tt.want != 0 {
			if len(recs) != 0 {
				t.Errorf("%s: records %+v", tt.name, recs)
			}
			continue
		}
		next, err := im.Apply(recs...)
		if err != nil {
			t.Fatal(err)
		}
		tp, _ := next.Topic("t")
		got := tp.Partitions[3]
		if !slices.Equal(got.ISR, []int32{1, 3}) || got.Leader != 1 || got.LeaderEpoch != p3.LeaderEpoch ||
			got.PartitionEpoch != p3.PartitionEpoch+1 || !slices.Equal(results[0].Partition.ISR, got.ISR) ||
			results[0].Partition.PartitionEpoch != got.PartitionEpoch {
			t.Errorf("expanded: %+v, answered %+v", got, results[0].Partition)
		}
	}
	// Not the leader; a fenced new member; a stale broker epoch.
	if _, res, _ := PlanAlterPartition(im, 3, 30, []ISRChange{ok}); res[0].Code != kerr.NotLeaderForPartition.Code {
		t.Errorf("from broker 3: %+v", res)
	}
	fenced := brokersImage(t, 3, append(topicT(), fenceRec(3))...)
	if _, res, _ := PlanAlterPartition(fenced, 1, 10, []ISRChange{ok}); res[0].Code != kerr.IneligibleReplica.Code {
		t.Errorf("fenced member: %+v", res)
	}
	if _, _, refused := PlanAlterPartition(im, 1, 11, []ISRChange{ok}); refused == nil ||
		refused.Code != kerr.StaleBrokerEpoch.Code {
		t.Errorf("stale broker epoch: %v", refused)
	}
	// The same ISR: nothing to commit, answered as it is.
	same := with(func(c *ISRChange) { c.ISR, c.ISREpochs = []int32{1}, nil })
	if recs, res, _ := PlanAlterPartition(im, 1, 10, []ISRChange{same}); len(recs) != 0 || res[0].Code != 0 ||
		res[0].Partition.PartitionEpoch != p3.PartitionEpoch {
		t.Errorf("same ISR: %+v %+v", recs, res)
	}
}
