package logstore

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// FuzzBatchValidate: any bytes are rejected or accepted without panic; an
// accepted batch has sane framing and a matching CRC, stays valid when
// stamped with LogAppendTime, and walks the same in a multi-batch buffer.
func FuzzBatchValidate(f *testing.F) {
	good := makeBatch(batchSpec{records: 3, valueSize: 7, ts: 10})
	f.Add(good, false)
	f.Add(append(append([]byte{}, good...), good...), true)
	f.Add(good[:40], false)
	f.Add(make([]byte, 61), false)
	f.Fuzz(func(t *testing.T, p []byte, follower bool) {
		origin := OriginClient
		if follower {
			origin = OriginReplication
		}
		_ = completePrefix(p)
		it := batchIter{p: p, max: 1 << 20, origin: origin}
		for {
			if _, _, ok := it.Next(); !ok {
				break
			}
		}
		n, err := ValidateBatch(p, 1<<20, origin)
		if err != nil {
			return
		}
		b := Batch(p[:n])
		if n < BatchHeaderSize || n > int64(len(p)) || b.Size() != n || b.Magic() != 2 {
			t.Fatalf("accepted a batch of %d bytes (buffer %d, magic %d)", n, len(p), b.Magic())
		}
		if b.ComputeCRC() != b.CRC() {
			t.Fatal("accepted a bad CRC")
		}
		if origin == OriginClient && int64(b.RecordCount()) != int64(b.LastOffsetDelta())+1 {
			t.Fatal("accepted a count that disagrees with the offset delta")
		}
		c := bytes.Clone(b)
		Batch(c).setBaseOffset(12345)
		Batch(c).setLogAppendTime(99)
		if _, err := ValidateBatch(c, 1<<20, origin); err != nil {
			t.Fatalf("stamped batch no longer valid: %v", err)
		}
	})
}

// fuzzSegment is a closed one-segment log, built once: its .log bytes and
// the batches' offsets.
var fuzzSegment struct {
	log   []byte
	index []byte
	bases []int64
	size  []int64
}

func buildFuzzSegment(f *testing.F) {
	fuzzSegment.bases, fuzzSegment.size = nil, nil // -count=N builds it again
	dir := f.TempDir()
	cfg := testConfig(1 << 20)
	cfg.IndexIntervalBytes = 64
	l, err := Open(dir, "t", 0, cfg, Options{Logger: quietLogger()}, OpenState{})
	if err != nil {
		f.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		b := makeBatch(batchSpec{records: 1 + i%3, valueSize: 30 + i, ts: int64(i * 10), fill: byte(i)})
		res, err := l.Append(b, 0)
		if err != nil {
			f.Fatal(err)
		}
		fuzzSegment.bases = append(fuzzSegment.bases, res.FirstOffset)
		fuzzSegment.size = append(fuzzSegment.size, int64(len(b)))
	}
	if err := l.Close(); err != nil {
		f.Fatal(err)
	}
	fuzzSegment.log, _ = os.ReadFile(filepath.Join(dir, segmentName(0, logSuffix)))
	fuzzSegment.index, _ = os.ReadFile(filepath.Join(dir, segmentName(0, indexSuffix)))
}

// FuzzIndexOpen: whatever an .index file holds, parsing never panics, an
// accepted index only points at positions inside the log in increasing
// order, and a log opened over it (clean, so the index is trusted if it
// passes the checks) reads every batch correctly: a bad index is rebuilt,
// never followed into the middle of a batch.
func FuzzIndexOpen(f *testing.F) {
	buildFuzzSegment(f)
	f.Add(fuzzSegment.index)
	f.Add(fuzzSegment.index[:len(fuzzSegment.index)-3])
	f.Add(make([]byte, 64))
	swapped := bytes.Clone(fuzzSegment.index)
	copy(swapped[8:16], fuzzSegment.index[0:8])
	f.Add(swapped)
	f.Fuzz(func(t *testing.T, data []byte) {
		logSize := int64(len(fuzzSegment.log))
		if e, err := parseOffsetIndex(data, logSize); err == nil {
			var prev uint64
			for i, v := range e {
				_, pos := unpackOffset(v)
				if pos == 0 || int64(pos) >= logSize || (i > 0 && v <= prev) {
					t.Fatalf("accepted entry %d: %x", i, v)
				}
				prev = v
			}
		}
		_, _ = parseTimeIndex(data, 0, 1000)

		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, segmentName(0, logSuffix)), fuzzSegment.log, 0o644)
		os.WriteFile(filepath.Join(dir, segmentName(0, indexSuffix)), data, 0o644)
		cfg := testConfig(1 << 20)
		cfg.IndexIntervalBytes = 64
		l, err := Open(dir, "t", 0, cfg, Options{Logger: quietLogger()}, OpenState{Clean: true, RecoveryPoint: 1 << 40})
		if err != nil {
			t.Fatalf("open over a damaged index: %v", err)
		}
		defer l.Close()
		pos := int64(0)
		for i, base := range fuzzSegment.bases {
			s, err := l.Read(base, 1, l.LogEndOffset())
			if err != nil {
				t.Fatalf("read %d: %v", base, err)
			}
			if s.FirstOffset != base || s.Pos != pos || s.Len != fuzzSegment.size[i] {
				t.Fatalf("read %d: first %d at %d+%d, want %d+%d", base, s.FirstOffset, s.Pos, s.Len, pos, fuzzSegment.size[i])
			}
			s.Release()
			pos += fuzzSegment.size[i]
		}
	})
}

// The index reader checks entries against the log: a hand-made table.
func TestParseOffsetIndex(t *testing.T) {
	entry := func(rel, pos uint32) []byte {
		b := make([]byte, 8)
		binary.BigEndian.PutUint32(b, rel)
		binary.BigEndian.PutUint32(b[4:], pos)
		return b
	}
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	for name, c := range map[string]struct {
		data []byte
		ok   bool
	}{
		"empty":              {nil, true},
		"two entries":        {cat(entry(3, 100), entry(9, 400)), true},
		"torn entry":         {cat(entry(3, 100), entry(9, 400)[:5]), false},
		"position zero":      {entry(0, 0), false},
		"past the log":       {entry(3, 1000), false},
		"offsets go back":    {cat(entry(9, 100), entry(3, 400)), false},
		"positions go back":  {cat(entry(3, 400), entry(9, 100)), false},
		"repeated entry":     {cat(entry(3, 100), entry(3, 100)), false},
		"zeroed tail":        {cat(entry(3, 100), entry(0, 0)), false},
		"huge relative offs": {entry(1<<31, 100), false},
	} {
		_, err := parseOffsetIndex(c.data, 1000)
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok=%v", name, err, c.ok)
		}
	}
}

// FuzzProducerSnapshot: the decoder reads `.snapshot` files from disk, so
// any bytes are refused or decoded without panic, and what it accepts
// encodes back to the same bytes.
func FuzzProducerSnapshot(f *testing.F) {
	good := EncodeProducerSnapshot(testSnapshotEntries())
	f.Add(good)
	f.Add(EncodeProducerSnapshot(nil))
	f.Add(good[:len(good)-1])
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, p []byte) {
		entries, err := DecodeProducerSnapshot(p)
		if err != nil {
			return
		}
		if again := EncodeProducerSnapshot(entries); !bytes.Equal(again, p) {
			t.Fatalf("decoded %d entries from %x, which encode to %x", len(entries), p, again)
		}
	})
}
