package logstore

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"
)

// batchSpec describes a test batch: records of valueSize bytes, record i
// stamped ts+i, values filled from fill.
type batchSpec struct {
	records   int
	valueSize int
	ts        int64
	fill      byte
}

// makeBatch encodes an uncompressed magic-2 batch at base offset 0, with a
// valid CRC, by hand (the format test checks this against franz-go's kmsg).
func makeBatch(sp batchSpec) []byte {
	var recs []byte
	for i := 0; i < sp.records; i++ {
		var r []byte
		r = append(r, 0)                                // attributes
		r = binary.AppendVarint(r, int64(i))            // timestamp delta
		r = binary.AppendVarint(r, int64(i))            // offset delta
		r = binary.AppendVarint(r, -1)                  // null key
		r = binary.AppendVarint(r, int64(sp.valueSize)) // value
		r = append(r, bytes.Repeat([]byte{sp.fill + byte(i)}, sp.valueSize)...)
		r = binary.AppendVarint(r, 0) // headers
		recs = binary.AppendVarint(recs, int64(len(r)))
		recs = append(recs, r...)
	}
	b := make([]byte, BatchHeaderSize, BatchHeaderSize+len(recs))
	binary.BigEndian.PutUint64(b[offBaseOffset:], 0)
	binary.BigEndian.PutUint32(b[offLength:], uint32(BatchHeaderSize-logOverhead+len(recs)))
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], 0xffffffff)
	b[offMagic] = 2
	binary.BigEndian.PutUint32(b[offLastOffsetDelta:], uint32(sp.records-1))
	binary.BigEndian.PutUint64(b[offBaseTimestamp:], uint64(sp.ts))
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(sp.ts+int64(sp.records)-1))
	binary.BigEndian.PutUint64(b[offProducerID:], ^uint64(0))
	binary.BigEndian.PutUint16(b[offProducerEpoch:], 0xffff)
	binary.BigEndian.PutUint32(b[offBaseSequence:], 0xffffffff)
	binary.BigEndian.PutUint32(b[offRecordCount:], uint32(sp.records))
	b = append(b, recs...)
	Batch(b).setCRC(Batch(b).ComputeCRC())
	return b
}

// testConfig is small: segments of segBytes, an index entry per 256 bytes.
func testConfig(segBytes int64) Config {
	c := DefaultConfig()
	c.SegmentBytes = segBytes
	c.SegmentIndexBytes = 4096
	c.IndexIntervalBytes = 256
	c.FileDeleteDelayMs = 0
	c.RetentionMs = -1
	return c
}

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.UnixMilli(1_700_000_000_000)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logCapture collects log output for assertions.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func (c *logCapture) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openTestLog(t testing.TB, dir string, cfg Config, opts Options, st OpenState) *Log {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	l, err := Open(dir, "t", 0, cfg, opts, st)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return l
}

// readSlice returns the bytes a Slice names, and releases it.
func readSlice(t testing.TB, s Slice) []byte {
	t.Helper()
	defer s.Release()
	if s.Seg == nil {
		return nil
	}
	b := make([]byte, s.Len)
	if _, err := s.Seg.File().ReadAt(b, s.Pos); err != nil {
		t.Fatalf("read slice [%d,+%d) of segment %d: %v", s.Pos, s.Len, s.Seg.BaseOffset(), err)
	}
	return b
}

// abandon drops a log as a crash would: files closed, nothing trimmed,
// synced or checkpointed.
func (l *Log) abandon() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.releaseAll()
}

// batches splits bytes of whole batches.
func splitBatches(t testing.TB, p []byte) []Batch {
	t.Helper()
	var out []Batch
	for len(p) > 0 {
		n, err := ValidateBatch(p, 1<<40, OriginReplication)
		if err != nil {
			t.Fatalf("split: %v", err)
		}
		out = append(out, Batch(p[:n]))
		p = p[n:]
	}
	return out
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
