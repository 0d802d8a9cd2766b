package engine

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestJavaHashAndGroupPartition(t *testing.T) {
	// Values from Java's String.hashCode (the last has a surrogate pair).
	for s, want := range map[string]int32{"": 0, "a": 97, "group": 98629247, "hello world": 1794106052,
		"polygenelubricants": -2147483648, "é€😀": 16752006} {
		if got := javaHash(s); got != want {
			t.Errorf("javaHash(%q) = %d, want %d", s, got, want)
		}
	}
	if p := groupPartition("polygenelubricants", 50); p != 0 {
		t.Errorf("MinInt32 hash: partition %d, want 0 (Kafka's abs)", p)
	}
	if p := groupPartition("group", 50); p != 98629247%50 {
		t.Errorf("group: partition %d", p)
	}
}

func TestFindCoordinator(t *testing.T) {
	b := newTestBroker(t, "offsets.topic.replication.factor=1", "offsets.topic.num.partitions=5")
	for v := int16(0); v <= 6; v++ {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.Version, req.CoordinatorKey, req.CoordinatorKeys = v, "g1", []string{"g1", "g2"}
		resp := roundTrip(t, b, req).(*kmsg.FindCoordinatorResponse)
		if v < 4 {
			if resp.ErrorCode != 0 || resp.NodeID != 1 || resp.Port != 9092 {
				t.Fatalf("v%d: %+v", v, resp)
			}
			continue
		}
		if len(resp.Coordinators) != 2 || resp.Coordinators[1].Key != "g2" || resp.Coordinators[0].NodeID != 1 {
			t.Fatalf("v%d: %+v", v, resp.Coordinators)
		}
	}
	if topic, ok := b.image.Load().Topic(offsetsTopic); !ok || len(topic.Partitions) != 5 || topic.Configs["cleanup.policy"] != "compact" {
		t.Fatalf("__consumer_offsets not created as configured: %+v", topic)
	}
	txn := kmsg.NewPtrFindCoordinatorRequest()
	txn.Version, txn.CoordinatorType, txn.CoordinatorKey = 3, 1, "tx"
	if resp := roundTrip(t, b, txn).(*kmsg.FindCoordinatorResponse); resp.ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("transaction coordinator: error %d", resp.ErrorCode)
	}
}

// On one node Kafka's default offsets.topic.replication.factor (3) cannot
// be met: no coordinator, as in Kafka.
func TestFindCoordinatorUnderReplicatedOffsetsTopic(t *testing.T) {
	b := newTestBroker(t)
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.Version, req.CoordinatorKey = 3, "g"
	if resp := roundTrip(t, b, req).(*kmsg.FindCoordinatorResponse); resp.ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("error %d, want COORDINATOR_NOT_AVAILABLE", resp.ErrorCode)
	}
}
