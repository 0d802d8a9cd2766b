package logstore

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// kmsgBatch encodes records with franz-go's kmsg as a producer would (gzip
// when compress is set), with the CRC computed the way Kafka does.
func kmsgBatch(t *testing.T, recs []kmsg.Record, firstTs int64, compress bool) []byte {
	var raw []byte
	maxTs := firstTs
	for i := range recs {
		r := &recs[i]
		r.OffsetDelta = int32(i)
		body := r.AppendTo(nil)
		// AppendTo writes Length first; set it to the bytes after it.
		r.Length = int32(len(body) - 1)
		raw = r.AppendTo(raw)
		maxTs = max(maxTs, firstTs+r.TimestampDelta64)
	}
	var attrs int16
	if compress {
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(raw)
		w.Close()
		raw, attrs = z.Bytes(), 1
	}
	b := kmsg.RecordBatch{
		FirstOffset: 0, Length: int32(49 + len(raw)), PartitionLeaderEpoch: -1, Magic: 2,
		Attributes: attrs, LastOffsetDelta: int32(len(recs) - 1), FirstTimestamp: firstTs, MaxTimestamp: maxTs,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(len(recs)), Records: raw,
	}
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	return out
}

// refRecord is a record as the independent reader decodes it.
type refRecord struct {
	offset, ts int64
	key, value []byte
	headers    []string
}

// refReadLog is an independent reader of Kafka's .log format: it knows only
// the documented layout, not logstore's code.
func refReadLog(t *testing.T, data []byte) (recs []refRecord, batches [][3]int64) {
	for pos := 0; pos < len(data); {
		if len(data)-pos < 61 {
			t.Fatalf("ref: %d trailing bytes at %d", len(data)-pos, pos)
		}
		h := data[pos:]
		base := int64(binary.BigEndian.Uint64(h[0:]))
		length := int(binary.BigEndian.Uint32(h[8:]))
		if h[16] != 2 {
			t.Fatalf("ref: magic %d at %d", h[16], pos)
		}
		batch := data[pos : pos+12+length]
		if crc32.Checksum(batch[21:], crc32.MakeTable(crc32.Castagnoli)) != binary.BigEndian.Uint32(batch[17:]) {
			t.Fatalf("ref: crc mismatch at %d", pos)
		}
		attrs := binary.BigEndian.Uint16(batch[21:])
		lastDelta := int64(binary.BigEndian.Uint32(batch[23:]))
		firstTs := int64(binary.BigEndian.Uint64(batch[27:]))
		maxTs := int64(binary.BigEndian.Uint64(batch[35:]))
		count := int(binary.BigEndian.Uint32(batch[57:]))
		body := batch[61:]
		if attrs&7 == 1 {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		r := bytes.NewReader(body)
		varint := func() int64 {
			v, err := binary.ReadVarint(r)
			if err != nil {
				t.Fatalf("ref: varint: %v", err)
			}
			return v
		}
		bytesField := func() []byte {
			n := varint()
			if n < 0 {
				return nil
			}
			b := make([]byte, n)
			io.ReadFull(r, b)
			return b
		}
		for i := 0; i < count; i++ {
			varint() // length
			r.ReadByte()
			rec := refRecord{ts: firstTs + varint()}
			rec.offset = base + varint()
			rec.key, rec.value = bytesField(), bytesField()
			for n := varint(); n > 0; n-- {
				rec.headers = append(rec.headers, string(bytesField())+"="+string(bytesField()))
			}
			recs = append(recs, rec)
		}
		batches = append(batches, [3]int64{int64(pos), base + lastDelta, maxTs})
		pos += 12 + length
	}
	return recs, batches
}

// TestKafkaFormat appends batches encoded by franz-go's kmsg (plain and
// gzip), closes the log, and reads the .log, .index and .timeindex files
// back with the independent reader: every record with its offset, key,
// value, headers and timestamp; every index entry pointing at a batch start
// with that batch's last offset; every time index entry the max timestamp so
// far. kmsg itself decodes every stored batch too.
func TestKafkaFormat(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(1 << 20)
	cfg.IndexIntervalBytes = 300
	l := openTestLog(t, dir, cfg, Options{}, OpenState{})
	var want []refRecord
	next := int64(0)
	for i := 0; i < 40; i++ {
		var recs []kmsg.Record
		ts := int64(1_700_000_000_000 + i*1000 - (i%3)*1500) // not monotonic
		for j := 0; j < 1+i%4; j++ {
			rec := kmsg.Record{
				TimestampDelta64: int64(j * 7), Key: []byte(fmt.Sprintf("k%d", i)),
				Value:   bytes.Repeat([]byte{byte('a' + j)}, 20+i*3),
				Headers: []kmsg.Header{{Key: "h", Value: []byte{byte(i)}}},
			}
			if j == 1 {
				rec.Key = nil
			}
			recs = append(recs, rec)
			want = append(want, refRecord{offset: next + int64(j), ts: ts + int64(j*7), key: rec.Key, value: rec.Value,
				headers: []string{"h=" + string([]byte{byte(i)})}})
		}
		res, err := l.Append(kmsgBatch(t, recs, ts, i%2 == 1), 9)
		if err != nil {
			t.Fatalf("append kmsg batch %d: %v", i, err)
		}
		if res.FirstOffset != next {
			t.Fatalf("batch %d at %d, want %d", i, res.FirstOffset, next)
		}
		next = res.LastOffset + 1
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, segmentName(0, logSuffix)))
	got, batches := refReadLog(t, data)
	if len(got) != len(want) {
		t.Fatalf("ref reader found %d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.offset != w.offset || g.ts != w.ts || !bytes.Equal(g.key, w.key) || !bytes.Equal(g.value, w.value) ||
			fmt.Sprint(g.headers) != fmt.Sprint(w.headers) {
			t.Fatalf("record %d: got %+v, want %+v", i, g, w)
		}
	}
	for pos := 0; pos < len(data); {
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(data[pos:]); err != nil {
			t.Fatalf("kmsg cannot read the stored batch at %d: %v", pos, err)
		}
		if rb.PartitionLeaderEpoch != 9 || rb.Magic != 2 {
			t.Fatalf("stored batch at %d: epoch %d magic %d", pos, rb.PartitionLeaderEpoch, rb.Magic)
		}
		pos += 12 + int(rb.Length)
	}

	starts := map[int64]int64{} // position -> last offset
	for _, b := range batches {
		starts[b[0]] = b[1]
	}
	idx, _ := os.ReadFile(filepath.Join(dir, segmentName(0, indexSuffix)))
	if len(idx) == 0 || len(idx)%8 != 0 {
		t.Fatalf(".index is %d bytes", len(idx))
	}
	for i := 0; i < len(idx); i += 8 {
		rel := int64(binary.BigEndian.Uint32(idx[i:]))
		pos := int64(binary.BigEndian.Uint32(idx[i+4:]))
		last, ok := starts[pos]
		if !ok || last != rel {
			t.Fatalf(".index entry %d (%d, %d): batch start %v, last offset %d", i/8, rel, pos, ok, last)
		}
	}
	tidx, _ := os.ReadFile(filepath.Join(dir, segmentName(0, timeIndexSuffix)))
	if len(tidx) == 0 || len(tidx)%12 != 0 {
		t.Fatalf(".timeindex is %d bytes", len(tidx))
	}
	for i := 0; i < len(tidx); i += 12 {
		ts := int64(binary.BigEndian.Uint64(tidx[i:]))
		rel := int64(binary.BigEndian.Uint32(tidx[i+8:]))
		maxSoFar, found := int64(-1), false
		for _, b := range batches {
			maxSoFar = max(maxSoFar, b[2])
			if b[1] == rel {
				found = true
				break
			}
		}
		if !found || maxSoFar < ts {
			t.Fatalf(".timeindex entry %d (%d, %d): batch found %v, max timestamp so far %d", i/12, ts, rel, found, maxSoFar)
		}
	}
	if last := int64(binary.BigEndian.Uint64(tidx[len(tidx)-12:])); last != maxOf(batches) {
		t.Fatalf("last .timeindex entry %d, segment max timestamp %d", last, maxOf(batches))
	}
}

func maxOf(batches [][3]int64) int64 {
	m := int64(-1)
	for _, b := range batches {
		m = max(m, b[2])
	}
	return m
}
