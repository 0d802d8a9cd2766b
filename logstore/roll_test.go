package logstore

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/weirmq/weir/logstore/smallfs"
)

// A roll that cannot make the new segment's files (no inode left for its
// .index) refuses the append with ErrNoSpace and leaves nothing behind:
// the appends that still fit go on in the old segment, and a restart finds
// the same log end (an orphan empty segment would have moved it back).
func TestRollWithoutInodesLeavesNoSegment(t *testing.T) {
	mnt := smallfs.MountTmpfs(t, 16<<20, 64)
	dir := filepath.Join(mnt, "t-0")
	cfg := testConfig(64 << 10)
	l := openTestLog(t, dir, cfg, Options{}, OpenState{})
	t.Cleanup(func() { l.Close() })
	var acked []written
	add := func(sp batchSpec) error {
		b := makeBatch(sp)
		res, err := l.Append(append([]byte(nil), b...), 0)
		if err == nil {
			acked = append(acked, written{base: res.FirstOffset, bytes: b})
		}
		return err
	}
	for l.active().size.Load() < 58<<10 {
		if err := add(batchSpec{records: 2, valueSize: 1000, ts: 1000}); err != nil {
			t.Fatal(err)
		}
	}
	free := smallfs.UseInodes(t, mnt, 1) // room for the new .log, not its .index
	if err := add(batchSpec{records: 8, valueSize: 1000, ts: 2000}); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("append that must roll: %v, want ErrNoSpace", err)
	}
	if l.Err() != nil {
		t.Fatalf("the log failed: %v", l.Err())
	}
	for i := 0; i < 3; i++ {
		if err := add(batchSpec{records: 1, valueSize: 100, ts: 3000}); err != nil {
			t.Fatalf("small append into the old segment: %v", err)
		}
	}
	leo := l.LogEndOffset()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(segPath(dir, acked[len(acked)-1].base+1, logSuffix)); err == nil {
		t.Fatal("a segment file of the failed roll is on disk")
	}
	free()
	l = openTestLog(t, dir, cfg, Options{}, OpenState{Clean: true, RecoveryPoint: leo, LogStartOffset: -1})
	if l.LogEndOffset() != leo {
		t.Fatalf("log end %d after a clean restart, was %d", l.LogEndOffset(), leo)
	}
	checkBatches(t, l, acked)
	if err := add(batchSpec{records: 8, valueSize: 1000, ts: 4000}); err != nil || acked[len(acked)-1].base != leo {
		t.Fatalf("append after the restart: %v at %d, want %d", err, acked[len(acked)-1].base, leo)
	}
}

// A roll whose seal fails (the old index cannot be written) fails the log
// but removes the new segment: after a restart the old segment is the last
// one again, rescanned rather than trusted, and every batch reads back.
func TestSealFailureRemovesNewSegment(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(1 << 20)
	l := openTestLog(t, dir, cfg, Options{}, OpenState{})
	var acked []written
	for i := 0; i < 4; i++ {
		b := makeBatch(batchSpec{records: 2, valueSize: 100, ts: 1000})
		res, err := l.Append(append([]byte(nil), b...), 0)
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, written{base: res.FirstOffset, bytes: b})
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	leo := l.LogEndOffset()
	idx := segPath(dir, 0, indexSuffix)
	if err := os.Remove(idx); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(idx, 0o755); err != nil { // writing the index fails
		t.Fatal(err)
	}
	if err := l.Roll(); err == nil {
		t.Fatal("roll succeeded with an unwritable index")
	}
	rp := l.RecoveryPoint()
	l.Close()
	if _, err := os.Stat(segPath(dir, leo, logSuffix)); err == nil {
		t.Fatal("the new segment of the failed roll is on disk")
	}
	if err := os.Remove(idx); err != nil {
		t.Fatal(err)
	}
	l = openTestLog(t, dir, cfg, Options{}, OpenState{RecoveryPoint: rp, LogStartOffset: -1})
	defer l.Close()
	if l.LogEndOffset() != leo {
		t.Fatalf("log end %d after the restart, want %d", l.LogEndOffset(), leo)
	}
	checkBatches(t, l, acked)
}
