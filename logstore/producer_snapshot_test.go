package logstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func testSnapshotEntries() []ProducerSnapshotEntry {
	return []ProducerSnapshotEntry{
		{ProducerID: 7, Epoch: 2, LastSequence: 41, LastOffset: 1042, OffsetDelta: 3, Timestamp: 1_700_000_000_000,
			CoordinatorEpoch: -1, CurrentTxnFirstOffset: -1},
		{ProducerID: 1 << 40, Epoch: -1, LastSequence: 0, LastOffset: 0, OffsetDelta: 0, Timestamp: -1,
			CoordinatorEpoch: 5, CurrentTxnFirstOffset: 17},
	}
}

func TestProducerSnapshotRoundTrip(t *testing.T) {
	for _, entries := range [][]ProducerSnapshotEntry{nil, testSnapshotEntries()} {
		b := EncodeProducerSnapshot(entries)
		if want := snapshotHeaderSize + len(entries)*snapshotEntrySize; len(b) != want {
			t.Fatalf("%d entries encode to %d bytes, want %d", len(entries), len(b), want)
		}
		got, err := DecodeProducerSnapshot(b)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, entries) {
			t.Fatalf("decoded %+v, want %+v", got, entries)
		}
	}
}

// Every altered or torn snapshot is refused: a flipped bit anywhere, a cut
// at any length, bytes added, another version.
func TestProducerSnapshotCorruptionDetected(t *testing.T) {
	good := EncodeProducerSnapshot(testSnapshotEntries())
	for i := range good {
		b := bytes.Clone(good)
		b[i] ^= 0x10
		if _, err := DecodeProducerSnapshot(b); !errors.Is(err, errCorruptSnapshot) {
			t.Fatalf("bit flipped in byte %d: %v", i, err)
		}
	}
	for n := 0; n < len(good); n++ {
		if _, err := DecodeProducerSnapshot(good[:n]); !errors.Is(err, errCorruptSnapshot) {
			t.Fatalf("cut to %d bytes: %v", n, err)
		}
	}
	if _, err := DecodeProducerSnapshot(append(bytes.Clone(good), 0)); !errors.Is(err, errCorruptSnapshot) {
		t.Fatalf("a byte added: %v", err)
	}
	v2 := bytes.Clone(good)
	v2[1] = 2
	binary.BigEndian.PutUint32(v2[2:], crc32cBitwise(v2[6:]))
	if _, err := DecodeProducerSnapshot(v2); !errors.Is(err, errCorruptSnapshot) {
		t.Fatalf("version 2: %v", err)
	}
}

// crc32cBitwise is CRC-32C computed bit by bit (reflected polynomial
// 0x82F63B78), independent of hash/crc32's tables.
func crc32cBitwise(p []byte) uint32 {
	crc := ^uint32(0)
	for _, c := range p {
		crc ^= uint32(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x82F63B78
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

func TestCRC32CBitwiseKnownValue(t *testing.T) {
	// The CRC-32C check value (RFC 3720, B.4).
	if got := crc32cBitwise([]byte("123456789")); got != 0xE3069283 {
		t.Fatalf("crc32c(123456789) = %08x", got)
	}
}

// The bytes of a one-entry snapshot, laid out by hand as Kafka's
// ProducerStateManager writes version 1 (PID_SNAPSHOT_MAP_SCHEMA).
func TestProducerSnapshotKafkaLayout(t *testing.T) {
	e := ProducerSnapshotEntry{ProducerID: 0x0102030405060708, Epoch: 0x0a0b, LastSequence: 0x11121314,
		LastOffset: 0x2122232425262728, OffsetDelta: 0x31323334, Timestamp: 0x4142434445464748,
		CoordinatorEpoch: -1, CurrentTxnFirstOffset: -1}
	body := []byte{
		0, 0, 0, 1, // producer_entries: count
		1, 2, 3, 4, 5, 6, 7, 8, // producer_id int64
		0x0a, 0x0b, // epoch int16
		0x11, 0x12, 0x13, 0x14, // last_sequence int32
		0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, // last_offset int64
		0x31, 0x32, 0x33, 0x34, // offset_delta int32
		0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, // timestamp int64
		0xff, 0xff, 0xff, 0xff, // coordinator_epoch int32
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // current_txn_first_offset int64
	}
	crc := crc32cBitwise(body)
	want := append([]byte{0, 1, byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)}, body...)
	if got := EncodeProducerSnapshot([]ProducerSnapshotEntry{e}); !bytes.Equal(got, want) {
		t.Fatalf("encoded\n%x\nwant\n%x", got, want)
	}
	if got, err := DecodeProducerSnapshot(want); err != nil || len(got) != 1 || got[0] != e {
		t.Fatalf("decoded %+v, %v", got, err)
	}
}

// snapshotFiles lists the offsets of the .snapshot files in dir.
func snapshotFiles(t *testing.T, dir string) []int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range ents {
		if o, ok := parseBase(e.Name(), snapshotSuffix); ok {
			out = append(out, o)
		}
	}
	return out
}

// appendOnes appends n one-record batches and answers the log end.
func appendOnes(t *testing.T, l *Log, n int) int64 {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := l.Append(makeBatch(batchSpec{records: 1, valueSize: 100, ts: 1000}), 0); err != nil {
			t.Fatal(err)
		}
	}
	return l.LogEndOffset()
}

func entriesAt(off int64) []ProducerSnapshotEntry {
	return []ProducerSnapshotEntry{{ProducerID: off, LastOffset: off - 1, Timestamp: 1, CoordinatorEpoch: -1,
		CurrentTxnFirstOffset: -1}}
}

func wantLatest(t *testing.T, l *Log, want int64) {
	t.Helper()
	off, entries, ok := l.LatestProducerSnapshot()
	switch {
	case want < 0 && ok:
		t.Fatalf("latest snapshot at %d, want none", off)
	case want < 0:
	case !ok || off != want || !slices.Equal(entries, entriesAt(want)):
		t.Fatalf("latest snapshot at %d (%v) %+v, want %d", off, ok, entries, want)
	}
}

// Snapshots are written by the time Close returns, survive a reopen, go
// when a truncation cuts below them, when the log start passes them (all
// but the newest), when there are more than maxProducerSnapshots, and all
// with a full truncation.
func TestProducerSnapshotFilesFollowTheLog(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(1 << 20)
	l := openTestLog(t, dir, cfg, Options{}, OpenState{})
	var offs []int64
	for range 4 {
		off := appendOnes(t, l, 5)
		l.SaveProducerSnapshot(off, entriesAt(off))
		offs = append(offs, off)
	}
	l.SaveProducerSnapshot(offs[3], entriesAt(99)) // an offset already saved: ignored
	l.SaveProducerSnapshot(100, entriesAt(100))    // past the log end: ignored
	wantLatest(t, l, 20)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := snapshotFiles(t, dir); !slices.Equal(got, offs[1:]) {
		t.Fatalf("files at %v, want the newest %d of %v", got, maxProducerSnapshots, offs)
	}

	l = openTestLog(t, dir, cfg, Options{}, OpenState{Clean: true})
	wantLatest(t, l, 20)
	if err := l.TruncateTo(17); err != nil {
		t.Fatal(err)
	}
	wantLatest(t, l, 15)
	l.SetHighWatermark(17)
	if _, err := l.DeleteRecords(16); err != nil {
		t.Fatal(err)
	}
	wantLatest(t, l, -1) // 15 is below the start: kept as the newest, not used
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := snapshotFiles(t, dir); !slices.Equal(got, []int64{15}) {
		t.Fatalf("files at %v after truncation to 17 and start 16, want [15]", got)
	}

	l = openTestLog(t, dir, cfg, Options{}, OpenState{Clean: true})
	defer l.Close()
	off := appendOnes(t, l, 2)
	l.SaveProducerSnapshot(off, entriesAt(off))
	wantLatest(t, l, off)
	if err := l.TruncateFullyAndStartAt(50); err != nil {
		t.Fatal(err)
	}
	wantLatest(t, l, -1)
	l.snaps.wg.Wait()
	if got := snapshotFiles(t, dir); len(got) != 0 {
		t.Fatalf("files at %v after a full truncation", got)
	}
}

// At open, snapshots past the log end (recovery cut the log) and torn or
// corrupt ones are deleted; the newest good one in range is used.
func TestProducerSnapshotBadFilesAtOpen(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(1 << 20)
	l := openTestLog(t, dir, cfg, Options{}, OpenState{})
	end := appendOnes(t, l, 10)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	write := func(off int64, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, snapshotName(off)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(4, EncodeProducerSnapshot(entriesAt(4)))
	torn := EncodeProducerSnapshot(entriesAt(8))
	write(8, torn[:len(torn)-3])
	flipped := EncodeProducerSnapshot(entriesAt(9))
	flipped[len(flipped)-1] ^= 1
	write(9, flipped)
	write(end+5, EncodeProducerSnapshot(entriesAt(end+5)))

	logs := &logCapture{}
	l = openTestLog(t, dir, cfg, Options{Logger: logs.logger()}, OpenState{Clean: true})
	wantLatest(t, l, 4)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := snapshotFiles(t, dir); !slices.Equal(got, []int64{4}) {
		t.Fatalf("files at %v, want [4]", got)
	}
	if out := logs.String(); !bytes.Contains([]byte(out), []byte("level=WARN msg=\"logstore: deleting unreadable producer snapshot\"")) {
		t.Fatalf("no warning for the corrupt snapshots:\n%s", out)
	}
}

// An append that starts a segment says so; its first offset is the new
// segment's base.
func TestAppendReportsRoll(t *testing.T) {
	l := openTestLog(t, t.TempDir(), testConfig(1024), Options{}, OpenState{})
	defer l.Close()
	rolls := 0
	for range 30 {
		res, err := l.Append(makeBatch(batchSpec{records: 1, valueSize: 100, ts: 1000}), 0)
		if err != nil {
			t.Fatal(err)
		}
		if res.Rolled {
			rolls++
			if base := l.active().base; base != res.FirstOffset {
				t.Fatalf("rolled at %d, segment based at %d", res.FirstOffset, base)
			}
		}
	}
	if rolls == 0 || rolls != l.SegmentCount()-1 {
		t.Fatalf("%d rolls reported, %d segments", rolls, l.SegmentCount())
	}
}

// A moved log takes its newest snapshot along.
func TestMoveTakesProducerSnapshot(t *testing.T) {
	r := newMoveRig(t)
	for n := 0; n < 100; n++ {
		r.appendOne(n)
	}
	off := r.l.LogEndOffset()
	r.l.SaveProducerSnapshot(off, entriesAt(off))
	r.runOwner(100)
	r.move(nil)
	r.stopOwner()
	if got := snapshotFiles(t, r.l.Dir()); !slices.Equal(got, []int64{off}) {
		t.Fatalf("moved log's snapshots %v, want [%d]", got, off)
	}
	wantLatest(t, r.l, off)
	r.close()
}

// Retention that moves the log start deletes the snapshots below it, but
// for the newest.
func TestRetentionDeletesOldProducerSnapshots(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(1024)
	l := openTestLog(t, dir, cfg, Options{}, OpenState{})
	for l.SegmentCount() < 4 {
		res, err := l.Append(makeBatch(batchSpec{records: 1, valueSize: 100, ts: 1000}), 0)
		if err != nil {
			t.Fatal(err)
		}
		if res.Rolled {
			l.SaveProducerSnapshot(res.FirstOffset, entriesAt(res.FirstOffset))
		}
	}
	l.snaps.mu.Lock()
	bases := slices.Clone(l.snaps.have)
	l.snaps.mu.Unlock()
	if len(bases) != 3 {
		t.Fatalf("snapshots at %v, want one per roll", bases)
	}
	l.SetHighWatermark(l.LogEndOffset())
	cfg.RetentionBytes = 1
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if n, err := l.ApplyRetention(time.Now()); err != nil || n != 3 {
		t.Fatalf("retention deleted %d segments (%v), want 3", n, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := snapshotFiles(t, dir), bases[2:]; !slices.Equal(got, want) {
		t.Fatalf("files at %v after retention to %d, want %v", got, want[0], want)
	}
}
