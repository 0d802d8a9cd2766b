package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore"
)

// snapConfig has segments of a few one-record batches, so appends roll.
func snapConfig() logstore.Config {
	cfg := logstore.DefaultConfig()
	cfg.SegmentBytes = 256
	return cfg
}

// openUnit opens the log in dir and a partition around it, led here
// (leader 1) or followed (leader 2).
func openUnit(t *testing.T, dir string, leader int32) *partition {
	t.Helper()
	l := reopenLog(t, dir)
	reg := metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: leader, LeaderEpoch: 1}
	if leader == 1 {
		reg.Replicas, reg.ISR = []int32{1}, []int32{1}
	}
	p, err := openPartition("unit", testTopicID("unit"), 0, l, partitionEnv{self: 1, lagTimeMax: time.Minute,
		logger: discardLogger()}, reg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// closeUnit closes p's log as a clean shutdown does: its producer state
// snapshotted at the log end first (clean), or not (as after a crash, but
// with the files whole).
func closeUnit(t *testing.T, p *partition, clean bool) {
	t.Helper()
	if clean {
		p.saveProducerSnapshot(p.log.LogEndOffset())
	}
	if err := p.log.Close(); err != nil {
		t.Fatal(err)
	}
}

// snapshotOffsets lists the offsets of dir's .snapshot files.
func snapshotOffsets(t *testing.T, dir string) []int64 {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, n := range names {
		o, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(n), ".snapshot"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

func wantDup(t *testing.T, p *partition, b []byte, first, last int64) {
	t.Helper()
	res, err := p.append(b, originClient, false)
	if err != nil || !res.Duplicate || res.FirstOffset != first || res.LastOffset != last {
		t.Fatalf("retry: %+v %v, want a duplicate at [%d, %d]", res, err, first, last)
	}
}

// Rolls and a clean close leave snapshots; a partition reopened from
// them still answers a retry of each producer's newest batch with its
// offsets and takes the next sequence, refusing a gap.
func TestProducerStateRestoredFromSnapshots(t *testing.T) {
	dir := t.TempDir()
	p := openUnit(t, dir, 1)
	mustAppend(t, p, makeBatch(8, 0, 0, "eight"), originClient)
	for seq := int32(0); seq < 10; seq++ {
		mustAppend(t, p, makeBatch(7, 2, seq, "seven"), originClient)
	}
	if p.log.SegmentCount() < 3 {
		t.Fatalf("%d segments: the test wants rolls", p.log.SegmentCount())
	}
	end := p.log.LogEndOffset()
	closeUnit(t, p, true)
	snaps := snapshotOffsets(t, dir)
	if len(snaps) < 2 || snaps[len(snaps)-1] != end {
		t.Fatalf("snapshots at %v, want some at rolls and one at the end %d", snaps, end)
	}

	p = openUnit(t, dir, 1)
	wantDup(t, p, makeBatch(7, 2, 9, "seven"), end-1, end-1)
	wantDup(t, p, makeBatch(8, 0, 0, "eight"), 0, 0)
	if _, err := p.append(makeBatch(7, 2, 12, "gap"), originClient, false); !errors.Is(err, kerr.OutOfOrderSequenceNumber) {
		t.Fatalf("sequence gap after the restart: %v", err)
	}
	if res := mustAppend(t, p, makeBatch(7, 2, 10, "next"), originClient); res.Duplicate || res.FirstOffset != end {
		t.Fatalf("next sequence after the restart: %+v, want offset %d", res, end)
	}
}

// The rebuild takes the newest snapshot's state and reads only the
// batches after it: a producer whose batches lie before the snapshot but
// not in it stays unknown, one only in the snapshot is known, one after
// it too.
func TestRebuildReadsOnlyAfterTheSnapshot(t *testing.T) {
	dir := t.TempDir()
	p := openUnit(t, dir, 1)
	for seq := int32(0); seq < 4; seq++ {
		mustAppend(t, p, makeBatch(7, 0, seq, "before"), originClient)
	}
	if err := p.log.Roll(); err != nil { // the snapshot opens a segment, as at a roll
		t.Fatal(err)
	}
	at := p.log.LogEndOffset()
	now := time.Now().UnixMilli()
	p.log.SaveProducerSnapshot(at, []logstore.ProducerSnapshotEntry{{ProducerID: 99, Epoch: 1, LastSequence: 40,
		LastOffset: at - 1, OffsetDelta: 2, Timestamp: now, CoordinatorEpoch: -1, CurrentTxnFirstOffset: -1}})
	mustAppend(t, p, makeBatch(8, 0, 0, "after"), originClient)
	closeUnit(t, p, false)

	ps, err := rebuildProducers(reopenLog(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ps[7]; ok {
		t.Error("producer 7, written before the snapshot and not in it, was read from the log")
	}
	if _, ok := ps[8]; !ok {
		t.Error("producer 8, written after the snapshot, is unknown")
	}
	e := ps[99]
	if e == nil || e.epoch != 1 || e.n != 1 || e.batches[0] != (seqBatch{firstSeq: 38, lastSeq: 40,
		firstOffset: at - 3, lastOffset: at - 1}) || e.lastTs != now {
		t.Fatalf("producer 99 from the snapshot: %+v", e)
	}
}

// A clean shutdown's snapshot sits mid-segment: the rebuild reads that
// segment's headers too, so each of a producer's last five batches there
// is still a duplicate after the restart, as it was before it.
func TestCleanShutdownKeepsTheWindow(t *testing.T) {
	dir := t.TempDir()
	p := openUnit(t, dir, 1)
	if err := p.log.SetConfig(logstore.DefaultConfig()); err != nil { // no rolls
		t.Fatal(err)
	}
	for seq := int32(0); seq < 7; seq++ {
		mustAppend(t, p, makeBatch(7, 0, seq, "v"), originClient)
	}
	closeUnit(t, p, true)
	if snaps := snapshotOffsets(t, dir); len(snaps) != 1 || snaps[0] != 7 {
		t.Fatalf("snapshots at %v, want one at the log end 7", snaps)
	}
	p = openUnit(t, dir, 1)
	for seq := int32(2); seq < 7; seq++ {
		wantDup(t, p, makeBatch(7, 0, seq, "v"), int64(seq), int64(seq))
	}
}

func reopenLog(t *testing.T, dir string) *logstore.Log {
	t.Helper()
	l, err := logstore.Open(dir, "unit", 0, snapConfig(), logstore.Options{Logger: discardLogger()},
		logstore.OpenState{Clean: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// With every snapshot corrupt the partition rebuilds from the whole log,
// as before snapshots: each of a producer's last five batches is a
// duplicate again (a snapshot keeps only the newest), and the corrupt
// files are gone.
func TestCorruptSnapshotsFallBackToTheLog(t *testing.T) {
	dir := t.TempDir()
	p := openUnit(t, dir, 1)
	for seq := int32(0); seq < 10; seq++ {
		mustAppend(t, p, makeBatch(7, 0, seq, "v"), originClient)
	}
	closeUnit(t, p, true)
	snaps := snapshotOffsets(t, dir)
	if len(snaps) == 0 {
		t.Fatal("no snapshot to corrupt")
	}
	for _, off := range snaps {
		path := filepath.Join(dir, fmt.Sprintf("%020d.snapshot", off))
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)-1] ^= 0x40
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p = openUnit(t, dir, 1)
	for seq := int32(5); seq < 10; seq++ {
		wantDup(t, p, makeBatch(7, 0, seq, "v"), int64(seq), int64(seq))
	}
	closeUnit(t, p, false)
	if got := snapshotOffsets(t, dir); len(got) != 0 {
		t.Fatalf("corrupt snapshots left at %v", got)
	}
}

// A follower snapshots at its rolls too; a truncation below a snapshot
// deletes it, and the state rebuilt is the truncated log's: the newest
// batch kept is a duplicate, the first one cut is the next sequence.
func TestTruncationBelowASnapshot(t *testing.T) {
	dir := t.TempDir()
	p := openUnit(t, dir, 2)
	for seq := int32(0); seq < 12; seq++ {
		if err := p.appendReplicated(setOffset(makeBatch(7, 0, seq, "v"), int64(seq)), 0); err != nil {
			t.Fatal(err)
		}
	}
	newest, _, ok := p.log.LatestProducerSnapshot()
	if !ok || newest < 4 {
		t.Fatalf("follower's newest snapshot at %d (%v): the test wants one past offset 4", newest, ok)
	}
	cut := newest - 2
	if err := p.followLeaderRange(0, cut); err != nil {
		t.Fatal(err)
	}
	if off, _, ok := p.log.LatestProducerSnapshot(); ok && off > cut {
		t.Fatalf("snapshot at %d survives a truncation to %d", off, cut)
	}
	if d, isDup, code := p.producers.check(makeBatch(7, 0, int32(cut-1), "v")); !isDup || code != 0 ||
		d.firstOffset != cut-1 {
		t.Fatalf("retry of the newest batch kept: dup %v at %d, code %d", isDup, d.firstOffset, code)
	}
	if _, isDup, code := p.producers.check(makeBatch(7, 0, int32(cut), "v")); isDup || code != 0 {
		t.Fatalf("the first sequence cut: dup %v code %d, want it taken", isDup, code)
	}
	closeUnit(t, p, false)
	for _, off := range snapshotOffsets(t, dir) {
		if off > cut {
			t.Fatalf("snapshot file at %d after a truncation to %d", off, cut)
		}
	}
}

// A broker's clean shutdown snapshots every partition at its log end;
// after the restart a retry is still a duplicate.
func TestCleanShutdownSnapshotsProducers(t *testing.T) {
	dir := t.TempDir()
	b := openBrokerAt(t, dir)
	defer b.Close() // again: a no-op
	createTopic(t, b, "snap", 1)
	produce := func(b *Broker, batch []byte) kmsg.ProduceResponseTopicPartition {
		return partitionResult(t, roundTrip(t, b, produceReq(9, -1, "snap", map[int32][]byte{0: batch})).(*kmsg.ProduceResponse), 0)
	}
	produce(b, makeBatch(31, 0, 0, "a", "b"))
	if r := produce(b, makeBatch(31, 0, 2, "c")); r.ErrorCode != 0 || r.BaseOffset != 2 {
		t.Fatalf("second batch: %+v", r)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := snapshotOffsets(t, filepath.Join(dir, "snap-0")); !slices.Contains(got, 3) {
		t.Fatalf("snapshots at %v, want one at the log end 3", got)
	}
	b = openBrokerAt(t, dir)
	defer b.Close()
	if r := produce(b, makeBatch(31, 0, 2, "c")); r.ErrorCode != 0 || r.BaseOffset != 2 {
		t.Fatalf("retry after the restart: %+v, want the original offset 2", r)
	}
}
