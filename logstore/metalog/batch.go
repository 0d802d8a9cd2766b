package metalog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/weirmq/weir/logstore"
)

// Batch is one record batch of the metadata log or of a snapshot, decoded:
// a data batch holds Records, a control batch Controls.
type Batch struct {
	BaseOffset  int64
	LeaderEpoch int32
	AppendTime  int64 // ms: the batch's max timestamp
	Records     []Record
	Controls    []Control
}

// LastOffset is the offset of the batch's last record.
func (b Batch) LastOffset() int64 {
	return b.BaseOffset + int64(max(len(b.Records), len(b.Controls))) - 1
}

// Batch header attributes Weir's metadata batches use: no compression,
// CreateTime, not transactional; control batches set bit 5.
const attrControl = 1 << 5

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// EncodeBatch returns recs as one magic-2 batch (see logstore's doc for
// the header) starting at base, written in leader epoch epoch at
// appendTime (ms). Keys are null; values are AppendRecord's.
func EncodeBatch(base int64, epoch int32, appendTime int64, recs []Record) []byte {
	if len(recs) == 0 {
		panic("metalog: encoding an empty batch")
	}
	values := make([][]byte, len(recs))
	for i, r := range recs {
		values[i] = AppendRecord(nil, r)
	}
	return encodeBatch(base, epoch, appendTime, 0, nil, values)
}

// EncodeControlBatch returns cs as one control batch.
func EncodeControlBatch(base int64, epoch int32, appendTime int64, cs []Control) []byte {
	if len(cs) == 0 {
		panic("metalog: encoding an empty control batch")
	}
	keys, values := make([][]byte, len(cs)), make([][]byte, len(cs))
	for i, c := range cs {
		keys[i] = appendControlKey(nil, c.ControlType())
		values[i] = appendControlValue(nil, c)
	}
	return encodeBatch(base, epoch, appendTime, attrControl, keys, values)
}

// encodeBatch writes the header and the records: each record is
//
//	length varint | attributes i8 (0) | timestampDelta varlong (0) |
//	offsetDelta varint | keyLength varint (-1: null) | key |
//	valueLength varint | value | headerCount varint (0)
func encodeBatch(base int64, epoch int32, ts int64, attrs int16, keys, values [][]byte) []byte {
	b := make([]byte, logstore.BatchHeaderSize, logstore.BatchHeaderSize+64*len(values))
	var rec []byte
	for i, v := range values {
		rec = append(rec[:0], 0)
		rec = binary.AppendVarint(rec, 0)
		rec = binary.AppendVarint(rec, int64(i))
		if keys == nil {
			rec = binary.AppendVarint(rec, -1)
		} else {
			rec = binary.AppendVarint(rec, int64(len(keys[i])))
			rec = append(rec, keys[i]...)
		}
		rec = binary.AppendVarint(rec, int64(len(v)))
		rec = append(rec, v...)
		rec = binary.AppendVarint(rec, 0)
		b = binary.AppendVarint(b, int64(len(rec)))
		b = append(b, rec...)
	}
	be := binary.BigEndian
	be.PutUint64(b[0:], uint64(base))
	be.PutUint32(b[8:], uint32(len(b)-12))
	be.PutUint32(b[12:], uint32(epoch))
	b[16] = 2 // magic
	be.PutUint16(b[21:], uint16(attrs))
	be.PutUint32(b[23:], uint32(len(values)-1))
	be.PutUint64(b[27:], uint64(ts))
	be.PutUint64(b[35:], uint64(ts))
	be.PutUint64(b[43:], ^uint64(0)) // producer id -1
	be.PutUint16(b[51:], ^uint16(0)) // producer epoch -1
	be.PutUint32(b[53:], ^uint32(0)) // base sequence -1
	be.PutUint32(b[57:], uint32(len(values)))
	be.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	return b
}

// DecodeBatch decodes one whole batch: its framing and CRC are checked
// (logstore.ValidateBatch), then every record. Metadata batches are never
// compressed here; a compressed one is an error.
func DecodeBatch(p []byte) (Batch, error) {
	n, err := logstore.ValidateBatch(p, 0, logstore.OriginReplication)
	if err != nil {
		return Batch{}, err
	}
	if n != int64(len(p)) {
		return Batch{}, fmt.Errorf("%d bytes after the batch", int64(len(p))-n)
	}
	lb := logstore.Batch(p)
	out := Batch{BaseOffset: lb.BaseOffset(), LeaderEpoch: lb.LeaderEpoch(), AppendTime: lb.MaxTimestamp()}
	if lb.Codec() != 0 {
		return out, fmt.Errorf("compressed metadata batch (codec %d)", lb.Codec())
	}
	count := lb.RecordCount()
	if count <= 0 || int64(count) != int64(lb.LastOffsetDelta())+1 {
		return out, fmt.Errorf("%d records, last offset delta %d", count, lb.LastOffsetDelta())
	}
	err = logstore.ForEachRecord(lb, 0, func(rec logstore.Record) error {
		if err := checkRecord(rec, count); err != nil {
			return err
		}
		if lb.IsControl() {
			c, err := DecodeControl(rec.Key, rec.Value)
			out.Controls = append(out.Controls, c)
			return wrapRecord(rec, count, err)
		}
		r, _, err := DecodeRecord(rec.Value)
		out.Records = append(out.Records, r)
		return wrapRecord(rec, count, err)
	})
	return out, err
}

// checkRecord holds a record to the metadata log's rules beyond the
// framing: offset deltas count up from 0, no headers, a value.
func checkRecord(rec logstore.Record, count int32) error {
	switch {
	case rec.OffsetDelta != rec.Index:
		return fmt.Errorf("record %d has offset delta %d", rec.Index, rec.OffsetDelta)
	case len(rec.Headers) != 0:
		return fmt.Errorf("record %d has %d headers; metadata records have none", rec.Index, len(rec.Headers))
	case rec.Value == nil:
		return fmt.Errorf("record %d of %d has a null value", rec.Index, count)
	}
	return nil
}

func wrapRecord(rec logstore.Record, count int32, err error) error {
	if err != nil {
		return fmt.Errorf("record %d of %d: %w", rec.Index, count, err)
	}
	return nil
}
