package metalog

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openLog(t *testing.T, dir string) (*Log, []Record) {
	t.Helper()
	l, recs, err := Open(dir, Options{NodeID: 1, Logger: quiet(), SegmentBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	return l, recs
}

var bootstrap = []Record{FeatureLevelRecord{Name: MetadataVersionFeature, FeatureLevel: MetadataVersion}}

func topicRecords(name string, id byte, parts int) []Record {
	recs := []Record{TopicRecord{Name: name, ID: UUID{id}}}
	for p := range parts {
		recs = append(recs, PartitionRecord{TopicID: UUID{id}, Partition: int32(p), Replicas: []int32{1},
			ISR: []int32{1}, Leader: 1})
	}
	return recs
}

func concat(groups ...[]Record) []Record {
	var out []Record
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func mustAppend(t *testing.T, l *Log, recs []Record) {
	t.Helper()
	if _, err := l.Append(recs); err != nil {
		t.Fatal(err)
	}
}

// batches reads the whole log back.
func batches(t *testing.T, l *Log) []Batch {
	t.Helper()
	var out []Batch
	if err := l.ReadBatches(l.StartOffset(), func(b Batch) error { out = append(out, b); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLogReplay(t *testing.T) {
	dir := t.TempDir()
	l, recs := openLog(t, dir)
	if !reflect.DeepEqual(recs, bootstrap) || l.Epoch() != 1 {
		t.Fatalf("new log: epoch %d, replays %+v", l.Epoch(), recs)
	}
	a, b, rm := topicRecords("a", 1, 2), topicRecords("b", 2, 1), []Record{RemoveTopicRecord{ID: UUID{1}}}
	for _, recs := range [][]Record{a, b, rm} {
		mustAppend(t, l, recs)
	}
	l.Close()
	if _, err := os.Stat(filepath.Join(dir, "00000000000000000000.log")); err != nil {
		t.Fatal(err)
	}
	if pm, _ := os.ReadFile(filepath.Join(dir, "partition.metadata")); string(pm) != "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\n" {
		t.Errorf("partition.metadata %q", pm)
	}
	l, got := openLog(t, dir)
	defer l.Close()
	if want := concat(bootstrap, a, b, rm); !reflect.DeepEqual(got, want) {
		t.Fatalf("replayed\n%+v\nwant\n%+v", got, want)
	}
	// The log: each open's LeaderChange in its epoch, then one batch per change.
	bs := batches(t, l)
	lc := []Control{LeaderChange{LeaderID: 1, Voters: []Voter{{1}}, GrantingVoters: []Voter{{1}}}}
	want := []Batch{
		{BaseOffset: 0, LeaderEpoch: 1, Controls: lc},
		{BaseOffset: 1, LeaderEpoch: 1, Records: bootstrap},
		{BaseOffset: 2, LeaderEpoch: 1, Records: a},
		{BaseOffset: 5, LeaderEpoch: 1, Records: b},
		{BaseOffset: 7, LeaderEpoch: 1, Records: rm},
		{BaseOffset: 8, LeaderEpoch: 2, Controls: lc},
	}
	for i := range bs {
		bs[i].AppendTime = 0
	}
	if !reflect.DeepEqual(bs, want) || l.Epoch() != 2 || l.EndOffset() != 9 {
		t.Fatalf("batches (epoch %d, end %d):\n%+v\nwant\n%+v", l.Epoch(), l.EndOffset(), bs, want)
	}
}

// A crash mid-append leaves a torn batch: it is cut, the earlier batches
// stay, and appends go on after them. A flipped byte is cut the same way.
func TestLogTornTail(t *testing.T) {
	dir := t.TempDir()
	seg := filepath.Join(dir, "00000000000000000000.log")
	l, _ := openLog(t, dir)
	a := topicRecords("a", 1, 1)
	mustAppend(t, l, a)
	good := l.Size()
	mustAppend(t, l, topicRecords("b", 2, 1))
	end := l.Size()
	l.Close()
	for _, cut := range []int64{good + 3, end - 1} {
		if err := os.Truncate(seg, cut); err != nil {
			t.Fatal(err)
		}
		l, got := openLog(t, dir)
		if !reflect.DeepEqual(got, concat(bootstrap, a)) {
			t.Fatalf("cut at %d: replayed %+v", cut, got)
		}
		c := topicRecords("c", 3, 1)
		mustAppend(t, l, c)
		l.Close()
		l, got = openLog(t, dir)
		l.Close()
		if !reflect.DeepEqual(got, concat(bootstrap, a, c)) {
			t.Fatalf("after re-append: %+v", got)
		}
		os.Truncate(seg, good)
	}
	l, _ = openLog(t, dir)
	mustAppend(t, l, topicRecords("d", 4, 1))
	l.Close()
	data, _ := os.ReadFile(seg)
	data[len(data)-2] ^= 0xff
	os.WriteFile(seg, data, 0o644)
	l, got := openLog(t, dir)
	defer l.Close()
	if !reflect.DeepEqual(got, concat(bootstrap, a)) {
		t.Fatalf("corrupt tail: %+v", got)
	}
}

func TestLogSnapshot(t *testing.T) {
	dir := t.TempDir()
	l, _ := openLog(t, dir)
	state := append([]Record{}, bootstrap...)
	// Enough changes to fill several 64 KiB segments.
	for i := range 300 {
		recs := topicRecords("topic-with-a-long-name-"+string(rune('a'+i%26))+string(rune('a'+i/26)), byte(i), 20)
		mustAppend(t, l, recs)
		state = append(state, recs...)
	}
	segsBefore, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(segsBefore) < 3 {
		t.Fatalf("only %d segments", len(segsBefore))
	}
	end := l.EndOffset()
	if err := l.Snapshot(state); err != nil {
		t.Fatal(err)
	}
	id := SnapshotID{EndOffset: end, Epoch: 1}
	if l.LatestSnapshot() != id || l.StartOffset() != end {
		t.Fatalf("snapshot %+v, log start %d, want %+v", l.LatestSnapshot(), l.StartOffset(), id)
	}
	if _, err := os.Stat(filepath.Join(dir, id.FileName())); err != nil {
		t.Fatal(err)
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.log")); len(segs) != 1 ||
		filepath.Base(segs[0]) != filepathBase(end) {
		t.Fatalf("segments after the snapshot: %v", segs)
	}
	d := topicRecords("d", 255, 1)
	mustAppend(t, l, d)
	l.Close()

	l, got := openLog(t, dir)
	if !reflect.DeepEqual(got, concat(state, d)) {
		t.Fatalf("replayed %d records, want %d", len(got), len(state)+1)
	}
	if l.Epoch() != 2 {
		t.Errorf("epoch %d after the snapshot's 1", l.Epoch())
	}
	// A second snapshot replaces the first.
	first, _ := os.ReadFile(filepath.Join(dir, id.FileName()))
	mustAppend(t, l, []Record{NoOpRecord{}})
	if err := l.Snapshot(concat(state, d, []Record{NoOpRecord{}})); err != nil {
		t.Fatal(err)
	}
	l.Close()
	snaps, _ := filepath.Glob(filepath.Join(dir, "*.checkpoint"))
	if len(snaps) != 1 || filepath.Base(snaps[0]) == id.FileName() {
		t.Fatalf("snapshots %v", snaps)
	}
	// A crash before the older snapshot was deleted: the newest is used.
	os.WriteFile(filepath.Join(dir, id.FileName()), first, 0o644)
	l, got = openLog(t, dir)
	l.Close()
	if !reflect.DeepEqual(got, concat(state, d, []Record{NoOpRecord{}})) {
		t.Fatalf("with two snapshots: %d records", len(got))
	}
	os.Remove(filepath.Join(dir, id.FileName()))
	// A damaged snapshot cannot be used, and the log no longer holds what
	// it covered: open refuses rather than lose the topics.
	data, _ := os.ReadFile(snaps[0])
	data[len(data)/2] ^= 0xff
	os.WriteFile(snaps[0], data, 0o644)
	if _, _, err := Open(dir, Options{NodeID: 1, Logger: quiet(), SegmentBytes: 64 << 10}); err == nil {
		t.Fatal("opened with a damaged snapshot and no log to replace it")
	}
}

func filepathBase(offset int64) string { return SnapshotID{EndOffset: offset}.FileName()[:20] + ".log" }

// A snapshot file holds header, records and footer; it decodes only whole.
func TestSnapshotFile(t *testing.T) {
	var recs []Record
	for i := range 2000 {
		recs = append(recs, ConfigRecord{ResourceType: ResourceBroker, Name: "k", Value: sp(string(rune('a' + i%26)))})
	}
	data := EncodeSnapshot(SnapshotID{EndOffset: 10, Epoch: 3}, 77, time.Now().UnixMilli(), recs)
	got, h, err := DecodeSnapshot(data)
	if err != nil || !reflect.DeepEqual(got, recs) || h.LastContainedLogTimestamp != 77 {
		t.Fatalf("decoded %d records, header %+v, %v", len(got), h, err)
	}
	for _, cut := range []int{0, 10, len(data) / 2, len(data) - 1} {
		if _, _, err := DecodeSnapshot(data[:cut]); err == nil {
			t.Errorf("%d of %d bytes decoded", cut, len(data))
		}
	}
	if _, _, err := DecodeSnapshot(append(data, data...)); err == nil {
		t.Errorf("bytes after the footer were accepted")
	}
	if id, ok := ParseSnapshotName("/x/00000000000000000010-0000000003.checkpoint"); !ok || id != (SnapshotID{10, 3}) {
		t.Errorf("parse name: %+v %v", id, ok)
	}
	if _, ok := ParseSnapshotName("00000000000000000010-0000000003.checkpoint.part"); ok {
		t.Errorf("a partial snapshot parsed")
	}
}

// legacyWant is what testdata/legacy holds: written by the old JSON-frame
// code (a snapshot at change 3, then changes 4-6 in metadata.records).
func legacyWant() []Record {
	id := func(b byte) UUID { return UUID{0xa0, b, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, b} }
	part := func(b byte, p int32) Record {
		return PartitionRecord{TopicID: id(b), Partition: p, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}
	}
	return []Record{
		TopicRecord{Name: "gone", ID: id(2)}, part(2, 0),
		TopicRecord{Name: "orders", ID: id(1)},
		ConfigRecord{ResourceType: ResourceTopic, ResourceName: "orders", Name: "retention.ms", Value: sp("3600000")},
		part(1, 0), part(1, 1),
		ConfigRecord{ResourceType: ResourceBroker, ResourceName: "", Name: "log.retention.ms", Value: sp("86400000")},
		RemoveTopicRecord{ID: id(2)},
		TopicRecord{Name: "events", ID: id(3)},
		ConfigRecord{ResourceType: ResourceTopic, ResourceName: "events", Name: "cleanup.policy", Value: sp("compact")},
		part(3, 0),
		ConfigRecord{ResourceType: ResourceTopic, ResourceName: "orders", Name: "retention.ms"},
	}
}

func copyLegacy(t *testing.T, dir string, tail []byte) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	for _, name := range []string{legacySnapshotFile, legacyLogFile} {
		data, err := os.ReadFile(filepath.Join("testdata", "legacy", name))
		if err != nil {
			t.Fatal(err)
		}
		if name == legacyLogFile {
			data = append(data, tail...)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMigrateLegacy(t *testing.T) {
	dir := t.TempDir()
	// A torn frame at the end, as a crash mid-append left it.
	copyLegacy(t, dir, []byte{0, 0, 0, 90, 1, 2, 3, 4, '{'})
	want := concat(bootstrap, legacyWant())
	l, got := openLog(t, dir)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("migrated\n%+v\nwant\n%+v", got, want)
	}
	for _, name := range legacyFiles {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", name, err)
		}
	}
	// One batch per old change (the snapshot's records in one).
	if n := len(batches(t, l)); n != 6 {
		t.Errorf("%d batches, want LeaderChange, metadata.version, snapshot, 3 changes", n)
	}
	l.Close()
	l, got = openLog(t, dir)
	l.Close()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reopened\n%+v", got)
	}
	// A crash after the new batches were written but before the old files
	// were removed: the migration is done again from the old files, once.
	copyLegacy(t, dir, nil)
	l, got = openLog(t, dir)
	l.Close()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("migrated twice\n%+v", got)
	}
	// A corrupt old snapshot is an error, not an empty cluster.
	copyLegacy(t, dir, nil)
	os.WriteFile(filepath.Join(dir, legacySnapshotFile), []byte("garbage"), 0o644)
	if _, _, err := Open(dir, Options{NodeID: 1, Logger: quiet()}); err == nil {
		t.Fatal("migrated a corrupt snapshot")
	}
}

// A follower's path: truncate what diverged, append the leader's batches
// as they are (offsets and epochs kept), read them back, replay them.
func TestLogAppendBatches(t *testing.T) {
	leaderDir := t.TempDir()
	leader, _ := openLog(t, leaderDir)
	a, b := topicRecords("a", 1, 2), topicRecords("b", 2, 1)
	mustAppend(t, leader, a)
	mustAppend(t, leader, b)
	want := batches(t, leader)
	leader.Close()
	raw, err := os.ReadFile(filepath.Join(leaderDir, "00000000000000000000.log"))
	if err != nil {
		t.Fatal(err)
	}

	f, _ := openLog(t, t.TempDir())
	if err := f.AppendBatches(raw); err == nil {
		t.Fatal("appended batches starting at 0 after the log end")
	}
	if err := f.TruncateTo(0); err != nil || f.EndOffset() != 0 {
		t.Fatalf("truncate: %v, end %d", err, f.EndOffset())
	}
	if err := f.AppendBatches(raw[:len(raw)-1]); err == nil {
		t.Fatal("appended a torn batch")
	}
	if err := f.AppendBatches(raw); err != nil {
		t.Fatal(err)
	}
	if got := batches(t, f); !reflect.DeepEqual(got, want) {
		t.Fatalf("follower's batches\n%+v\nwant\n%+v", got, want)
	}
	dir := f.Dir()
	f.Close()
	f, recs := openLog(t, dir)
	defer f.Close()
	if !reflect.DeepEqual(recs, concat(bootstrap, a, b)) || f.Epoch() != 2 {
		t.Fatalf("replayed %+v in epoch %d", recs, f.Epoch())
	}
}
