package logstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// plainRecords are n keyed records as producers write them: offset deltas
// 0..n-1, timestamp deltas tsDelta(i).
func plainRecords(n int, tsDelta func(i int) int64) []kmsg.Record {
	recs := make([]kmsg.Record, n)
	for i := range recs {
		recs[i] = kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: tsDelta(i),
			Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("value %d", i))}
	}
	return recs
}

// setCountAndDelta rewrites b's record count and last offset delta, with a
// new CRC: what a hostile client sends, valid to the header checks.
func setCountAndDelta(b []byte, count, lastDelta int32) []byte {
	binary.BigEndian.PutUint32(b[offRecordCount:], uint32(count))
	binary.BigEndian.PutUint32(b[offLastOffsetDelta:], uint32(lastDelta))
	Batch(b).setCRC(Batch(b).ComputeCRC())
	return b
}

// withBody is b's header over a new records section body, with the length
// and CRC made to fit.
func withBody(b []byte, body []byte) []byte {
	out := append(append([]byte{}, b[:BatchHeaderSize]...), body...)
	binary.BigEndian.PutUint32(out[offLength:], uint32(len(out)-logOverhead))
	Batch(out).setCRC(Batch(out).ComputeCRC())
	return out
}

func validateRules() recordRules {
	return recordRules{tp: TopicPartition{"t", 0}, beforeMaxMs: math.MaxInt64, afterMaxMs: math.MaxInt64,
		nowMs: 1_700_000_000_000}
}

// checkBoth runs ValidateBatch and checkRecords on b, as Log.validate does.
func checkBoth(b []byte, rules recordRules) (int64, error) {
	if _, err := ValidateBatch(b, 1<<20, OriginClient); err != nil {
		return 0, err
	}
	var d Decoder
	return checkRecords(&d, Batch(b), &rules)
}

// The three batches of issue 13, and their relatives, for every codec:
// each refused with the error Kafka's LogValidator answers.
func TestCheckRecordsHostile(t *testing.T) {
	const now = 1_700_000_000_000
	for _, c := range recordCodecs {
		good := func() []byte { return kmsgRecordBatch(t, c, 0, now, 0, plainRecords(2, func(int) int64 { return 0 })) }
		rng := rand.New(rand.NewPCG(uint64(c.codec), 13))
		noise := make([]byte, 200)
		for i := range noise {
			noise[i] = byte(rng.UintN(256))
		}
		cases := []struct {
			name string
			b    []byte
			want error
		}{
			{"2 records declaring 2^31-1", setCountAndDelta(good(), math.MaxInt32, math.MaxInt32-1), ErrInvalidRecord},
			{"2 records declaring 3", setCountAndDelta(good(), 3, 2), ErrInvalidRecord},
			{"2 records declaring 1", setCountAndDelta(good(), 1, 0), ErrInvalidRecord},
			{"random bytes", withBody(good(), noise), ErrCorrupt},
			{"bytes after the records", withBody(good(), compressCodec(t, c,
				append(recordsSection(t, plainRecords(2, func(int) int64 { return 0 })), 0, 0, 0))), ErrInvalidRecord},
			{"offset deltas 0, 2", kmsgRecordBatch(t, c, 0, now, 0, []kmsg.Record{
				{OffsetDelta: 0, Key: []byte("a")}, {OffsetDelta: 2, Key: []byte("b")}}), ErrInvalidRecord},
			{"offset deltas 1, 0", kmsgRecordBatch(t, c, 0, now, 0, []kmsg.Record{
				{OffsetDelta: 1, Key: []byte("a")}, {OffsetDelta: 0, Key: []byte("b")}}), ErrInvalidRecord},
		}
		if c.codec == 0 {
			cases[3].want = ErrInvalidRecord // no codec to fail: the bytes are bad record framing
		}
		for _, tc := range cases {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				_, err := checkBoth(tc.b, validateRules())
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				for _, other := range []error{ErrCorrupt, ErrInvalidRecord, ErrInvalidTimestamp} {
					if other != tc.want && errors.Is(err, other) {
						t.Fatalf("%v also matches %v", err, other)
					}
				}
			})
		}
		if _, err := checkBoth(good(), validateRules()); err != nil {
			t.Fatalf("%s: good batch: %v", c.name, err)
		}
	}
}

// The hostile batch of the issue moves nothing: the log end stays, no
// segment is rolled, and a good batch then lands at offset 0.
func TestAppendRefusesMiscountedCompressedBatch(t *testing.T) {
	l := openTestLog(t, t.TempDir(), testConfig(1<<20), Options{}, OpenState{})
	defer l.Close()
	zstd := recordCodec{"zstd", 4}
	recs := plainRecords(2, func(int) int64 { return 0 })
	for i := 0; i < 20; i++ {
		b := setCountAndDelta(kmsgRecordBatch(t, zstd, 0, 1000, 0, recs), math.MaxInt32, math.MaxInt32-1)
		if _, err := l.Append(b, 0); !errors.Is(err, ErrInvalidRecord) {
			t.Fatalf("append %d: %v, want ErrInvalidRecord", i, err)
		}
	}
	if l.LogEndOffset() != 0 || l.SegmentCount() != 1 || l.Size() != 0 {
		t.Fatalf("log end %d, %d segments, %d bytes after refused appends", l.LogEndOffset(), l.SegmentCount(), l.Size())
	}
	res, err := l.Append(kmsgRecordBatch(t, zstd, 0, 1000, 0, recs), 0)
	if err != nil || res.FirstOffset != 0 || res.LastOffset != 1 {
		t.Fatalf("good batch: %+v, %v", res, err)
	}
}

// Keys on compacted topics and timestamps give record errors, collected
// over the batch, with Kafka's messages; a timestamp among them makes the
// batch's error INVALID_TIMESTAMP.
func TestCheckRecordsRecordErrors(t *testing.T) {
	const now = 1_700_000_000_000
	const hour = 3600_000
	for _, c := range recordCodecs {
		// Record i is stamped now + (i-2) hours: 0 and 1 in the past, 3
		// and 4 in the future; records 1 and 3 have no key.
		recs := plainRecords(5, func(i int) int64 { return int64(i-2) * hour })
		recs[1].Key, recs[3].Key = nil, nil
		b := kmsgRecordBatch(t, c, 0, now, 0, recs)

		rules := validateRules()
		if max, err := checkBoth(b, rules); err != nil || max != now+2*hour {
			t.Fatalf("%s: defaults: max %d, %v", c.name, max, err)
		}

		rules.compacted = true
		_, err := checkBoth(b, rules)
		var re *RecordsError
		if !errors.As(err, &re) || !errors.Is(err, ErrInvalidRecord) || errors.Is(err, ErrInvalidTimestamp) {
			t.Fatalf("%s: compacted: %v", c.name, err)
		}
		keyMsg := "Compacted topic cannot accept message without key in topic partition t-0"
		if got := fmt.Sprint(re.Records); got != fmt.Sprint([]RecordError{{1, keyMsg}, {3, keyMsg}}) {
			t.Fatalf("%s: compacted: %s", c.name, got)
		}

		rules.beforeMaxMs, rules.afterMaxMs = 90*60_000, hour
		_, err = checkBoth(b, rules)
		if !errors.As(err, &re) || !errors.Is(err, ErrInvalidTimestamp) || errors.Is(err, ErrInvalidRecord) {
			t.Fatalf("%s: timestamps: %v", c.name, err)
		}
		tsMsg := func(i int) string {
			return fmt.Sprintf("Timestamp %d of message with offset %d is out of range. The timestamp should be "+
				"within [%d, %d]", now+int64(i-2)*hour, i, now-90*60_000, now+hour)
		}
		want := []RecordError{{0, tsMsg(0)}, {1, keyMsg}, {3, keyMsg}, {4, tsMsg(4)}}
		if fmt.Sprint(re.Records) != fmt.Sprint(want) {
			t.Fatalf("%s: timestamps:\n%v\nwant\n%v", c.name, re.Records, want)
		}
		if re.Error() != "One or more records have been rejected due to invalid timestamp" {
			t.Fatalf("%s: message %q", c.name, re.Error())
		}

		// A LogAppendTime topic takes any timestamp, but not a batch the
		// client marked LogAppendTime.
		rules = validateRules()
		rules.logAppendTime, rules.beforeMaxMs = true, 0
		if _, err := checkBoth(b, rules); err != nil {
			t.Fatalf("%s: LogAppendTime topic: %v", c.name, err)
		}
		lat := kmsgRecordBatch(t, c, 0, now, attrLogAppendTime, plainRecords(2, func(int) int64 { return 0 }))
		_, err = checkBoth(lat, rules)
		if !errors.As(err, &re) || !errors.Is(err, ErrInvalidTimestamp) || len(re.Records) != 2 ||
			!strings.HasSuffix(re.Records[1].Message, "Producer should not set timestamp type to LogAppendTime.") {
			t.Fatalf("%s: LogAppendTime batch: %v", c.name, err)
		}
		// On a CreateTime topic Kafka checks such a batch's records by their
		// timestamp (the batch's max) and takes it.
		if max, err := checkBoth(lat, validateRules()); err != nil || max != now+1000 {
			t.Fatalf("%s: LogAppendTime batch on a CreateTime topic: max %d, %v", c.name, max, err)
		}
	}
}

// A CreateTime batch is stored with its records' max timestamp, whatever
// the client wrote in the header (Kafka's setMaxTimestamp); a batch whose
// header is right is stored as sent.
func TestAppendSetsRecordsMaxTimestamp(t *testing.T) {
	l := openTestLog(t, t.TempDir(), testConfig(1<<20), Options{}, OpenState{})
	defer l.Close()
	right := makeBatch(batchSpec{records: 3, valueSize: 4, ts: 500}) // max 502
	lying := makeBatch(batchSpec{records: 3, valueSize: 4, ts: 500})
	binary.BigEndian.PutUint64(lying[offMaxTimestamp:], 9_000_000_000_000)
	Batch(lying).setCRC(Batch(lying).ComputeCRC())
	// Marked LogAppendTime by the client: on a CreateTime topic Kafka reads
	// every record's timestamp as the header's max, then clears the mark.
	marked := append([]byte{}, lying...)
	marked[offAttributes+1] |= attrLogAppendTime
	Batch(marked).setCRC(Batch(marked).ComputeCRC())
	for _, b := range [][]byte{right, lying, marked} {
		if _, err := l.Append(b, 0); err != nil {
			t.Fatal(err)
		}
	}
	s, err := l.Read(0, 1<<20, l.LogEndOffset())
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range splitBatches(t, readSlice(t, s)) {
		want := []int64{502, 502, 9_000_000_000_000}[i]
		if b.MaxTimestamp() != want || b.IsLogAppendTime() || b.ComputeCRC() != b.CRC() {
			t.Fatalf("batch %d: max ts %d (want %d), append time %v, crc ok %v", i, b.MaxTimestamp(), want,
				b.IsLogAppendTime(), b.ComputeCRC() == b.CRC())
		}
	}
	if got := l.MaxTimestamp(); got != 9_000_000_000_000 {
		t.Fatalf("log max timestamp %d", got)
	}
}

// Validating a good batch allocates nothing per batch in steady state
// beyond what the decoder's codecs do (0 for all but lz4 without -race;
// BenchmarkValidate reports it).
func TestCheckRecordsAllocs(t *testing.T) {
	for _, c := range recordCodecs {
		b := Batch(kmsgRecordBatch(t, c, 0, 1000, 0, plainRecords(100, func(i int) int64 { return int64(i) })))
		rules := validateRules()
		rules.compacted = true
		var d Decoder
		if _, err := checkRecords(&d, b, &rules); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(50, func() {
			if _, err := checkRecords(&d, b, &rules); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 5 { // as TestDecoderReuseAllocs: the codecs' own pools (lz4 frames; -race drops pooled items)
			t.Errorf("%s: %.0f allocations per batch of 100 records", c.name, allocs)
		}
	}
}

// FuzzValidateRecords: any records section under any codec and count is
// accepted or refused with one of the append's errors, without panic. An
// accepted batch holds exactly the records it counts, with offset deltas
// 0..n-1, keys where the topic compacts, and the max timestamp answered.
func FuzzValidateRecords(f *testing.F) {
	for _, c := range recordCodecs {
		raw := recordsSection(f, plainRecords(3, func(i int) int64 { return int64(i) }))
		f.Add(compressCodec(f, c, raw), uint8(c.codec), int32(3), uint8(0))
		f.Add(compressCodec(f, c, raw), uint8(c.codec), int32(math.MaxInt32), uint8(1))
	}
	f.Add([]byte{0x04, 0x22, 0x4d, 0x18, 1, 2, 3}, uint8(3), int32(2), uint8(7))
	f.Fuzz(func(t *testing.T, body []byte, codec uint8, count int32, flags uint8) {
		b := rawBatch(body, int(codec%5), count)
		b[offAttributes+1] |= flags & attrLogAppendTime
		binary.BigEndian.PutUint64(b[offBaseTimestamp:], 1_700_000_000_000)
		b.setCRC(b.ComputeCRC())
		rules := validateRules()
		rules.compacted = flags&1 != 0
		rules.logAppendTime = flags&2 != 0
		if flags&4 != 0 {
			rules.beforeMaxMs, rules.afterMaxMs = 1000, 1000
		}
		maxTs, err := checkBoth(b, rules)
		if err != nil {
			var re *RecordsError
			switch {
			case errors.As(err, &re):
				if len(re.Records) == 0 || errors.Is(err, ErrInvalidTimestamp) != re.Timestamp {
					t.Fatalf("record errors %+v: %v", re, err)
				}
			case !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrInvalidRecord):
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		n, seenMax := int32(0), int64(-1)
		if err := ForEachRecord(b, 0, func(r Record) error {
			if r.OffsetDelta != n || (rules.compacted && r.Key == nil) {
				t.Fatalf("accepted record %d: delta %d, key %v", n, r.OffsetDelta, r.Key != nil)
			}
			n++
			seenMax = max(seenMax, r.Timestamp)
			return nil
		}); err != nil || n != count {
			t.Fatalf("accepted a batch that decodes to %d records of %d: %v", n, count, err)
		}
		if seenMax != maxTs {
			t.Fatalf("max timestamp %d, records' %d", maxTs, seenMax)
		}
	})
}

// BenchmarkValidate is what validation costs an append per batch of 16 1 KiB
// records: "header" is ValidateBatch alone (the framing and CRC-32C checks,
// all there was before records were checked), "records" adds checkRecords
// (decompressing and decoding every record).
func BenchmarkValidate(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([]kmsg.Record, 16)
	for i := range recs {
		v := make([]byte, 1024)
		for j := range v {
			v[j] = "abcdefgh"[rng.IntN(8)] // about 2:1 compressible, like text
		}
		recs[i] = kmsg.Record{OffsetDelta: int32(i), Key: []byte(fmt.Sprintf("key-%d", i)), Value: v}
	}
	for _, c := range []recordCodec{{"none", 0}, {"gzip", 1}, {"snappy", 2}, {"lz4", 3}, {"zstd", 4}} {
		batch := kmsgRecordBatch(b, c, 0, 1000, 0, recs)
		rules := validateRules()
		b.Run(c.name+"/header", func(b *testing.B) {
			b.SetBytes(16 * 1024)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ValidateBatch(batch, 1<<20, OriginClient); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/records", func(b *testing.B) {
			var d Decoder
			b.SetBytes(16 * 1024)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ValidateBatch(batch, 1<<20, OriginClient); err != nil {
					b.Fatal(err)
				}
				if _, err := checkRecords(&d, Batch(batch), &rules); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
