package logstore

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
)

// The records of a magic-2 batch follow its header, compressed as a whole
// when the codec bits say so. Each record, varints zigzag-encoded (Kafka's
// DefaultRecord); part of the format, must not change:
//
//	+----------------------+---------+--------------------------------------+
//	| length               | varint  | bytes after this field               |
//	| attributes           | int8    | unused                               |
//	| timestampDelta       | varlong | from the batch's base timestamp      |
//	| offsetDelta          | varint  | from the batch's base offset         |
//	| keyLength, key       | varint  | -1: null                             |
//	| valueLength, value   | varint  | -1: null                             |
//	| headerCount          | varint  |                                      |
//	|   keyLength, key     | varint  | a header key is never null           |
//	|   valueLength, value | varint  | -1: null                             |
//	+----------------------+---------+--------------------------------------+
//
// The decoder holds records to that framing: every length within what is
// left, every field inside its record's length, no bytes left in a record
// or after the last one, as many records as the header counts.
//
// Its errors all wrap ErrCorrupt. Those of the framing (not of the codec)
// are also a *framingError: the produce path answers them INVALID_RECORD,
// as Kafka's record iterators throw InvalidRecordException for them, and a
// codec's failure CORRUPT_MESSAGE.

// DefaultDecompressedLimit bounds what one batch's records may decompress
// to when the caller gives no limit: a small compressed batch cannot make
// the broker allocate without bound.
const DefaultDecompressedLimit = 64 << 20

// Record is one record of a batch, decoded. Its slices are views into the
// batch or the decoder's buffer, valid until the callback returns; copy
// what must outlive it. Key, Value and header values are nil when null.
type Record struct {
	Index          int32 // position in the batch, 0 for the first
	Attributes     int8
	TimestampDelta int64
	OffsetDelta    int32
	// Offset is the batch's base offset plus OffsetDelta; Timestamp the
	// base timestamp plus TimestampDelta, or the batch's max timestamp
	// when the batch has LogAppendTime (as Kafka reads it).
	Offset    int64
	Timestamp int64
	Key       []byte
	Value     []byte
	Headers   []Header
	Raw       []byte // the whole encoding, length varint included
}

// Header is one record header; Key is never nil.
type Header struct {
	Key, Value []byte
}

// Decoder decodes the records of batches. It keeps its buffers and codec
// readers from batch to batch, so decoding allocates nothing in steady
// state. Not for concurrent use.
type Decoder struct {
	// Limit caps the decompressed size of a batch's records, in bytes;
	// 0 means DefaultDecompressedLimit.
	Limit int64

	buf     []byte
	headers []Header
	codecs  codecReaders
}

// ForEachRecord decodes the records of b (a whole magic-2 batch) and calls
// fn with each in order. It stops at the first error fn returns, which it
// returns as is. Damage (a framing error, a codec error, records that
// decompress past limit) is an error wrapping ErrCorrupt, after fn has
// seen the records before it. limit <= 0 means DefaultDecompressedLimit.
func ForEachRecord(b Batch, limit int64, fn func(Record) error) error {
	d := decoderPool.Get().(*Decoder)
	d.Limit = limit
	err := d.ForEachRecord(b, fn)
	d.trim()
	decoderPool.Put(d)
	return err
}

var decoderPool = sync.Pool{New: func() any { return new(Decoder) }}

// pooledBufMax is the largest buffer a pooled decoder keeps: room for a
// batch of max.message.bytes (1 MiB) that compresses 5x. Produce decodes
// every batch; when buffers above 1 MiB were dropped, each append of 1 MiB
// lz4 batches grew its buffer again from 64 KiB, half of validation's CPU.
// Bigger ones (up to the limit, for bombs) go back to the GC.
const pooledBufMax = 8 << 20

func (d *Decoder) trim() {
	if cap(d.buf) > pooledBufMax {
		d.buf = nil
	}
}

// ForEachRecord is the package function with d's buffers and limit.
func (d *Decoder) ForEachRecord(b Batch, fn func(Record) error) error {
	if len(b) < BatchHeaderSize {
		return fmt.Errorf("%w: batch of %d bytes is shorter than its header", ErrCorrupt, len(b))
	}
	if m := b.Magic(); m != 2 {
		return fmt.Errorf("%w: magic %d: only magic 2 batches hold records this decoder reads", ErrCorrupt, m)
	}
	if b.Size() > int64(len(b)) || b.Size() < BatchHeaderSize {
		return fmt.Errorf("%w: batch length field %d with %d bytes", ErrCorrupt, b.Length(), len(b))
	}
	count := b.RecordCount()
	if count < 0 {
		return badFraming("record count %d", count)
	}
	data, err := d.decompress(b.Codec(), b[BatchHeaderSize:b.Size()])
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	rec := Record{}
	for i := int32(0); i < count; i++ {
		if len(data) == 0 {
			return badFraming("%d records declared, the records end after %d", count, i)
		}
		n, err := d.record(data, &rec)
		if err != nil {
			return badFraming("record %d of %d: %v", i, count, err)
		}
		data = data[n:]
		rec.Index = i
		rec.Offset = b.BaseOffset() + int64(rec.OffsetDelta)
		rec.Timestamp = b.BaseTimestamp() + rec.TimestampDelta
		if b.IsLogAppendTime() {
			rec.Timestamp = b.MaxTimestamp()
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	if len(data) > 0 {
		return badFraming("%d bytes after the last of %d records", len(data), count)
	}
	return nil
}

// framingError is a batch whose records, once decompressed, do not hold to
// the record framing: a length or varint out of bounds, fewer or more
// records than the header counts, bytes left over. It is ErrCorrupt to
// errors.Is.
type framingError struct {
	detail string
}

func badFraming(format string, args ...any) error {
	return &framingError{detail: fmt.Sprintf(format, args...)}
}

func (e *framingError) Error() string        { return ErrCorrupt.Error() + ": " + e.detail }
func (e *framingError) Is(target error) bool { return target == ErrCorrupt }

func (d *Decoder) limit() int64 {
	if d.Limit <= 0 {
		return DefaultDecompressedLimit
	}
	return d.Limit
}

// record decodes the record at the start of p into rec and answers its
// encoded size. rec's headers reuse d's slice.
func (d *Decoder) record(p []byte, rec *Record) (int, error) {
	r := fieldReader{b: p}
	length := r.varint32()
	body := fieldReader{b: r.bytes(length)}
	if r.err != nil {
		return 0, r.err
	}
	rec.Raw = p[:len(p)-len(r.b)]
	rec.Attributes = body.int8()
	rec.TimestampDelta = body.varint64()
	rec.OffsetDelta = body.varint32()
	rec.Key = body.nullableBytes()
	rec.Value = body.nullableBytes()
	n := body.varint32()
	if body.err == nil && (n < 0 || int64(n) > int64(len(body.b))/2) { // a header takes 2 bytes at least
		body.fail("header count %d with %d bytes left", n, len(body.b))
	}
	d.headers = d.headers[:0]
	for i := int32(0); i < n && body.err == nil; i++ {
		k := body.nullableBytes()
		if k == nil && body.err == nil {
			body.fail("header %d has a null key", i)
		}
		d.headers = append(d.headers, Header{k, body.nullableBytes()})
	}
	if body.err == nil && len(body.b) > 0 {
		body.fail("%d bytes left over", len(body.b))
	}
	if body.err != nil {
		return 0, body.err
	}
	rec.Headers = d.headers
	if n == 0 {
		rec.Headers = nil
	}
	return len(rec.Raw), nil
}

// fieldReader reads the fields of a record. Its error is sticky: after
// the first failure every read returns zero values, and the caller checks
// err once at the end.
type fieldReader struct {
	b   []byte
	err error
}

func (r *fieldReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
	r.b = nil
}

func (r *fieldReader) int8() int8 {
	if len(r.b) < 1 {
		r.fail("cut in a one-byte field")
		return 0
	}
	v := int8(r.b[0])
	r.b = r.b[1:]
	return v
}

func (r *fieldReader) varint64() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *fieldReader) varint32() int32 {
	v := r.varint64()
	if v < math.MinInt32 || v > math.MaxInt32 {
		r.fail("varint %d out of the int32 range", v)
		return 0
	}
	return int32(v)
}

// bytes takes the next n bytes; n must fit in what is left.
func (r *fieldReader) bytes(n int32) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || int64(n) > int64(len(r.b)) {
		r.fail("length %d with %d bytes left", n, len(r.b))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// nullableBytes reads a varint length and that many bytes; -1 is null.
func (r *fieldReader) nullableBytes() []byte {
	n := r.varint32()
	if n == -1 || r.err != nil {
		return nil
	}
	return r.bytes(n) // empty but not nil when n is 0: a slice of r.b
}
