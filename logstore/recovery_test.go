package logstore

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fillLog appends n single-batch appends and returns each batch's position
// in its segment file, base offset and bytes.
type written struct {
	seg   int64
	pos   int64
	base  int64
	bytes []byte
}

func fillLog(t *testing.T, l *Log, n int) []written {
	t.Helper()
	var out []written
	for i := 0; i < n; i++ {
		b := makeBatch(batchSpec{records: 1 + i%5, valueSize: 40 + i%90, ts: int64(1000 + i), fill: byte(i)})
		seg := l.active()
		pos := seg.size.Load()
		res, err := l.Append(b, 0)
		if err != nil {
			t.Fatal(err)
		}
		if seg != l.active() && res.FirstOffset == l.active().base {
			seg, pos = l.active(), 0
		}
		out = append(out, written{seg.base, pos, res.FirstOffset, b})
	}
	return out
}

func checkReadable(t *testing.T, l *Log, ws []written) {
	t.Helper()
	for _, w := range ws {
		s, err := l.Read(w.base, 1, l.LogEndOffset())
		if err != nil {
			t.Fatalf("read %d: %v", w.base, err)
		}
		if got := readSlice(t, s); !bytes.Equal(got, w.bytes) {
			t.Fatalf("read %d: %d bytes differ from the %d written", w.base, len(got), len(w.bytes))
		}
	}
}

func segPath(dir string, base int64, suffix string) string {
	return filepath.Join(dir, segmentName(base, suffix))
}

// TestRecoveryTornTail damages the tail of the active segment in the ways a
// crash can (a short file, a garbled batch, half a header, garbage after the
// end) and checks recovery cuts exactly there, says so, and zeroes the rest.
func TestRecoveryTornTail(t *testing.T) {
	damages := map[string]func(t *testing.T, path string, last written){
		"file cut inside the last batch": func(t *testing.T, path string, last written) {
			if err := os.Truncate(path, last.pos+int64(len(last.bytes))/2); err != nil {
				t.Fatal(err)
			}
		},
		"last batch garbled": func(t *testing.T, path string, last written) {
			writeAt(t, path, last.pos+int64(len(last.bytes))-3, []byte{0xde, 0xad})
		},
		"half a header": func(t *testing.T, path string, last written) {
			if err := os.Truncate(path, last.pos+7); err != nil {
				t.Fatal(err)
			}
		},
		"length runs past the file": func(t *testing.T, path string, last written) {
			writeAt(t, path, last.pos+offLength, []byte{0, 0x10, 0, 0})
		},
	}
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			l := openTestLog(t, dir, testConfig(1<<20), Options{}, OpenState{})
			ws := fillLog(t, l, 30)
			l.abandon()
			last := ws[len(ws)-1]
			path := segPath(dir, last.seg, logSuffix)
			damage(t, path, last)
			var logs logCapture
			l = openTestLog(t, dir, testConfig(1<<20), Options{Logger: logs.logger()}, OpenState{})
			defer l.Close()
			if l.LogEndOffset() != last.base {
				t.Fatalf("log end %d after recovery, want %d (the torn batch's base)", l.LogEndOffset(), last.base)
			}
			checkReadable(t, l, ws[:len(ws)-1])
			if !strings.Contains(logs.String(), "logstore: recovery") ||
				!strings.Contains(logs.String(), "position="+strconv.FormatInt(last.pos, 10)) {
				t.Fatalf("recovery did not log the cut at %d:\n%s", last.pos, logs.String())
			}
			tail := make([]byte, len(last.bytes))
			n, err := l.active().log.ReadAt(tail, last.pos)
			if err != nil && err != io.EOF {
				t.Fatal(err)
			}
			if !bytes.Equal(tail[:n], make([]byte, n)) {
				t.Fatalf("bytes past the cut are not zero")
			}
			// The log goes on from the cut.
			res, err := l.Append(makeBatch(batchSpec{records: 2, valueSize: 9}), 0)
			if err != nil || res.FirstOffset != last.base {
				t.Fatalf("append after recovery: %+v %v", res, err)
			}
		})
	}
}

func writeAt(t *testing.T, path string, off int64, p []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(p, off); err != nil {
		t.Fatal(err)
	}
}

// TestRecoveryCorruptMiddle flips a byte in the middle of the last segment:
// recovery keeps the batches before it and cuts the rest; in an earlier
// segment past the recovery point it also deletes every later segment.
func TestRecoveryCorruptMiddle(t *testing.T) {
	t.Run("last segment", func(t *testing.T) {
		dir := t.TempDir()
		l := openTestLog(t, dir, testConfig(1<<20), Options{}, OpenState{})
		ws := fillLog(t, l, 40)
		l.abandon()
		bad := ws[20]
		writeAt(t, segPath(dir, bad.seg, logSuffix), bad.pos+BatchHeaderSize+2, []byte{0xff})
		l = openTestLog(t, dir, testConfig(1<<20), Options{}, OpenState{})
		defer l.Close()
		if l.LogEndOffset() != bad.base {
			t.Fatalf("log end %d, want %d", l.LogEndOffset(), bad.base)
		}
		checkReadable(t, l, ws[:20])
	})
	t.Run("earlier segment", func(t *testing.T) {
		dir := t.TempDir()
		l := openTestLog(t, dir, testConfig(2048), Options{}, OpenState{})
		ws := fillLog(t, l, 60)
		l.abandon()
		segs := map[int64]bool{}
		for _, w := range ws {
			segs[w.seg] = true
		}
		if len(segs) < 4 {
			t.Fatalf("only %d segments", len(segs))
		}
		var bad written
		for _, w := range ws[1:] {
			if w.seg != ws[0].seg && w.pos > 0 {
				bad = w // the second batch of the second segment
				break
			}
		}
		writeAt(t, segPath(dir, bad.seg, logSuffix), bad.pos+BatchHeaderSize+1, []byte{0xee})
		var logs logCapture
		l = openTestLog(t, dir, testConfig(2048), Options{Logger: logs.logger()}, OpenState{RecoveryPoint: bad.seg})
		defer l.Close()
		if l.LogEndOffset() != bad.base || l.active().base != bad.seg {
			t.Fatalf("log end %d in segment %d, want %d in %d", l.LogEndOffset(), l.active().base, bad.base, bad.seg)
		}
		var kept []written
		for _, w := range ws {
			if w.base < bad.base {
				kept = append(kept, w)
			}
		}
		checkReadable(t, l, kept)
		if !strings.Contains(logs.String(), "deleting segment after a damaged one") {
			t.Fatalf("later segments not reported deleted:\n%s", logs.String())
		}
		for _, w := range ws {
			if w.seg > bad.seg {
				if _, err := os.Stat(segPath(dir, w.seg, logSuffix)); !os.IsNotExist(err) {
					t.Fatalf("segment %d still there: %v", w.seg, err)
				}
			}
		}
	})
}

// TestRecoveryIndexes damages or removes index files of a closed log: open
// rebuilds them from the log, byte for byte as they were, and reads work.
func TestRecoveryIndexes(t *testing.T) {
	damages := map[string]func(t *testing.T, dir string, base int64){
		"offset index missing": func(t *testing.T, dir string, base int64) {
			os.Remove(segPath(dir, base, indexSuffix))
		},
		"both indexes missing": func(t *testing.T, dir string, base int64) {
			os.Remove(segPath(dir, base, indexSuffix))
			os.Remove(segPath(dir, base, timeIndexSuffix))
		},
		"offset index entries swapped": func(t *testing.T, dir string, base int64) {
			p := segPath(dir, base, indexSuffix)
			b, _ := os.ReadFile(p)
			copy(b[0:8], b[8:16])
			os.WriteFile(p, b, 0o644)
		},
		"offset index points past the log": func(t *testing.T, dir string, base int64) {
			writeAt(t, segPath(dir, base, indexSuffix), 4, []byte{0x7f, 0, 0, 0})
		},
		"offset index torn entry": func(t *testing.T, dir string, base int64) {
			p := segPath(dir, base, indexSuffix)
			os.Truncate(p, fileSize(t, p)-3)
		},
		"time index garbage": func(t *testing.T, dir string, base int64) {
			writeAt(t, segPath(dir, base, timeIndexSuffix), 0, bytes.Repeat([]byte{0x55}, 24))
		},
		"zeroed offset index": func(t *testing.T, dir string, base int64) {
			p := segPath(dir, base, indexSuffix)
			os.WriteFile(p, make([]byte, fileSize(t, p)), 0o644)
		},
	}
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(8192)
			cfg.IndexIntervalBytes = 100
			l := openTestLog(t, dir, cfg, Options{}, OpenState{})
			ws := fillLog(t, l, 80)
			first := l.segments()[0].base
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			wantIdx, _ := os.ReadFile(segPath(dir, first, indexSuffix))
			wantTidx, _ := os.ReadFile(segPath(dir, first, timeIndexSuffix))
			if len(wantIdx) < 16 || len(wantTidx) < 24 {
				t.Fatalf("indexes too small to damage: %d, %d bytes", len(wantIdx), len(wantTidx))
			}
			damage(t, dir, first)
			var logs logCapture
			l = openTestLog(t, dir, cfg, Options{Logger: logs.logger()}, OpenState{Clean: true, RecoveryPoint: 1 << 40})
			checkReadable(t, l, ws)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(logs.String(), "rebuilding segment indexes") {
				t.Fatalf("no rebuild logged:\n%s", logs.String())
			}
			gotIdx, _ := os.ReadFile(segPath(dir, first, indexSuffix))
			gotTidx, _ := os.ReadFile(segPath(dir, first, timeIndexSuffix))
			if !bytes.Equal(gotIdx, wantIdx) || !bytes.Equal(gotTidx, wantTidx) {
				t.Fatalf("rebuilt indexes differ: index %d vs %d bytes, time index %d vs %d bytes",
					len(gotIdx), len(wantIdx), len(gotTidx), len(wantTidx))
			}
		})
	}
}

// A clean close trims every file to its logical size; a clean open then
// needs no rescan, and the active segment reserves space again only when
// it is appended to.
func TestCleanCloseTrimsAndReopens(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(1 << 20)
	l := openTestLog(t, dir, cfg, Options{}, OpenState{})
	if got := fileSize(t, segPath(dir, 0, logSuffix)); got != 0 {
		t.Fatalf("new segment is %d bytes, want 0 (nothing reserved before an append)", got)
	}
	ws := fillLog(t, l, 50)
	if got := fileSize(t, segPath(dir, 0, logSuffix)); got <= l.Size() {
		t.Fatalf("active segment is %d bytes for %d appended: no space reserved ahead", got, l.Size())
	}
	size := l.Size()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, segPath(dir, 0, logSuffix)); got != size {
		t.Fatalf("closed segment is %d bytes, want %d", got, size)
	}
	if got := fileSize(t, segPath(dir, 0, indexSuffix)); got%offsetEntrySize != 0 || got == 0 || got >= cfg.SegmentIndexBytes {
		t.Fatalf("closed index is %d bytes", got)
	}
	var logs logCapture
	l = openTestLog(t, dir, cfg, Options{Logger: logs.logger()}, OpenState{Clean: true, RecoveryPoint: ws[len(ws)-1].base + 1})
	defer l.Close()
	if strings.Contains(logs.String(), "recovery") || strings.Contains(logs.String(), "rebuild") {
		t.Fatalf("clean open rescanned:\n%s", logs.String())
	}
	if l.LogEndOffset() != ws[len(ws)-1].base+int64(Batch(ws[len(ws)-1].bytes).LastOffsetDelta())+1 {
		t.Fatalf("log end %d", l.LogEndOffset())
	}
	checkReadable(t, l, ws)
	if got := fileSize(t, segPath(dir, 0, logSuffix)); got != size {
		t.Fatalf("reopened active segment is %d bytes, want its %d (no reservation before an append)", got, size)
	}
}
