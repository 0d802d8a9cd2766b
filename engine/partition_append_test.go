package engine

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/engine/groups"
	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore"
)

// heldSyncer holds every sync the logs ask for until release runs them,
// so a test sees an append's durable wait before and after its sync.
type heldSyncer struct {
	mu   sync.Mutex
	held []func()
}

func (s *heldSyncer) Sync(files []*os.File, dir *os.File, done func(error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = append(s.held, func() { logstore.SyncNow{}.Sync(files, dir, done) })
}

// release runs the held syncs and reports how many there were.
func (s *heldSyncer) release() int {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	for _, run := range held {
		run()
	}
	return len(held)
}

// testPartition is a partition unit over a fresh log, led by node 1,
// without a broker or sockets.
func testPartition(t testing.TB, cfg logstore.Config, syncer logstore.Syncer) *partition {
	t.Helper()
	l, err := logstore.Open(t.TempDir(), "unit", 0, cfg, logstore.Options{Syncer: syncer}, logstore.OpenState{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	reg := metadata.Partition{Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}
	p, err := openPartition("unit", testTopicID("unit"), 0, l,
		partitionEnv{self: 1, lagTimeMax: time.Minute}, reg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustAppend(t *testing.T, p *partition, payload []byte, origin appendOrigin) appendResult {
	t.Helper()
	res, err := p.append(payload, origin, true)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return res
}

func TestPartitionAppendIdempotentDuplicate(t *testing.T) {
	p := testPartition(t, logstore.DefaultConfig(), nil)
	first := makeBatch(7, 0, 0, "a", "b")
	if res := mustAppend(t, p, first, originClient); res.FirstOffset != 0 || res.Duplicate {
		t.Fatalf("first batch: %+v", res)
	}
	if res := mustAppend(t, p, makeBatch(7, 0, 2, "c"), originClient); res.FirstOffset != 2 {
		t.Fatalf("second batch at %d, want 2", res.FirstOffset)
	}
	res := mustAppend(t, p, first, originClient)
	if !res.Duplicate || res.FirstOffset != 0 || res.LastOffset != 1 || res.LogAppendTime != -1 {
		t.Fatalf("retry of the first batch: %+v, want a duplicate at offsets 0-1", res)
	}
	if end := p.log.LogEndOffset(); end != 3 {
		t.Fatalf("log end %d after a duplicate, want 3 (nothing appended)", end)
	}
	if hw := p.log.HighWatermark(); hw != 3 {
		t.Fatalf("high watermark %d, want 3", hw)
	}
}

func TestPartitionAppendOutOfOrderSequence(t *testing.T) {
	p := testPartition(t, logstore.DefaultConfig(), nil)
	mustAppend(t, p, makeBatch(7, 0, 0, "a"), originClient)
	_, err := p.append(makeBatch(7, 0, 5, "gap"), originClient, true)
	if !errors.Is(err, kerr.OutOfOrderSequenceNumber) {
		t.Fatalf("sequence gap: %v, want OUT_OF_ORDER_SEQUENCE_NUMBER", err)
	}
	_, err = p.append(makeBatch(7, -1, 0, "old"), originClient, true) // epoch -1 < 0
	if !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("stale epoch: %v, want INVALID_PRODUCER_EPOCH", err)
	}
	if end := p.log.LogEndOffset(); end != 1 {
		t.Fatalf("log end %d after refused batches, want 1", end)
	}
}

// TestPartitionCoordinatorAppend: a coordinator's records take the same
// path as produce: fetch waiters wake, the high watermark moves, batches
// with a producer id land in the producer state (no sequence check for
// the coordinator's own batches).
func TestPartitionCoordinatorAppend(t *testing.T) {
	p := testPartition(t, logstore.DefaultConfig(), nil)
	woken := 0
	p.addWaiter(func() { woken++ })
	batch := buildGroupBatch([]groups.Record{{Key: []byte("k"), Value: []byte("v")}})
	if res := mustAppend(t, p, batch, originCoordinator); res.FirstOffset != 0 {
		t.Fatalf("coordinator batch at %d, want 0", res.FirstOffset)
	}
	if woken != 1 {
		t.Fatalf("fetch waiter woken %d times by a coordinator append, want 1", woken)
	}
	if hw := p.log.HighWatermark(); hw != 1 {
		t.Fatalf("high watermark %d after a coordinator append, want 1", hw)
	}
	// Producer 9 starts at 0 and jumps to 10: a client would get
	// OUT_OF_ORDER_SEQUENCE_NUMBER, the coordinator is not checked.
	mustAppend(t, p, makeBatch(9, 0, 0, "m"), originCoordinator)
	jump := makeBatch(9, 0, 10, "n")
	if res := mustAppend(t, p, jump, originCoordinator); res.FirstOffset != 2 {
		t.Fatalf("coordinator batch with a sequence gap at %d, want 2", res.FirstOffset)
	}
	e := p.producers[9]
	if e == nil || e.n != 2 {
		t.Fatalf("producer 9 after two coordinator batches: %+v", e)
	}
	// The state is shared with client appends: a client retry of the
	// coordinator's batch is a duplicate, the next sequence goes on.
	if res := mustAppend(t, p, jump, originClient); !res.Duplicate || res.FirstOffset != 2 {
		t.Fatalf("client retry of a coordinator batch: %+v", res)
	}
	if res := mustAppend(t, p, makeBatch(9, 0, 11, "o"), originClient); res.FirstOffset != 3 {
		t.Fatalf("next sequence at %d, want 3", res.FirstOffset)
	}
}

// TestPartitionDurableWait: with flush.messages=1 an append that wants
// durability is released only after the sync it started.
func TestPartitionDurableWait(t *testing.T) {
	cfg := logstore.DefaultConfig()
	cfg.FlushMessages = 1
	var syncer heldSyncer
	p := testPartition(t, cfg, &syncer)
	for _, origin := range []appendOrigin{originClient, originCoordinator} {
		res := mustAppend(t, p, makeBatch(-1, -1, -1, "x"), origin)
		if res.Durable == nil {
			t.Fatalf("origin %d: no durable wait with flush.messages=1", origin)
		}
		fired := make(chan error, 1)
		res.Durable(func(err error) { fired <- err })
		select {
		case err := <-fired:
			t.Fatalf("origin %d: released before the sync (%v)", origin, err)
		default:
		}
		if n := syncer.release(); n == 0 {
			t.Fatalf("origin %d: the append started no sync", origin)
		}
		select {
		case err := <-fired:
			if err != nil {
				t.Fatalf("origin %d: released with %v", origin, err)
			}
		default:
			t.Fatalf("origin %d: not released after the sync", origin)
		}
		if d := p.log.DurableOffset(); d <= res.LastOffset {
			t.Fatalf("origin %d: durable offset %d, appended up to %d", origin, d, res.LastOffset)
		}
	}
	// Not asked for (acks=0): no wait, though a sync started.
	res, err := p.append(makeBatch(-1, -1, -1, "y"), originClient, false)
	if err != nil || res.Durable != nil {
		t.Fatalf("append without durability: %+v, %v", res, err)
	}
	syncer.release()
}

// TestPartitionDuplicateWaitsForTheFirstSync: with flush.messages=1 a retry
// of a batch whose sync is still in flight is answered once that sync is
// done, not before; once durable, a retry needs no wait.
func TestPartitionDuplicateWaitsForTheFirstSync(t *testing.T) {
	cfg := logstore.DefaultConfig()
	cfg.FlushMessages = 1
	var syncer heldSyncer
	p := testPartition(t, cfg, &syncer)
	batch := makeBatch(9, 0, 0, "a")
	if res := mustAppend(t, p, batch, originClient); res.Durable == nil {
		t.Fatal("no durable wait for the first write")
	}
	retry := mustAppend(t, p, batch, originClient)
	if !retry.Duplicate || retry.Durable == nil {
		t.Fatalf("retry while the first sync is in flight: %+v, want a duplicate that waits", retry)
	}
	fired := make(chan error, 1)
	retry.Durable(func(err error) { fired <- err })
	select {
	case <-fired:
		t.Fatal("the retry was released before the first write's sync")
	default:
	}
	syncer.release()
	select {
	case err := <-fired:
		if err != nil {
			t.Fatalf("released with %v", err)
		}
	default:
		t.Fatal("the retry was not released after the sync")
	}
	if again := mustAppend(t, p, batch, originClient); !again.Duplicate || again.Durable != nil {
		t.Fatalf("retry after the sync: %+v, want a duplicate without a wait", again)
	}
}

// BenchmarkPartitionAppend: a leader's append of a 16 KiB batch (16
// records of 1 KiB) through the partition's write path, plain and from an
// idempotent producer (its sequence checked against the producer state and
// recorded): the idempotent one must cost what the plain one does. Each
// iteration sets the batch's sequence and its CRC-32C, in both.
func BenchmarkPartitionAppend(b *testing.B) {
	values := make([]string, 16)
	for i := range values {
		values[i] = strings.Repeat(string(rune('a'+i)), 1024)
	}
	for _, idempotent := range []bool{false, true} {
		name := "plain"
		if idempotent {
			name = "idempotent"
		}
		b.Run(name, func(b *testing.B) {
			cfg := logstore.DefaultConfig()
			cfg.SegmentBytes = 64 << 20
			p := testPartition(b, cfg, nil)
			pid, seqStep := int64(-1), int32(0)
			if idempotent {
				pid, seqStep = 7, int32(len(values))
			}
			batch := makeBatch(pid, 0, 0, values...)
			if !idempotent {
				batch = makeBatch(-1, -1, -1, values...)
			}
			table := crc32.MakeTable(crc32.Castagnoli)
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if idempotent {
					binary.BigEndian.PutUint32(batch[53:], uint32(int32(i)*seqStep))
				}
				binary.BigEndian.PutUint32(batch[17:], crc32.Checksum(batch[21:], table))
				if _, err := p.append(batch, originClient, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestWriteRefusedOnceNotLeading: an append queued while p led and
// written after p became a follower is refused, and nothing is appended
// (a drain writes after the loop accepted the append; appender.go).
func TestWriteRefusedOnceNotLeading(t *testing.T) {
	p := testPartition(t, logstore.DefaultConfig(), nil)
	if _, err := p.write(makeBatch(-1, -1, -1, "led"), originClient, false); err != nil {
		t.Fatalf("write while leading: %v", err)
	}
	p.assign(1, metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 2, LeaderEpoch: 1})
	_, err := p.write(makeBatch(-1, -1, -1, "late"), originClient, false)
	if !errors.Is(err, kerr.NotLeaderForPartition) {
		t.Fatalf("write after becoming a follower: %v, want NOT_LEADER_OR_FOLLOWER", err)
	}
	if leo := p.log.LogEndOffset(); leo != 1 {
		t.Fatalf("log end %d, want 1: the refused batch was appended", leo)
	}
}
