package logstore

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/weirmq/weir/logstore/smallfs"
)

// diskBytes is the disk blocks the files in dir hold (what du counts).
func diskBytes(t testing.TB, dir string) int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(dir, e.Name()), &st); err != nil {
			t.Fatal(err)
		}
		n += st.Blocks * 512
	}
	return n
}

// An idle partition holds no blocks; one written once holds at most the
// first step beyond its bytes.
func TestIdleLogHoldsNoDisk(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig() // 1 GiB segments, 10 MiB indexes, 64 MiB steps
	l := openTestLog(t, dir, cfg, Options{}, OpenState{})
	defer l.Close()
	if got := diskBytes(t, dir); got > 16<<10 {
		t.Fatalf("a new log holds %d bytes of disk", got)
	}
	if _, err := l.Append(makeBatch(batchSpec{records: 3, valueSize: 100}), 0); err != nil {
		t.Fatal(err)
	}
	if got := diskBytes(t, dir); got > minPreallocateStep+16<<10 {
		t.Fatalf("a log with one batch holds %d bytes of disk, want at most the %d-byte first step", got, minPreallocateStep)
	}
}

// The step doubles while each fills within a second, up to the cap, and
// starts over after a pause; the index files keep their lengths.
func TestReservationSteps(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	cfg := testConfig(64 << 20)
	cfg.SegmentIndexBytes = 1 << 20
	cfg.PreallocateStepBytes = 8 << 20
	cfg.MaxMessageBytes = 2 << 20
	l := openTestLog(t, dir, cfg, Options{Now: clock.Now}, OpenState{})
	defer l.Close()
	path := segPath(dir, 0, logSuffix)
	batch := makeBatch(batchSpec{records: 1, valueSize: 16<<10 - 100})
	var lengths []int64
	for l.Size() < 24<<20 {
		if _, err := l.Append(batch, 0); err != nil {
			t.Fatal(err)
		}
		if n := fileSize(t, path); len(lengths) == 0 || n != lengths[len(lengths)-1] {
			lengths = append(lengths, n)
		}
		if n := fileSize(t, path); n < l.Size() {
			t.Fatalf("file is %d bytes, shorter than the %d appended", n, l.Size())
		}
	}
	var want []int64 // steps of 64 KiB, 128 KiB, ... up to the 8 MiB cap
	for n, step := int64(0), int64(minPreallocateStep); n < 24<<20; step = min(2*step, 8<<20) {
		n += step
		want = append(want, n)
	}
	if len(lengths) != len(want) {
		t.Fatalf("file lengths %v, want %v", lengths, want)
	}
	for i := range want {
		if lengths[i] != want[i] {
			t.Fatalf("file lengths %v, want %v", lengths, want)
		}
	}
	if n := fileSize(t, segPath(dir, 0, indexSuffix)); n != 0 {
		t.Fatalf("index file is %d bytes before the roll; reservations must keep its length", n)
	}
	// A pause: the next step is the first one again.
	for fileSize(t, path)-l.Size() >= int64(len(batch)) {
		if _, err := l.Append(batch, 0); err != nil {
			t.Fatal(err)
		}
	}
	clock.Add(2 * time.Second)
	before := fileSize(t, path)
	if _, err := l.Append(batch, 0); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, path) - before; got != minPreallocateStep {
		t.Fatalf("step after a pause is %d, want %d", got, minPreallocateStep)
	}
}

// preallocate=true reserves the whole segment at its first append, and
// segment.preallocate.step.bytes=0 reserves nothing.
func TestPreallocateModes(t *testing.T) {
	batch := makeBatch(batchSpec{records: 2, valueSize: 500})
	for _, tc := range []struct {
		name string
		set  func(c *Config)
		want func(size int64) int64
	}{
		{"preallocate", func(c *Config) { c.Preallocate = true }, func(int64) int64 { return 4 << 20 }},
		{"no steps", func(c *Config) { c.PreallocateStepBytes = 0 }, func(size int64) int64 { return size }},
		{"small cap", func(c *Config) { c.PreallocateStepBytes = 64 << 10 }, func(int64) int64 { return 64 << 10 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(4 << 20)
			tc.set(&cfg)
			l := openTestLog(t, dir, cfg, Options{}, OpenState{})
			defer l.Close()
			if _, err := l.Append(batch, 0); err != nil {
				t.Fatal(err)
			}
			if got, want := fileSize(t, segPath(dir, 0, logSuffix)), tc.want(l.Size()); got != want {
				t.Fatalf("segment is %d bytes after one append, want %d", got, want)
			}
		})
	}
}

// A full disk refuses appends with ErrNoSpace, keeps every acknowledged
// batch readable (and across a crash), and takes appends again once space
// is free, with no gap in the offsets.
func TestDiskFullRecovers(t *testing.T) {
	mnt, _ := smallfs.Mount(t, 16<<20)
	dir := filepath.Join(mnt, "t-0")
	cfg := testConfig(2 << 20)
	cfg.MaxMessageBytes = 1 << 20
	l := openTestLog(t, dir, cfg, Options{}, OpenState{})
	t.Cleanup(func() { l.Close() }) // before the unmount
	// Something to free later.
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	var acked []written
	var full error
	for i := 0; i < 200 && full == nil; i++ {
		b := makeBatch(batchSpec{records: 4, valueSize: 16 << 10, fill: byte(i)})
		res, err := l.Append(append([]byte(nil), b...), 0)
		if err != nil {
			full = err
			break
		}
		acked = append(acked, written{base: res.FirstOffset, bytes: b})
	}
	if full == nil {
		t.Fatal("200 appends of 64 KiB fit a 16 MiB file system")
	}
	if !errors.Is(full, ErrNoSpace) || !errors.Is(full, ErrStorage) {
		t.Fatalf("append on a full disk: %v, want ErrNoSpace", full)
	}
	if l.Err() != nil {
		t.Fatalf("a full disk failed the log: %v", l.Err())
	}
	// While full, an append is refused and moves nothing, or (where the
	// refused one freed a partial step) is acknowledged.
	for i := 0; i < 5; i++ {
		leo := l.LogEndOffset()
		b := makeBatch(batchSpec{records: 4, valueSize: 16 << 10, fill: byte(50 + i)})
		res, err := l.Append(append([]byte(nil), b...), 0)
		switch {
		case err == nil:
			acked = append(acked, written{base: res.FirstOffset, bytes: b})
		case !errors.Is(err, ErrNoSpace):
			t.Fatalf("append on a full disk: %v", err)
		case l.LogEndOffset() != leo:
			t.Fatalf("log end moved from %d to %d on a refused append", leo, l.LogEndOffset())
		}
	}
	checkBatches(t, l, acked)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		b := makeBatch(batchSpec{records: 4, valueSize: 16 << 10, fill: byte(100 + i)})
		res, err := l.Append(append([]byte(nil), b...), 0)
		if err != nil {
			t.Fatalf("append after space was freed: %v", err)
		}
		if want := acked[len(acked)-1].base + 4; res.FirstOffset != want {
			t.Fatalf("append after space was freed got offset %d, want %d", res.FirstOffset, want)
		}
		acked = append(acked, written{base: res.FirstOffset, bytes: b})
	}
	checkBatches(t, l, acked)
	l.abandon() // a crash: recovery must find every acknowledged batch
	l = openTestLog(t, dir, cfg, Options{}, OpenState{})
	checkBatches(t, l, acked)
}

// checkBatches reads each batch back at its offset and compares the records.
func checkBatches(t *testing.T, l *Log, ws []written) {
	t.Helper()
	for _, w := range ws {
		s, err := l.Read(w.base, 1, l.LogEndOffset())
		if err != nil {
			t.Fatalf("read %d: %v", w.base, err)
		}
		got := readSlice(t, s)
		if len(got) < len(w.bytes) || string(got[offRecordCount:len(w.bytes)]) != string(w.bytes[offRecordCount:]) {
			t.Fatalf("batch at %d reads back different bytes", w.base)
		}
	}
}

// A partition left idle gives back what it reserved at the next
// maintenance, and reserves again when written.
func TestIdleReleasesReservation(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	cfg := testConfig(64 << 20)
	cfg.MaxMessageBytes = 2 << 20
	l := openTestLog(t, dir, cfg, Options{Now: clock.Now}, OpenState{})
	defer l.Close()
	path := segPath(dir, 0, logSuffix)
	batch := makeBatch(batchSpec{records: 1, valueSize: 16<<10 - 100})
	for i := 0; i < 200; i++ {
		if _, err := l.Append(batch, 0); err != nil {
			t.Fatal(err)
		}
	}
	if fileSize(t, path) <= l.Size() {
		t.Fatal("nothing reserved while written")
	}
	if _, err := l.Maintain(clock.Now().Add(10 * time.Second)); err != nil || fileSize(t, path) <= l.Size() {
		t.Fatalf("reservation given back after 10 s (%v)", err)
	}
	clock.Add(2 * time.Minute)
	if _, err := l.Maintain(clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, path); got != l.Size() {
		t.Fatalf("idle segment is %d bytes for %d written", got, l.Size())
	}
	if got := diskBytes(t, dir); got > l.Size()+64<<10 {
		t.Fatalf("idle log holds %d bytes of disk for %d written", got, l.Size())
	}
	res, err := l.Append(batch, 0)
	if err != nil || res.FirstOffset != 200 {
		t.Fatalf("append after the release: %+v %v", res, err)
	}
	if fileSize(t, path) <= l.Size() {
		t.Fatal("nothing reserved after the release")
	}
	checkBatches(t, l, []written{{base: 199, bytes: batch}, {base: 200, bytes: batch}})
}
