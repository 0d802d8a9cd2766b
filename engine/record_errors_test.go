package engine

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/logstore"
)

// makeKeyedBatch encodes a magic-2 batch of one record per key (nil: no
// key), compressed with codec (0 none, 1 gzip, 4 zstd).
func makeKeyedBatch(t *testing.T, codec int16, keys ...[]byte) []byte {
	t.Helper()
	var recs []byte
	for i, k := range keys {
		r := kmsg.Record{OffsetDelta: int32(i), Key: k, Value: []byte(fmt.Sprintf("value %d", i))}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	switch codec {
	case 1:
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(recs)
		w.Close()
		recs = buf.Bytes()
	case 4:
		enc, _ := zstd.NewWriter(nil)
		recs = enc.EncodeAll(recs, nil)
	}
	now := time.Now().UnixMilli()
	rb := kmsg.RecordBatch{
		Magic: 2, Attributes: codec, LastOffsetDelta: int32(len(keys) - 1), FirstTimestamp: now,
		MaxTimestamp: now, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(len(keys)), Records: recs,
	}
	raw := rb.AppendTo(nil)
	rb.Length = int32(len(raw) - 12)
	raw = rb.AppendTo(nil)
	rb.CRC = int32(crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return rb.AppendTo(nil)
}

// KIP-467: a batch with keyless records for a compacted topic is refused
// whole with INVALID_RECORD, and v8+ names exactly the keyless records.
func TestProduceRecordErrorsKeyless(t *testing.T) {
	b, c := startDataBroker(t, "std")
	cfg := logstore.DefaultConfig()
	cfg.CleanupPolicy = "compact"
	addTestPartitionsWith(t, b, "compacted", 1, cfg)
	keys := make([][]byte, 100)
	var want []int32
	for i := range keys {
		if i%10 == 3 {
			want = append(want, int32(i))
			continue
		}
		keys[i] = []byte(fmt.Sprintf("k%d", i%7))
	}
	msg := "Compacted topic cannot accept message without key in topic partition compacted-0"
	for _, codec := range []int16{0, 1, 4} {
		for _, v := range []int16{3, 7, 8, 9, 13} {
			resp := send(t, c, produceReq(v, -1, "compacted", map[int32][]byte{0: makeKeyedBatch(t, codec, keys...)}))
			sp := partitionResult(t, resp.(*kmsg.ProduceResponse), 0)
			if sp.ErrorCode != kerr.InvalidRecord.Code || sp.BaseOffset != -1 || (v >= 5 && sp.LogStartOffset != 0) {
				t.Fatalf("codec %d v%d: %+v", codec, v, sp)
			}
			if v < 8 {
				if len(sp.ErrorRecords) != 0 {
					t.Fatalf("codec %d v%d: record errors in a version without them", codec, v)
				}
				continue
			}
			var got []int32
			for _, e := range sp.ErrorRecords {
				got = append(got, e.RelativeOffset)
				if e.ErrorMessage == nil || *e.ErrorMessage != msg {
					t.Errorf("codec %d v%d: record %d message %v", codec, v, e.RelativeOffset, msgOf(e.ErrorMessage))
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("codec %d v%d: record errors at %v, want %v", codec, v, got, want)
			}
			wantMsg := fmt.Sprintf("One or more records have been rejected due to 10 record errors in total, and "+
				"only showing the first three errors at most: [RecordError(batchIndex=3, message='%s'), "+
				"RecordError(batchIndex=13, message='%s'), RecordError(batchIndex=23, message='%s')]", msg, msg, msg)
			if msgOf(sp.ErrorMessage) != wantMsg {
				t.Errorf("codec %d v%d: error message %q", codec, v, msgOf(sp.ErrorMessage))
			}
		}
	}
	// Nothing of the refused batches was written: a keyed batch lands at 0.
	for i := range keys {
		keys[i] = []byte("k")
	}
	resp := send(t, c, produceReq(9, -1, "compacted", map[int32][]byte{0: makeKeyedBatch(t, 0, keys...)}))
	if sp := partitionResult(t, resp.(*kmsg.ProduceResponse), 0); sp.ErrorCode != 0 || sp.BaseOffset != 0 {
		t.Fatalf("keyed batch: %+v", sp)
	}
}
