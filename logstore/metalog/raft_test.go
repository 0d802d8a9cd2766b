package metalog

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/weirmq/weir/logstore"
)

func openQuorum(t *testing.T, dir string) *Log {
	t.Helper()
	l, err := OpenQuorum(dir, Options{NodeID: 1, Logger: quiet(), SegmentBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestKRaftVotersFormat pins the bytes of a VotersRecord value, Weir's
// tagged field included: part of the format.
func TestKRaftVotersFormat(t *testing.T) {
	v := KRaftVoters{Voters: []KRaftVoter{{VoterID: 1, VoterDirectoryID: UUID{15: 9},
		Endpoints:           []KRaftEndpoint{{Name: "C", Host: "h", Port: 9093}},
		KRaftVersionFeature: KRaftVersionFeature{MinSupportedVersion: 0, MaxSupportedVersion: 1}}},
		Quorum: []byte{0xab}}
	got := hex.EncodeToString(appendControlValue(nil, v))
	want := "0000" + // Version
		"02" + "00000001" + strings.Repeat("00", 15) + "09" + // 1 voter: id, directory id
		"02" + "0243" + "0268" + "2385" + "00" + // 1 endpoint: "C", "h", 9093, no tags
		"0000" + "0001" + "00" + "00" + // kraft.version 0-1, no tags; the voter's tags
		"01" + "c5ae01" + "01" + "ab" // one tag: QuorumTag, 1 byte

	if got != want {
		t.Fatalf("VotersRecord value\n%s\nwant\n%s", got, want)
	}
	b := EncodeControlBatch(7, 3, 1000, []Control{v, KRaftVoters{}})
	d, err := DecodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Controls, []Control{v, KRaftVoters{}}) {
		t.Fatalf("decoded %+v", d.Controls)
	}
}

func TestSnapshotWithHeader(t *testing.T) {
	id := SnapshotID{EndOffset: 42, Epoch: 3}
	kv := KRaftVoters{Voters: []KRaftVoter{{VoterID: 2}}, Quorum: []byte("raft")}
	recs := topicRecords("a", 1, 2)
	data := EncodeSnapshotWith(id, 5, 6, []Control{kv}, recs)
	got, h, err := DecodeSnapshot(data)
	if err != nil || !reflect.DeepEqual(got, recs) || h.LastContainedLogTimestamp != 5 {
		t.Fatalf("decoded %+v %+v %v", got, h, err)
	}
	cs, err := HeaderControls(data)
	if err != nil || !reflect.DeepEqual(cs, []Control{kv}) {
		t.Fatalf("header controls %+v %v", cs, err)
	}
	// Offsets run on through the file: the header batch holds two.
	d, err := DecodeBatch(data[:batchLen(data)])
	if err != nil || len(d.Controls) != 2 {
		t.Fatalf("header batch %+v %v", d, err)
	}
	next, err := DecodeBatch(data[batchLen(data) : batchLen(data)+batchLen(data[batchLen(data):])])
	if err != nil || next.BaseOffset != 2 {
		t.Fatalf("first record batch at offset %d: %v", next.BaseOffset, err)
	}
}

func batchLen(p []byte) int { return int(logstore.Batch(p).Size()) }

// appendAt appends recs as a batch at the log end in epoch.
func appendAt(t *testing.T, l *Log, epoch int32, recs []Record) {
	t.Helper()
	if err := l.AppendBatches(EncodeBatch(l.EndOffset(), epoch, 1000, recs)); err != nil {
		t.Fatal(err)
	}
}

func TestOpenQuorumSnapshotAt(t *testing.T) {
	dir := t.TempDir()
	l := openQuorum(t, dir)
	if l.EndOffset() != 0 {
		t.Fatalf("OpenQuorum wrote %d records", l.EndOffset())
	}
	for i := range 5 {
		appendAt(t, l, int32(1+i/2), topicRecords("t", byte(i), 1))
	}
	if err := l.SnapshotAt(SnapshotID{EndOffset: 11, Epoch: 3}, 1, nil, nil); err == nil {
		t.Fatal("a snapshot past the log end")
	}
	id := SnapshotID{EndOffset: 6, Epoch: 2} // after the third batch
	kv := KRaftVoters{Quorum: []byte("pos")}
	if err := l.SnapshotAt(id, 1000, []Control{kv}, topicRecords("t", 0, 1)); err != nil {
		t.Fatal(err)
	}
	if err := l.Compact(8); err == nil {
		t.Fatal("compacted past the snapshot")
	}
	if err := l.Compact(6); err != nil {
		t.Fatal(err)
	}
	check := func(l *Log) {
		t.Helper()
		if l.LatestSnapshot() != id || l.StartOffset() != 6 || l.EndOffset() != 10 {
			t.Fatalf("snapshot %v, log [%d, %d)", l.LatestSnapshot(), l.StartOffset(), l.EndOffset())
		}
		var bases []int64
		err := l.ReadRaw(6, func(p []byte) error {
			bases = append(bases, int64(p[7]))
			return nil
		})
		if err != nil || !reflect.DeepEqual(bases, []int64{6, 8}) {
			t.Fatalf("batches after the snapshot at %v: %v", bases, err)
		}
	}
	check(l)
	l.Close()
	l = openQuorum(t, dir)
	defer l.Close()
	// The segment holding 0-5 is still there (it holds 6-9 too); the log
	// reopens at its start, below the snapshot.
	if l.StartOffset() != 0 {
		t.Fatalf("reopened at %d", l.StartOffset())
	}
	l.store.DeleteRecords(6)
	check(l)
	data, err := l.ReadSnapshot(id)
	if err != nil {
		t.Fatal(err)
	}
	if cs, err := HeaderControls(data); err != nil || !bytes.Equal(cs[0].(KRaftVoters).Quorum, []byte("pos")) {
		t.Fatalf("header %+v %v", cs, err)
	}
}

func TestInstallSnapshot(t *testing.T) {
	leader := openQuorum(t, t.TempDir())
	for i := range 4 {
		appendAt(t, leader, 1, topicRecords("t", byte(i), 1))
	}
	id := SnapshotID{EndOffset: 8, Epoch: 1}
	if err := leader.SnapshotAt(id, 1, nil, topicRecords("t", 0, 1)); err != nil {
		t.Fatal(err)
	}
	data, err := leader.ReadSnapshot(id)
	leader.Close()
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	f := openQuorum(t, dir)
	appendAt(t, f, 1, topicRecords("x", 9, 3)) // a diverging log, replaced
	if err := f.InstallSnapshot(id, data[:len(data)-1]); err == nil {
		t.Fatal("installed a torn snapshot")
	}
	if err := f.InstallSnapshot(id, data); err != nil {
		t.Fatal(err)
	}
	if f.StartOffset() != 8 || f.EndOffset() != 8 || f.LatestSnapshot() != id {
		t.Fatalf("after the install: log [%d, %d), snapshot %v", f.StartOffset(), f.EndOffset(), f.LatestSnapshot())
	}
	appendAt(t, f, 2, topicRecords("y", 3, 1))
	// A crash between emptying the log for the next install and writing
	// its snapshot: the log is empty past the newest snapshot.
	if err := f.store.TruncateFullyAndStartAt(20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	f = openQuorum(t, dir)
	defer f.Close()
	if f.StartOffset() != 8 || f.EndOffset() != 8 || f.LatestSnapshot() != id {
		t.Fatalf("after an interrupted install: log [%d, %d), snapshot %v", f.StartOffset(), f.EndOffset(),
			f.LatestSnapshot())
	}
}
