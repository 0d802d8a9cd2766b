package tools

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/weirmq/weir/logstore"
)

// record is one record of a magic-2 batch, decoded. Key, Value and header
// values are nil when null.
//
// A record on disk (after decompression), varints zigzag-encoded:
//
//	+---------------------+---------+---------------------------------------+
//	| length              | varint  | bytes after this field                |
//	| attributes          | int8    | unused                                |
//	| timestampDelta      | varlong | from the batch's base timestamp       |
//	| offsetDelta         | varint  | from the batch's base offset          |
//	| keyLength, key      | varint  | -1: null                              |
//	| valueLength, value  | varint  | -1: null                              |
//	| headerCount         | varint  |                                       |
//	|   keyLength, key    | varint  | a header key is never null            |
//	|   valueLength, value| varint  | -1: null                              |
//	+---------------------+---------+---------------------------------------+
type record struct {
	Offset    int64
	Timestamp int64
	Key       []byte
	Value     []byte
	Headers   []recordHeader
}

type recordHeader struct {
	Key   string
	Value []byte
}

// decodeRecords decompresses and decodes the records of b. It returns the
// records it could decode and, when the batch is damaged, why it stopped.
func decodeRecords(b logstore.Batch) ([]record, error) {
	if len(b) < logstore.BatchHeaderSize {
		return nil, fmt.Errorf("batch of %d bytes is shorter than its header", len(b))
	}
	data, err := decompress(b.Codec(), b[logstore.BatchHeaderSize:])
	if err != nil {
		return nil, err
	}
	count := b.RecordCount()
	if count < 0 {
		return nil, fmt.Errorf("record count %d", count)
	}
	var recs []record
	r := byteReader{b: data}
	for i := int32(0); i < count; i++ {
		length := r.varint32()
		body := byteReader{b: r.bytes(int64(length))}
		if r.err != nil {
			return recs, fmt.Errorf("record %d of %d: %w", i, count, r.err)
		}
		rec := body.record(b)
		if body.err == nil && len(body.b) > 0 {
			body.err = fmt.Errorf("%d bytes left over", len(body.b))
		}
		if body.err != nil {
			return recs, fmt.Errorf("record %d of %d: %w", i, count, body.err)
		}
		recs = append(recs, rec)
	}
	if len(r.b) > 0 {
		return recs, fmt.Errorf("%d bytes after the last of %d records", len(r.b), count)
	}
	return recs, nil
}

// record decodes one record's fields; the caller checks r.err.
func (r *byteReader) record(b logstore.Batch) record {
	r.int8() // attributes
	tsDelta := r.varint64()
	offDelta := r.varint32()
	rec := record{Offset: b.BaseOffset() + int64(offDelta), Timestamp: b.BaseTimestamp() + tsDelta}
	if b.IsLogAppendTime() {
		rec.Timestamp = b.MaxTimestamp()
	}
	rec.Key = r.nullableBytes()
	rec.Value = r.nullableBytes()
	n := r.varint32()
	if n < 0 || int64(n) > int64(len(r.b)) { // a header takes at least 2 bytes
		r.fail("header count %d with %d bytes left", n, len(r.b))
		return rec
	}
	for i := int32(0); i < n && r.err == nil; i++ {
		k := r.nullableBytes()
		if k == nil && r.err == nil {
			r.fail("header %d has a null key", i)
		}
		rec.Headers = append(rec.Headers, recordHeader{string(k), r.nullableBytes()})
	}
	return rec
}

// byteReader reads the fields of a record. Its error is sticky: after the
// first failure every read returns zero values, and the caller checks err
// once at the end.
type byteReader struct {
	b   []byte
	err error
}

func (r *byteReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
	r.b = nil
}

func (r *byteReader) int8() int8 {
	if len(r.b) < 1 {
		r.fail("cut in a one-byte field")
		return 0
	}
	v := int8(r.b[0])
	r.b = r.b[1:]
	return v
}

func (r *byteReader) varint64() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *byteReader) varint32() int32 {
	v := r.varint64()
	if v < math.MinInt32 || v > math.MaxInt32 {
		r.fail("varint %d out of the int32 range", v)
		return 0
	}
	return int32(v)
}

// bytes takes the next n bytes; n must fit in what is left.
func (r *byteReader) bytes(n int64) []byte {
	if n < 0 || n > int64(len(r.b)) {
		r.fail("length %d with %d bytes left", n, len(r.b))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// nullableBytes reads a varint length and that many bytes; -1 is null.
func (r *byteReader) nullableBytes() []byte {
	n := r.varint32()
	if n == -1 || r.err != nil {
		return nil
	}
	if v := r.bytes(int64(n)); v != nil {
		return v
	}
	return []byte{} // empty, not null (or failed: err says so)
}
