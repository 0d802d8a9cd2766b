package metadata

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openLog(t *testing.T, dir string) (*Log, []Record) {
	t.Helper()
	l, recs, err := OpenLog(dir, quiet())
	if err != nil {
		t.Fatal(err)
	}
	return l, recs
}

func TestLogReplay(t *testing.T) {
	dir := t.TempDir()
	l, recs := openLog(t, dir)
	if len(recs) != 0 {
		t.Fatalf("new log replays %v", recs)
	}
	a, b := createRecords("a", 1, 2, "retention.ms", "5"), createRecords("b", 2, 1)
	for _, recs := range [][]Record{a, b, {RemoveTopicRecord{ID: [16]byte{1}}}} {
		if err := l.Append(recs); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	l, got := openLog(t, dir)
	defer l.Close()
	want := append(append(append([]Record{}, a...), b...), RemoveTopicRecord{ID: [16]byte{1}})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("replayed\n%+v\nwant\n%+v", got, want)
	}
}

// A crash mid-append leaves a torn frame: it is cut, the earlier batches
// stay, and appends go on after them.
func TestLogTornTail(t *testing.T) {
	dir := t.TempDir()
	l, _ := openLog(t, dir)
	a := createRecords("a", 1, 1)
	l.Append(a)
	good := l.Size()
	l.Append(createRecords("b", 2, 1))
	l.Close()
	path := filepath.Join(dir, logFile)
	for _, cut := range []int64{good + 3, l.Size() - 1} {
		os.Truncate(path, cut)
		l, got := openLog(t, dir)
		if !reflect.DeepEqual(got, a) || l.Size() != good {
			t.Fatalf("cut at %d: replayed %+v, size %d", cut, got, l.Size())
		}
		if fi, _ := os.Stat(path); fi.Size() != good {
			t.Fatalf("file not cut: %d", fi.Size())
		}
		c := createRecords("c", 3, 1)
		l.Append(c)
		l.Close()
		l, got = openLog(t, dir)
		if !reflect.DeepEqual(got, append(append([]Record{}, a...), c...)) {
			t.Fatalf("after re-append: %+v", got)
		}
		l.Close()
		os.Truncate(path, good)
	}
	// A flipped byte in the last frame is corruption: cut too.
	l, _ = openLog(t, dir)
	l.Append(createRecords("d", 4, 1))
	l.Close()
	data, _ := os.ReadFile(path)
	data[len(data)-2] ^= 0xff
	os.WriteFile(path, data, 0o644)
	l, got := openLog(t, dir)
	l.Close()
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("corrupt tail: %+v", got)
	}
}

func TestLogSnapshot(t *testing.T) {
	dir := t.TempDir()
	l, _ := openLog(t, dir)
	im := New("c", 1, 1, nil, nil)
	for i, name := range []string{"a", "b", "c"} {
		recs := createRecords(name, byte(i+1), 2)
		l.Append(recs)
		im, _ = im.Apply(recs...)
	}
	before, _ := os.ReadFile(filepath.Join(dir, logFile))
	if err := l.Snapshot(im.Records()); err != nil {
		t.Fatal(err)
	}
	if l.Size() != 0 {
		t.Fatalf("log not emptied: %d", l.Size())
	}
	d := createRecords("d", 4, 1)
	l.Append(d)
	l.Close()
	im, _ = im.Apply(d...)
	check := func(what string) {
		l, got := openLog(t, dir)
		l.Close()
		again, err := New("c", 1, 1, nil, nil).Apply(got...)
		if err != nil || !reflect.DeepEqual(again.Records(), im.Records()) {
			t.Fatalf("%s: %v\n%+v", what, err, got)
		}
	}
	check("after snapshot")
	// A crash after the snapshot's rename but before the log was emptied:
	// the old batches are still in the log, and are skipped.
	after, _ := os.ReadFile(filepath.Join(dir, logFile))
	os.WriteFile(filepath.Join(dir, logFile), append(before, after...), 0o644)
	check("stale batches before the snapshot's")
	// A corrupt snapshot refuses to open.
	os.WriteFile(filepath.Join(dir, snapshotFile), []byte("garbage"), 0o644)
	if _, _, err := OpenLog(dir, quiet()); err == nil {
		t.Fatal("opened with a corrupt snapshot")
	}
}
