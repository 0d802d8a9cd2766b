package logstore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
)

// Offsets of the fields of a magic-2 record batch (Kafka's DefaultRecordBatch).
// They are part of the on-disk and wire format and must not change.
const (
	offBaseOffset      = 0
	offLength          = 8
	offLeaderEpoch     = 12
	offMagic           = MagicOffset
	offCRC             = 17
	offAttributes      = 21
	offLastOffsetDelta = 23
	offBaseTimestamp   = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offRecordCount     = 57

	// BatchHeaderSize is the size of a batch with no records (Kafka's
	// RECORD_BATCH_OVERHEAD).
	BatchHeaderSize = 61
	// LogOverhead is the base offset and length: the bytes the length
	// field does not count. Every message format (magic 0, 1 and 2) starts
	// with them (Kafka's LOG_OVERHEAD).
	LogOverhead = 12
	logOverhead = LogOverhead
	// MagicOffset is where the magic byte is in every message format
	// (Kafka's MAGIC_OFFSET).
	MagicOffset = 16
	// minRecordSize is the smallest encoded record: seven one-byte fields.
	minRecordSize = 7
)

// Batch attributes (the low byte of the attributes field).
const (
	attrCodecMask     = 0x07
	attrLogAppendTime = 0x08
	attrTransactional = 0x10
	attrControl       = 0x20
	codecMax          = 4 // zstd
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Batch is one whole record batch, as stored and as sent: a view, not a
// copy. Its accessors read the header fields at their fixed offsets; the
// caller must have checked len(b) >= BatchHeaderSize (every Batch logstore
// hands out has been).
type Batch []byte

func (b Batch) BaseOffset() int64      { return int64(binary.BigEndian.Uint64(b[offBaseOffset:])) }
func (b Batch) Length() int32          { return int32(binary.BigEndian.Uint32(b[offLength:])) }
func (b Batch) LeaderEpoch() int32     { return int32(binary.BigEndian.Uint32(b[offLeaderEpoch:])) }
func (b Batch) Magic() int8            { return int8(b[offMagic]) }
func (b Batch) CRC() uint32            { return binary.BigEndian.Uint32(b[offCRC:]) }
func (b Batch) Attributes() int16      { return int16(binary.BigEndian.Uint16(b[offAttributes:])) }
func (b Batch) LastOffsetDelta() int32 { return int32(binary.BigEndian.Uint32(b[offLastOffsetDelta:])) }
func (b Batch) BaseTimestamp() int64   { return int64(binary.BigEndian.Uint64(b[offBaseTimestamp:])) }
func (b Batch) MaxTimestamp() int64    { return int64(binary.BigEndian.Uint64(b[offMaxTimestamp:])) }
func (b Batch) ProducerID() int64      { return int64(binary.BigEndian.Uint64(b[offProducerID:])) }
func (b Batch) ProducerEpoch() int16   { return int16(binary.BigEndian.Uint16(b[offProducerEpoch:])) }
func (b Batch) BaseSequence() int32    { return int32(binary.BigEndian.Uint32(b[offBaseSequence:])) }
func (b Batch) RecordCount() int32     { return int32(binary.BigEndian.Uint32(b[offRecordCount:])) }

// Size is the whole batch in bytes: 12 plus the length field.
func (b Batch) Size() int64 { return logOverhead + int64(b.Length()) }

// LastOffset is the offset of the batch's last record.
func (b Batch) LastOffset() int64 { return b.BaseOffset() + int64(b.LastOffsetDelta()) }

// Codec is the compression: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
func (b Batch) Codec() int { return int(b.Attributes() & attrCodecMask) }

// IsControl reports a transaction marker batch.
func (b Batch) IsControl() bool { return b.Attributes()&attrControl != 0 }

// IsTransactional reports a batch written inside a transaction.
func (b Batch) IsTransactional() bool { return b.Attributes()&attrTransactional != 0 }

// IsLogAppendTime reports a batch whose timestamps are the broker's.
func (b Batch) IsLogAppendTime() bool { return b.Attributes()&attrLogAppendTime != 0 }

// ComputeCRC is the CRC-32C of the batch from the attributes to the end,
// which is what the CRC field holds.
func (b Batch) ComputeCRC() uint32 { return crc32.Checksum(b[offAttributes:], castagnoli) }

func (b Batch) setBaseOffset(o int64)   { binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(o)) }
func (b Batch) setLeaderEpoch(e int32)  { binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(e)) }
func (b Batch) setCRC(c uint32)         { binary.BigEndian.PutUint32(b[offCRC:], c) }
func (b Batch) setMaxTimestamp(t int64) { binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(t)) }

// setLogAppendTime stamps the batch with the broker's time as Kafka's
// setMaxTimestamp(LOG_APPEND_TIME, now) does: the attribute bit, the max
// timestamp, and a new CRC (both fields are under it). Base offset and
// leader epoch are outside the CRC and need none.
func (b Batch) setLogAppendTime(now int64) {
	attr := uint16(b.Attributes()) | attrLogAppendTime
	binary.BigEndian.PutUint16(b[offAttributes:], attr)
	b.setMaxTimestamp(now)
	b.setCRC(b.ComputeCRC())
}

// setCreateTime makes the batch a CreateTime batch whose max timestamp is
// maxTs, with a new CRC, as Kafka's setMaxTimestamp(CREATE_TIME, maxTs)
// does for a client's batch on a CreateTime topic.
func (b Batch) setCreateTime(maxTs int64) {
	attr := uint16(b.Attributes()) &^ attrLogAppendTime
	binary.BigEndian.PutUint16(b[offAttributes:], attr)
	b.setMaxTimestamp(maxTs)
	b.setCRC(b.ComputeCRC())
}

// Origin says who appends: clients are held to more rules than replicas
// (Kafka's AppendOrigin).
type Origin uint8

const (
	// OriginClient: a produce request; offsets are assigned by the log.
	OriginClient Origin = iota
	// OriginReplication: a follower copying the leader; offsets are kept.
	OriginReplication
)

// ValidateBatch checks the batch at the start of p and returns its size. It
// reads only the header and CRCs the bytes; records are not decoded. For
// OriginClient it also applies maxBytes (max.message.bytes) and the rules
// Kafka's LogValidator applies to client batches. Errors wrap ErrCorrupt,
// ErrInvalidRecord or ErrTooLarge with the values found.
func ValidateBatch(p []byte, maxBytes int64, origin Origin) (int64, error) {
	if len(p) < logOverhead {
		return 0, fmt.Errorf("%w: %d bytes left, a batch needs at least %d", ErrCorrupt, len(p), BatchHeaderSize)
	}
	b := Batch(p)
	size := b.Size()
	if b.Length() < BatchHeaderSize-logOverhead {
		return 0, fmt.Errorf("%w: length field %d below the minimum %d", ErrCorrupt, b.Length(), BatchHeaderSize-logOverhead)
	}
	if origin == OriginClient && size > maxBytes {
		return 0, fmt.Errorf("%w: batch of %d bytes over max.message.bytes %d", ErrTooLarge, size, maxBytes)
	}
	if size > int64(len(p)) {
		return 0, fmt.Errorf("%w: batch of %d bytes but only %d left", ErrCorrupt, size, len(p))
	}
	b = b[:size]
	if m := b.Magic(); m > 2 || m < 0 {
		return 0, fmt.Errorf("%w: unknown magic %d", ErrCorrupt, m)
	} else if m != 2 {
		return 0, fmt.Errorf("%w: magic %d, only 2 is accepted", ErrInvalidRecord, m)
	}
	if got, want := b.ComputeCRC(), b.CRC(); got != want {
		return 0, fmt.Errorf("%w: crc %#08x, computed %#08x", ErrCorrupt, want, got)
	}
	if c := b.Codec(); c > codecMax {
		return 0, fmt.Errorf("%w: unknown compression codec %d", ErrInvalidRecord, c)
	}
	delta := b.LastOffsetDelta()
	if delta < 0 {
		return 0, fmt.Errorf("%w: last offset delta %d", ErrInvalidRecord, delta)
	}
	if b.BaseOffset() > math.MaxInt64-int64(delta) {
		return 0, fmt.Errorf("%w: base offset %d + delta %d overflows", ErrInvalidRecord, b.BaseOffset(), delta)
	}
	if origin != OriginClient {
		return size, nil // compacted leaders send batches with gaps and no records
	}
	return size, checkClientBatch(b, size)
}

// checkClientBatch holds the rules Kafka's LogValidator.validateBatch applies
// to batches from clients.
func checkClientBatch(b Batch, size int64) error {
	count, delta := b.RecordCount(), b.LastOffsetDelta()
	switch {
	case count <= 0:
		return fmt.Errorf("%w: record count %d", ErrInvalidRecord, count)
	case int64(count) != int64(delta)+1:
		return fmt.Errorf("%w: record count %d but last offset delta %d", ErrInvalidRecord, count, delta)
	case b.Codec() == 0 && int64(count)*minRecordSize > size-BatchHeaderSize:
		return fmt.Errorf("%w: %d records cannot fit in %d bytes", ErrInvalidRecord, count, size-BatchHeaderSize)
	case b.IsControl():
		return fmt.Errorf("%w: clients may not write control batches", ErrInvalidRecord)
	case b.ProducerID() >= 0 && b.BaseSequence() < 0:
		return fmt.Errorf("%w: producer id %d with base sequence %d", ErrInvalidRecord, b.ProducerID(), b.BaseSequence())
	}
	return nil
}

// batchIter walks the batches of a buffer. Its error is sticky: Next returns
// false from the first bad batch on, and Err says why.
type batchIter struct {
	p      []byte
	pos    int64
	max    int64
	origin Origin
	err    error
}

// Next returns the next whole, valid batch and its position in the buffer.
func (it *batchIter) Next() (Batch, int64, bool) {
	if it.err != nil || it.pos >= int64(len(it.p)) {
		return nil, 0, false
	}
	n, err := ValidateBatch(it.p[it.pos:], it.max, it.origin)
	if err != nil {
		it.err = fmt.Errorf("batch at byte %d: %w", it.pos, err)
		return nil, 0, false
	}
	b, pos := Batch(it.p[it.pos:it.pos+n]), it.pos
	it.pos += n
	return b, pos, true
}

// Err is the first error Next met, or nil.
func (it *batchIter) Err() error { return it.err }

// completePrefix is how many leading bytes of p are whole batches by their
// length fields: a follower's fetch may end in a partial batch, which Kafka
// drops before appending.
func completePrefix(p []byte) int {
	pos := 0
	for len(p)-pos >= logOverhead {
		n := logOverhead + int(int32(binary.BigEndian.Uint32(p[pos+offLength:])))
		if n < BatchHeaderSize || n > len(p)-pos {
			if n < BatchHeaderSize {
				return len(p) // a bad length: let validation report it
			}
			break
		}
		pos += n
	}
	return pos
}
