package logstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// recordCodec is a codec with the framing a test encodes it in: snappy
// comes raw (franz-go, librdkafka) or xerial-framed (the Java client).
type recordCodec struct {
	name  string
	codec int
}

var recordCodecs = []recordCodec{
	{"none", 0}, {"gzip", 1}, {"snappy", 2}, {"snappy-xerial", 2}, {"lz4", 3}, {"zstd", 4},
}

// compressCodec compresses raw as c says.
func compressCodec(t testing.TB, c recordCodec, raw []byte) []byte {
	t.Helper()
	if c.name != "snappy-xerial" {
		return compressForTest(t, c.codec, raw)
	}
	src := append([]byte{}, xerialMagic...)
	src = binary.BigEndian.AppendUint32(src, 1)
	src = binary.BigEndian.AppendUint32(src, 1)
	for len(raw) > 0 { // blocks of at most 1 KiB, as several as the data needs
		n := min(len(raw), 1024)
		blk := s2.EncodeSnappy(nil, raw[:n])
		src = binary.BigEndian.AppendUint32(src, uint32(len(blk)))
		src = append(src, blk...)
		raw = raw[n:]
	}
	return src
}

// kmsgRecordBatch encodes recs with kmsg as a producer does, the records
// section compressed as c says, at base offset base.
func kmsgRecordBatch(t testing.TB, c recordCodec, base, firstTs int64, attrs int16, recs []kmsg.Record) []byte {
	t.Helper()
	var raw []byte
	for i := range recs {
		r := &recs[i]
		r.Length = 0
		r.Length = int32(len(r.AppendTo(nil)) - 1) // AppendTo writes Length (one byte for 0) first
		raw = r.AppendTo(raw)
	}
	body := compressCodec(t, c, raw)
	b := kmsg.RecordBatch{
		FirstOffset: base, Length: int32(BatchHeaderSize - logOverhead + len(body)), PartitionLeaderEpoch: -1,
		Magic: 2, Attributes: attrs | int16(c.codec), LastOffsetDelta: int32(len(recs) - 1),
		FirstTimestamp: firstTs, MaxTimestamp: firstTs + 1000, ProducerID: -1, ProducerEpoch: -1,
		FirstSequence: -1, NumRecords: int32(len(recs)), Records: body,
	}
	out := b.AppendTo(nil)
	Batch(out).setCRC(Batch(out).ComputeCRC())
	return out
}

// sampleKmsgRecords are n records with keys, a null key, a null value, an
// empty value, headers with null and empty values, big and negative deltas.
func sampleKmsgRecords(n int) []kmsg.Record {
	recs := make([]kmsg.Record, n)
	for i := range recs {
		r := &recs[i]
		r.OffsetDelta = int32(i * 3)
		r.TimestampDelta64 = int64(i*1_000_003) - 5
		r.Key = []byte(fmt.Sprintf("key-%d", i))
		r.Value = bytes.Repeat([]byte{byte(i), 'v'}, i*37%500)
		switch i % 5 {
		case 1:
			r.Key = nil
		case 2:
			r.Value = nil
		case 3:
			r.Value = []byte{}
			r.Headers = []kmsg.Header{{Key: "h1", Value: []byte("x")}, {Key: "", Value: nil}, {Key: "h3", Value: []byte{}}}
		}
	}
	return recs
}

func TestForEachRecordRoundTrip(t *testing.T) {
	for _, c := range recordCodecs {
		for _, logAppend := range []bool{false, true} {
			var attrs int16
			if logAppend {
				attrs = attrLogAppendTime
			}
			want := sampleKmsgRecords(40)
			b := Batch(kmsgRecordBatch(t, c, 1000, 5000, attrs, append([]kmsg.Record{}, want...)))
			var got []Record
			err := ForEachRecord(b, 0, func(r Record) error {
				r.Key, r.Value, r.Raw = bytes.Clone(r.Key), bytes.Clone(r.Value), bytes.Clone(r.Raw)
				r.Headers = append([]Header(nil), r.Headers...)
				got = append(got, r)
				return nil
			})
			if err != nil || len(got) != len(want) {
				t.Fatalf("%s: %d records, %v", c.name, len(got), err)
			}
			for i, r := range got {
				w := want[i]
				ts := 5000 + w.TimestampDelta64
				if logAppend {
					ts = b.MaxTimestamp()
				}
				if r.Index != int32(i) || r.OffsetDelta != w.OffsetDelta || r.Offset != 1000+int64(w.OffsetDelta) ||
					r.TimestampDelta != w.TimestampDelta64 || r.Timestamp != ts || r.Attributes != w.Attributes ||
					!sameNullable(r.Key, w.Key) || !sameNullable(r.Value, w.Value) || len(r.Headers) != len(w.Headers) {
					t.Fatalf("%s: record %d: %+v, want %+v", c.name, i, r, w)
				}
				for j, h := range r.Headers {
					if string(h.Key) != w.Headers[j].Key || h.Key == nil || !sameNullable(h.Value, w.Headers[j].Value) {
						t.Fatalf("%s: record %d header %d: %q=%q, want %+v", c.name, i, j, h.Key, h.Value, w.Headers[j])
					}
				}
				var kr kmsg.Record // Raw is one whole record as kmsg reads it
				if err := kr.ReadFrom(r.Raw); err != nil || kr.OffsetDelta != w.OffsetDelta {
					t.Fatalf("%s: record %d raw: %v", c.name, i, err)
				}
			}
		}
	}
}

// sameNullable compares bytes telling null from empty.
func sameNullable(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

// A Decoder reused batch after batch allocates nothing per record, for
// every codec (lz4's frame reader may keep a few small per-frame objects).
func TestDecoderReuseAllocs(t *testing.T) {
	for _, c := range recordCodecs {
		b := Batch(kmsgRecordBatch(t, c, 0, 0, 0, sampleKmsgRecords(100)))
		var d Decoder
		n := 0
		count := func(Record) error { n++; return nil }
		if err := d.ForEachRecord(b, count); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			if err := d.ForEachRecord(b, count); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 5 {
			t.Errorf("%s: %.0f allocations per batch of 100 records", c.name, allocs)
		}
	}
}

// bombBatch is a batch whose one record's value is size zero bytes: a few
// KiB compressed.
func bombBatch(t testing.TB, c recordCodec, size int) []byte {
	t.Helper()
	var raw []byte
	switch c.codec {
	case 1:
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		writeBomb(t, w, size)
		w.Close()
		raw = buf.Bytes()
	case 4:
		var buf bytes.Buffer // streamed: the frame declares no content size
		w, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithWindowSize(1<<20))
		if err != nil {
			t.Fatal(err)
		}
		writeBomb(t, w, size)
		w.Close()
		raw = buf.Bytes()
	default:
		raw = compressCodec(t, c, bombRecord(size))
	}
	b := kmsg.RecordBatch{Length: int32(BatchHeaderSize - logOverhead + len(raw)), Magic: 2,
		Attributes: int16(c.codec), FirstTimestamp: 1, MaxTimestamp: 1, ProducerID: -1, ProducerEpoch: -1,
		FirstSequence: -1, NumRecords: 1, Records: raw}
	out := b.AppendTo(nil)
	Batch(out).setCRC(Batch(out).ComputeCRC())
	return out
}

// bombRecord is the encoding of one record with a value of size zeros.
func bombRecord(size int) []byte {
	var r []byte
	r = append(r, 0, 0, 0, 1) // attributes, deltas, null key
	r = binary.AppendVarint(r, int64(size))
	r = append(r, make([]byte, size)...)
	r = append(r, 0)
	return append(binary.AppendVarint(nil, int64(len(r))), r...)
}

func writeBomb(t testing.TB, w interface{ Write([]byte) (int, error) }, size int) {
	t.Helper()
	rec := bombRecord(0)
	head := append(binary.AppendVarint(nil, int64(len(rec)-1+varintLen(size)+size)), 0, 0, 0, 1)
	head = binary.AppendVarint(head, int64(size))
	w.Write(head)
	zeros := make([]byte, 1<<20)
	for left := size; left > 0; left -= len(zeros) {
		if _, err := w.Write(zeros[:min(left, len(zeros))]); err != nil {
			t.Fatal(err)
		}
	}
	w.Write([]byte{0})
}

func varintLen(v int) int { return len(binary.AppendVarint(nil, int64(v))) - 1 }

// A small batch that inflates past the limit is refused with an error
// that says so, having allocated about the limit, not what it inflates to.
func TestForEachRecordBomb(t *testing.T) {
	const limit = 1 << 20
	for _, c := range recordCodecs {
		size := 64 << 20
		if c.codec == 2 || c.codec == 3 {
			size = 32 << 20 // encoded from a buffer in memory: kept smaller
		}
		b := Batch(bombBatch(t, c, size))
		if c.codec == 0 {
			b = Batch(bombBatch(t, c, 2*limit))
		}
		var d Decoder
		d.Limit = limit
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		err := d.ForEachRecord(b, func(Record) error { return nil })
		runtime.ReadMemStats(&after)
		if c.codec == 0 { // nothing to decompress: the limit does not apply
			if err != nil {
				t.Errorf("none: %v", err)
			}
			continue
		}
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "decompress past the limit of 1048576 bytes") {
			t.Errorf("%s: %d compressed bytes inflating to %d: %v", c.name, len(b), size, err)
		}
		// Bounded by the limit and the codecs' own buffers (lz4 keeps 4 MiB
		// blocks; the race detector adds more), far below the bomb's size.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 16*limit {
			t.Errorf("%s: allocated %d bytes refusing a %d-byte bomb (limit %d)", c.name, grew, size, limit)
		}
		t.Logf("%s: %d bytes inflating to %d: allocated %d: %v", c.name, len(b), size,
			after.TotalAlloc-before.TotalAlloc, err)
	}
}

// Cut, garbled or miscounted records are refused, never half-accepted
// silently, for every codec.
func TestForEachRecordDamaged(t *testing.T) {
	for _, c := range recordCodecs {
		raw := recordsSection(t, sampleKmsgRecords(6))
		for cut := 1; cut < len(raw); cut += 5 {
			b := rawBatch(compressCodec(t, c, raw[:cut]), c.codec, 6)
			if err := ForEachRecord(b, 0, func(Record) error { return nil }); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: records cut at %d of %d: %v", c.name, cut, len(raw), err)
			}
		}
		for _, count := range []int32{-1, 0, 5, 7} {
			b := rawBatch(compressCodec(t, c, raw), c.codec, count)
			if err := ForEachRecord(b, 0, func(Record) error { return nil }); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: count %d of 6 records: %v", c.name, count, err)
			}
		}
	}
	good := recordsSection(t, sampleKmsgRecords(1))
	cases := map[string][]byte{
		"length beyond the end":      binary.AppendVarint(nil, 100),
		"negative length":            binary.AppendVarint(nil, -5),
		"length over int32":          binary.AppendVarint(nil, 1<<40),
		"key length below -1":        oneRecord(0, 0, 0, -2),
		"header with a null key":     oneRecord(0, 0, 0, -1, -1, 1, -1, -1),
		"negative header count":      oneRecord(0, 0, 0, -1, -1, -1),
		"header count beyond bytes":  oneRecord(0, 0, 0, -1, -1, 1000),
		"bytes left in a record":     oneRecord(0, 0, 0, -1, -1, 0, 9),
		"trailing bytes after count": append(append([]byte{}, good...), 0),
		"unterminated varint":        {0x80, 0x80},
	}
	for name, raw := range cases {
		b := rawBatch(raw, 0, 1)
		err := ForEachRecord(b, 0, func(Record) error { return nil })
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
	stop := errors.New("stop")
	if err := ForEachRecord(rawBatch(good, 0, 1), 0, func(Record) error { return stop }); err != stop {
		t.Errorf("fn's error: %v", err)
	}
	if err := ForEachRecord(rawBatch(good, 5, 1), 0, func(Record) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Errorf("codec 5: %v", err)
	}
}

// oneRecord is one record made of the given varints after the attributes.
func oneRecord(fields ...int64) []byte {
	r := []byte{0}
	for _, f := range fields {
		r = binary.AppendVarint(r, f)
	}
	return append(binary.AppendVarint(nil, int64(len(r))), r...)
}

// recordsSection is recs encoded, uncompressed.
func recordsSection(t testing.TB, recs []kmsg.Record) []byte {
	b := Batch(kmsgRecordBatch(t, recordCodecs[0], 0, 0, 0, recs))
	return b[BatchHeaderSize:]
}

// rawBatch is a batch holding body as its records section.
func rawBatch(body []byte, codec int, count int32) Batch {
	b := kmsg.RecordBatch{Length: int32(BatchHeaderSize - logOverhead + len(body)), Magic: 2,
		Attributes: int16(codec), ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		LastOffsetDelta: max(count-1, 0), NumRecords: count, Records: body}
	return Batch(b.AppendTo(nil))
}

// FuzzRecords: any records section, under any codec, is decoded or refused
// with ErrCorrupt, without panic and within the limit; what is decoded
// re-encodes to the same bytes.
func FuzzRecords(f *testing.F) {
	for _, c := range recordCodecs {
		raw := recordsSection(f, sampleKmsgRecords(4))
		f.Add(compressCodec(f, c, raw), uint8(c.codec), int32(4))
	}
	f.Add([]byte{}, uint8(0), int32(0))
	f.Fuzz(func(t *testing.T, body []byte, codec uint8, count int32) {
		b := rawBatch(body, int(codec%8), count)
		var d Decoder
		d.Limit = 1 << 20
		var again []byte
		n := int32(0)
		err := d.ForEachRecord(b, func(r Record) error {
			if r.Index != n || len(r.Raw) == 0 {
				t.Fatalf("record %d has index %d, %d raw bytes", n, r.Index, len(r.Raw))
			}
			n++
			again = append(again, r.Raw...)
			return nil
		})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not marked corrupt: %v", err)
			}
			return
		}
		if n != count {
			t.Fatalf("%d records, count %d", n, count)
		}
		if codec%8 == 0 && !bytes.Equal(again, body) {
			t.Fatalf("records do not cover the section: %d of %d bytes", len(again), len(body))
		}
	})
}

// BenchmarkForEachRecord decodes batches of 1 KiB records with a reused
// Decoder: the cost the append path pays to validate records.
func BenchmarkForEachRecord(b *testing.B) {
	for _, c := range []recordCodec{{"none", 0}, {"lz4", 3}, {"zstd", 4}} {
		for _, n := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/records=%d", c.name, n), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 2))
				recs := make([]kmsg.Record, n)
				for i := range recs {
					v := make([]byte, 1024)
					for j := range v {
						v[j] = "abcdefgh"[rng.IntN(8)] // about 2:1 compressible, like text
					}
					recs[i] = kmsg.Record{Key: []byte(fmt.Sprintf("key-%d", i)), Value: v}
				}
				batch := Batch(kmsgRecordBatch(b, c, 0, 0, 0, recs))
				var d Decoder
				b.SetBytes(int64(n * 1024))
				b.ReportAllocs()
				for b.Loop() {
					if err := d.ForEachRecord(batch, func(Record) error { return nil }); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
