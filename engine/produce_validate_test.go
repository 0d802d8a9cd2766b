package engine

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/logstore"
)

// rawRecord is one record's bytes, written field by field as a producer
// does: length, attributes, timestamp delta, offset delta, key (nil:
// null), value, no headers.
func rawRecord(offsetDelta int32, tsDelta int64, key, value []byte) []byte {
	r := []byte{0}
	r = binary.AppendVarint(r, tsDelta)
	r = binary.AppendVarint(r, int64(offsetDelta))
	if key == nil {
		r = binary.AppendVarint(r, -1)
	} else {
		r = binary.AppendVarint(r, int64(len(key)))
		r = append(r, key...)
	}
	r = binary.AppendVarint(r, int64(len(value)))
	r = append(r, value...)
	r = binary.AppendVarint(r, 0)
	return append(binary.AppendVarint(nil, int64(len(r))), r...)
}

// rawBatchBytes is a magic-2 batch header written byte by byte over body
// (the records section as given, compressed or not): count and lastDelta
// as declared, attributes attrs, base timestamp ts, no producer id, and a
// valid CRC-32C, so the batch passes every header check.
func rawBatchBytes(attrs int16, count, lastDelta int32, ts int64, body []byte) []byte {
	be := binary.BigEndian
	b := make([]byte, 61, 61+len(body))
	be.PutUint32(b[8:], uint32(61-12+len(body))) // length
	be.PutUint32(b[12:], math.MaxUint32)         // leader epoch -1
	b[16] = 2                                    // magic
	be.PutUint16(b[21:], uint16(attrs))
	be.PutUint32(b[23:], uint32(lastDelta))
	be.PutUint64(b[27:], uint64(ts)) // base timestamp
	be.PutUint64(b[35:], uint64(ts)) // max timestamp
	be.PutUint64(b[43:], math.MaxUint64)
	be.PutUint16(b[51:], math.MaxUint16)
	be.PutUint32(b[53:], math.MaxUint32)
	be.PutUint32(b[57:], uint32(count))
	b = append(b, body...)
	be.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// compressRaw compresses a records section with codec (1 gzip, 2 snappy,
// 3 lz4, 4 zstd) as producers do.
func compressRaw(t *testing.T, codec int16, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch codec {
	case 1:
		w := gzip.NewWriter(&buf)
		w.Write(raw)
		w.Close()
	case 2:
		return s2.EncodeSnappy(nil, raw)
	case 3:
		w := lz4.NewWriter(&buf)
		w.Write(raw)
		w.Close()
	case 4:
		enc, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer enc.Close()
		return enc.EncodeAll(raw, nil)
	default:
		return raw
	}
	return buf.Bytes()
}

// Issue 13: batches that pass the header checks but whose records do not
// match them are refused on the leader, as Kafka's LogValidator refuses
// them, and move nothing: not the log end, not the segments.
func TestProduceRefusesHostileBatches(t *testing.T) {
	now := time.Now().UnixMilli()
	two := append(rawRecord(0, 0, []byte("k0"), []byte("v0")), rawRecord(1, 0, []byte("k1"), []byte("v1"))...)
	rng := rand.New(rand.NewPCG(13, 1))
	noise := make([]byte, 200)
	for i := range noise {
		noise[i] = byte(rng.UintN(256))
	}
	skewed := append(rawRecord(0, 0, nil, []byte("a")), rawRecord(2, 0, nil, []byte("b"))...)
	type hostile struct {
		name  string
		batch []byte
		code  int16
	}
	cases := []hostile{
		{"zstd, 2 records declaring 2^31-1", rawBatchBytes(4, math.MaxInt32, math.MaxInt32-1, now, compressRaw(t, 4, two)),
			kerr.InvalidRecord.Code},
		{"none, bytes after the records", rawBatchBytes(0, 2, 1, now, append(append([]byte{}, two...), 0, 0, 0, 0)),
			kerr.InvalidRecord.Code},
		{"none, 2 records declaring 3", rawBatchBytes(0, 3, 2, now, two), kerr.InvalidRecord.Code},
		{"lz4, offset deltas 0 and 2", rawBatchBytes(3, 2, 1, now, compressRaw(t, 3, skewed)), kerr.InvalidRecord.Code},
	}
	for codec := int16(1); codec <= 4; codec++ {
		cases = append(cases, hostile{fmt.Sprintf("codec %d, random bytes", codec),
			rawBatchBytes(codec, 2, 1, now, noise), kerr.CorruptMessage.Code})
	}
	for _, backend := range backendsForTest(t) {
		t.Run(backend, func(t *testing.T) {
			b, c := startDataBroker(t, backend)
			addTestPartitions(t, b, "hostile", 1)
			l := b.lookupPartition("hostile", 0).log
			for _, tc := range cases {
				for _, v := range []int16{3, 9} {
					resp := send(t, c, produceReq(v, -1, "hostile", map[int32][]byte{0: bytes.Clone(tc.batch)}))
					sp := partitionResult(t, resp.(*kmsg.ProduceResponse), 0)
					if sp.ErrorCode != tc.code || sp.BaseOffset != -1 {
						t.Fatalf("%s, v%d: error %d (want %d), base offset %d, message %s", tc.name, v,
							sp.ErrorCode, tc.code, sp.BaseOffset, msgOf(sp.ErrorMessage))
					}
				}
			}
			// The flood: each of these moved the log end by 2^31-1
			// and rolled a segment.
			flood := cases[0].batch
			for i := 0; i < 200; i++ {
				resp := send(t, c, produceReq(9, 1, "hostile", map[int32][]byte{0: bytes.Clone(flood)}))
				if sp := partitionResult(t, resp.(*kmsg.ProduceResponse), 0); sp.ErrorCode != kerr.InvalidRecord.Code {
					t.Fatalf("flood %d: error %d", i, sp.ErrorCode)
				}
			}
			if l.LogEndOffset() != 0 || l.SegmentCount() != 1 || l.Size() != 0 {
				t.Fatalf("log end %d, %d segments, %d bytes after refused batches", l.LogEndOffset(),
					l.SegmentCount(), l.Size())
			}
			good := rawBatchBytes(4, 2, 1, now, compressRaw(t, 4, two))
			resp := send(t, c, produceReq(9, -1, "hostile", map[int32][]byte{0: good}))
			if sp := partitionResult(t, resp.(*kmsg.ProduceResponse), 0); sp.ErrorCode != 0 || sp.BaseOffset != 0 {
				t.Fatalf("good batch: %+v", sp)
			}
			f := send(t, c, fetchReq(12, "hostile", 0, 0, 0)).(*kmsg.FetchResponse)
			if fp := f.Topics[0].Partitions[0]; fp.ErrorCode != 0 || fp.HighWatermark != 2 || len(fp.RecordBatches) != len(good) {
				t.Fatalf("fetch: error %d, high watermark %d, %d bytes", fp.ErrorCode, fp.HighWatermark, len(fp.RecordBatches))
			}
		})
	}
}

// CreateTime timestamps outside message.timestamp.before/after.max.ms, and
// LogAppendTime batches from a producer, are refused with
// INVALID_TIMESTAMP; v8+ names the records (KIP-467) with Kafka's
// messages, a keyless record on a compacted topic among them.
func TestProduceRecordErrorsTimestamp(t *testing.T) {
	b, c := startDataBroker(t, "std")
	cfg := logstore.DefaultConfig()
	cfg.CleanupPolicy = "compact"
	cfg.TimestampBeforeMaxMs, cfg.TimestampAfterMaxMs = 3600_000, 3600_000
	addTestPartitionsWith(t, b, "stamped", 1, cfg)
	now := time.Now().UnixMilli()
	const twoHours = 7200_000
	var raw []byte
	raw = append(raw, rawRecord(0, 0, []byte("k"), []byte("now"))...)
	raw = append(raw, rawRecord(1, -twoHours, []byte("k"), []byte("two hours ago"))...)
	raw = append(raw, rawRecord(2, 0, nil, []byte("no key"))...)
	raw = append(raw, rawRecord(3, twoHours, []byte("k"), []byte("in two hours"))...)
	for _, codec := range []int16{0, 3} {
		for _, v := range []int16{7, 8, 13} {
			batch := rawBatchBytes(codec, 4, 3, now, compressRaw(t, codec, raw))
			resp := send(t, c, produceReq(v, -1, "stamped", map[int32][]byte{0: batch}))
			sp := partitionResult(t, resp.(*kmsg.ProduceResponse), 0)
			if sp.ErrorCode != kerr.InvalidTimestamp.Code || sp.BaseOffset != -1 {
				t.Fatalf("codec %d v%d: %+v", codec, v, sp)
			}
			if v < 8 {
				continue
			}
			if msgOf(sp.ErrorMessage) != "One or more records have been rejected due to invalid timestamp" {
				t.Errorf("codec %d v%d: message %q", codec, v, msgOf(sp.ErrorMessage))
			}
			var got []string
			for _, e := range sp.ErrorRecords {
				got = append(got, fmt.Sprintf("%d: %s", e.RelativeOffset, msgOf(e.ErrorMessage)))
			}
			want := []string{
				fmt.Sprintf("1: Timestamp %d of message with offset 1 is out of range.", now-twoHours),
				"2: Compacted topic cannot accept message without key in topic partition stamped-0",
				fmt.Sprintf("3: Timestamp %d of message with offset 3 is out of range.", now+twoHours),
			}
			if len(got) != len(want) {
				t.Fatalf("codec %d v%d: record errors %q", codec, v, got)
			}
			for i := range want {
				if !strings.HasPrefix(got[i], want[i]) {
					t.Fatalf("codec %d v%d: record error %q, want %q...", codec, v, got[i], want[i])
				}
			}
		}
	}
	lat := rawBatchBytes(8, 1, 0, now, rawRecord(0, 0, []byte("k"), []byte("v"))) // LogAppendTime bit
	lcfg := logstore.DefaultConfig()
	lcfg.LogAppendTime = true
	addTestPartitionsWith(t, b, "appendtime", 1, lcfg)
	resp := send(t, c, produceReq(9, -1, "appendtime", map[int32][]byte{0: lat}))
	sp := partitionResult(t, resp.(*kmsg.ProduceResponse), 0)
	if sp.ErrorCode != kerr.InvalidTimestamp.Code || len(sp.ErrorRecords) != 1 ||
		!strings.HasSuffix(msgOf(sp.ErrorRecords[0].ErrorMessage), "Producer should not set timestamp type to LogAppendTime.") {
		t.Fatalf("LogAppendTime batch from a producer: %+v", sp)
	}
	for _, topic := range []string{"stamped", "appendtime"} {
		if leo := b.lookupPartition(topic, 0).log.LogEndOffset(); leo != 0 {
			t.Fatalf("%s: log end %d after refused batches", topic, leo)
		}
	}
}
