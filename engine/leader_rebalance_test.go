package engine

import (
	"testing"
	"time"
)

// Broker 2's preferred partitions led by 1 go back to 2, with new leader
// epochs; broker 1's own stays.
func TestRebalanceLeaders(t *testing.T) {
	b, _ := twoBrokers(t)
	createAssigned(t, b, "t", []int32{2, 1}, []int32{2, 1}, []int32{1, 2})
	changeByHand(t, b, "t", 0, 1)
	changeByHand(t, b, "t", 1, 1)
	b.ctl.mu.Lock()
	err := b.rebalanceLeadersLocked()
	b.ctl.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct{ leader, epoch int32 }{{2, 2}, {2, 2}, {1, 0}} {
		p := partitionOf(b, "t", int32(i))
		if p.Leader != want.leader || p.LeaderEpoch != want.epoch {
			t.Errorf("t-%d: leader %d epoch %d, want %+v", i, p.Leader, p.LeaderEpoch, want)
		}
	}
}

// The ticker runs every leader.imbalance.check.interval.seconds while
// auto.leader.rebalance.enable is on, and not at all when it is off.
func TestRebalanceTicker(t *testing.T) {
	b, _ := twoBrokers(t, "leader.imbalance.check.interval.seconds=1")
	createAssigned(t, b, "t", []int32{2, 1})
	changeByHand(t, b, "t", 0, 1)
	b.startLeaderRebalance()
	deadline := time.Now().Add(5 * time.Second)
	for partitionOf(b, "t", 0).Leader != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("t-0 still led by %d", partitionOf(b, "t", 0).Leader)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.stopLeaderRebalance()

	off, _ := twoBrokers(t, "auto.leader.rebalance.enable=false")
	off.startLeaderRebalance()
	if off.rebalance.stop != nil {
		t.Errorf("the ticker runs with auto.leader.rebalance.enable=false")
	}
}
