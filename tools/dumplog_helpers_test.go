package tools

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// testCodec is a compression as a producer writes it; snappy comes in two
// framings (raw from franz-go and librdkafka, xerial from the Java client).
type testCodec struct {
	name string
	attr int16
}

// xerialMagic opens snappy-java's framing (SnappyOutputStream).
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

var testCodecs = []testCodec{
	{"none", 0}, {"gzip", 1}, {"snappy", 2}, {"snappy-xerial", 2}, {"lz4", 3}, {"zstd", 4},
}

func compressForTest(t testing.TB, c testCodec, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch c.name {
	case "none":
		return raw
	case "gzip":
		w := gzip.NewWriter(&buf)
		w.Write(raw)
		w.Close()
	case "snappy":
		return snappy.Encode(nil, raw)
	case "snappy-xerial":
		// Header, then the input in two blocks, as snappy-java writes
		// once its buffer fills.
		buf.Write(xerialMagic)
		buf.Write([]byte{0, 0, 0, 1, 0, 0, 0, 1})
		half := len(raw) / 2
		for _, part := range [][]byte{raw[:half], raw[half:]} {
			block := snappy.Encode(nil, part)
			buf.Write(binary.BigEndian.AppendUint32(nil, uint32(len(block))))
			buf.Write(block)
		}
	case "lz4":
		w := lz4.NewWriter(&buf)
		w.Write(raw)
		w.Close()
	case "zstd":
		enc, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		return enc.EncodeAll(raw, nil)
	default:
		t.Fatalf("codec %q", c.name)
	}
	return buf.Bytes()
}

// testRecord is a record to encode; a nil key or value is null.
type testRecord struct {
	key, value []byte
	headers    []kmsg.Header
}

// kafkaBatch encodes a batch as a Kafka client does, with kmsg: records
// with offset and timestamp deltas 0, 1, 2..., compressed, then the length
// and CRC-32C filled in.
func kafkaBatch(t testing.TB, base, ts int64, c testCodec, recs []testRecord) []byte {
	t.Helper()
	var raw []byte
	for i, r := range recs {
		rec := kmsg.Record{TimestampDelta64: int64(i), OffsetDelta: int32(i), Key: r.key, Value: r.value, Headers: r.headers}
		rec.Length = int32(len(rec.AppendTo(nil)) - 1) // without the one-byte length 0
		raw = rec.AppendTo(raw)
	}
	b := kmsg.RecordBatch{FirstOffset: base, PartitionLeaderEpoch: 3, Magic: 2, Attributes: c.attr,
		LastOffsetDelta: int32(len(recs) - 1), FirstTimestamp: ts, MaxTimestamp: ts + int64(len(recs)) - 1,
		ProducerID: 7, ProducerEpoch: 1, FirstSequence: int32(base), NumRecords: int32(len(recs)),
		Records: compressForTest(t, c, raw)}
	enc := b.AppendTo(nil)
	binary.BigEndian.PutUint32(enc[8:], uint32(len(enc)-logOverhead))
	binary.BigEndian.PutUint32(enc[17:], crc32.Checksum(enc[21:], crc32.MakeTable(crc32.Castagnoli)))
	return enc
}

// sampleRecords are n records with keys, a null key, binary values and
// headers (one with a null value); values repeat their text so that
// compression has something to do.
func sampleRecords(first, n, repeat int) []testRecord {
	var recs []testRecord
	for i := first; i < first+n; i++ {
		r := testRecord{key: []byte("key-" + strconv.Itoa(i)), value: []byte(strings.Repeat("value-"+strconv.Itoa(i)+" ", repeat))}
		switch i % 4 {
		case 1:
			r.key = nil
		case 2:
			r.value = []byte{0xff, 0x00, byte(i)}
		case 3:
			r.headers = []kmsg.Header{{Key: "trace", Value: []byte("t" + strconv.Itoa(i))}, {Key: "empty", Value: nil}}
		}
		recs = append(recs, r)
	}
	return recs
}

// segment is a .log built in a test: its bytes, and each batch's position
// and offsets.
type segment struct {
	data    []byte
	batches []batchSpan
}

func (s *segment) add(b []byte) {
	last := int64(binary.BigEndian.Uint64(b)) + int64(int32(binary.BigEndian.Uint32(b[23:])))
	s.batches = append(s.batches, batchSpan{pos: int64(len(s.data)), base: int64(binary.BigEndian.Uint64(b)),
		last: last, maxTs: int64(binary.BigEndian.Uint64(b[35:]))})
	s.data = append(s.data, b...)
}

// writeFile writes data as dir/name and returns its path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runDumpLog runs the command in-process.
func runDumpLog(t testing.TB, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = DumpLog(args, IO{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

// jsonLines decodes --output json, one object per line.
func jsonLines(t testing.TB, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		objs = append(objs, m)
	}
	return objs
}
