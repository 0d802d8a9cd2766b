package engine

import (
	"bytes"
	"github.com/weirmq/weir/engine/config"
	"log/slog"
	"strings"
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
// be met: the offsets topic is created with one replica, the broker is the
// coordinator, and one warning names the key.
func TestFindCoordinatorDefaultNode(t *testing.T) {
	var logs bytes.Buffer
	c := config.New(config.Kafka)
	for _, kv := range []string{"node.id=1", "listeners=PLAINTEXT://127.0.0.1:9092", "log.dirs=" + t.TempDir(),
		"log.segment.bytes=1048576", "offsets.topic.segment.bytes=1048576"} {
		k, v, _ := cut(kv)
		if err := c.Set(k, v, config.SourceFlag); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Open(Options{Config: c, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	for i := 0; i < 2; i++ {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.Version, req.CoordinatorKey = 3, "g"
		if resp := roundTrip(t, b, req).(*kmsg.FindCoordinatorResponse); resp.ErrorCode != 0 || resp.NodeID != 1 {
			t.Fatalf("error %v, node %d; want node 1", kerr.ErrorForCode(resp.ErrorCode), resp.NodeID)
		}
	}
	top, ok := b.image.Load().Topic(offsetsTopic)
	if !ok || len(top.Partitions) != 50 {
		t.Fatalf("offsets topic: %v %+v", ok, top)
	}
	for i, p := range top.Partitions {
		if len(p.Replicas) != 1 || p.Leader != 1 {
			t.Fatalf("offsets partition %d: replicas %v leader %d", i, p.Replicas, p.Leader)
		}
	}
	if n := strings.Count(logs.String(), "key=offsets.topic.replication.factor"); n != 1 {
		t.Fatalf("%d warnings naming offsets.topic.replication.factor, want 1:\n%s", n, logs.String())
	}
}
