package metalog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Kafka's primitive types as its flexible message versions write them:
// integers big-endian, lengths as unsigned varints of n+1 (0 for null),
// tagged fields as a count then (tag, size, bytes) each.

// errShort is the reader's error when a field runs past the input.
var errShort = errors.New("input ends inside a field")

// errNullArray is the reader's error for null where an array can't be.
var errNullArray = errors.New("null for a non-nullable array")

// reader decodes fields from b. Its error is sticky: after the first
// failure every read returns a zero value, and err says what failed.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.fail(errShort)
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) int8() int8 {
	if b := r.take(1); b != nil {
		return int8(b[0])
	}
	return 0
}

func (r *reader) bool() bool {
	if b := r.take(1); b != nil {
		return b[0] != 0
	}
	return false
}

func (r *reader) uint16() uint16 {
	if b := r.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) int16() int16 {
	if b := r.take(2); b != nil {
		return int16(binary.BigEndian.Uint16(b))
	}
	return 0
}

func (r *reader) int32() int32 {
	if b := r.take(4); b != nil {
		return int32(binary.BigEndian.Uint32(b))
	}
	return 0
}

func (r *reader) int64() int64 {
	if b := r.take(8); b != nil {
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}

func (r *reader) uuid() (id UUID) {
	copy(id[:], r.take(16))
	return id
}

// uvarint reads an unsigned varint of at most 32 bits, as Kafka's
// readUnsignedVarint does.
func (r *reader) uvarint() uint32 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > math.MaxUint32 {
		r.fail(fmt.Errorf("bad unsigned varint"))
		return 0
	}
	r.b = r.b[n:]
	return uint32(v)
}

// compactLen reads a compact length: -1 for null.
func (r *reader) compactLen() int {
	n := int(r.uvarint()) - 1
	if n > len(r.b) { // every element takes at least a byte
		r.fail(errShort)
		return 0
	}
	return n
}

func (r *reader) string() string {
	n := r.compactLen()
	if n < 0 {
		r.fail(fmt.Errorf("null for a non-nullable string"))
		return ""
	}
	return string(r.take(n))
}

func (r *reader) nullableString() *string {
	n := r.compactLen()
	if n < 0 || r.err != nil {
		return nil
	}
	s := string(r.take(n))
	return &s
}

// int32s reads a compact array of int32. Where null is allowed it reads
// as nil and an empty array as a non-nil empty slice; where it is not, an
// empty array reads as nil, so records built with nil slices round-trip.
func (r *reader) int32s(nullable bool) []int32 {
	n := r.compactLen()
	if n < 0 {
		if !nullable && r.err == nil {
			r.fail(fmt.Errorf("null for a non-nullable array"))
		}
		return nil
	}
	if n == 0 && !nullable {
		return nil
	}
	out := make([]int32, 0, min(n, len(r.b)/4))
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.int32())
	}
	return out
}

func (r *reader) uuids(nullable bool) []UUID {
	n := r.compactLen()
	if n < 0 {
		if !nullable && r.err == nil {
			r.fail(fmt.Errorf("null for a non-nullable array"))
		}
		return nil
	}
	if n == 0 && !nullable {
		return nil
	}
	out := make([]UUID, 0, min(n, len(r.b)/16))
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.uuid())
	}
	return out
}

// tags reads a tagged-field section, calling known with each tag's reader;
// known returns false for a tag it does not know, which is skipped, as
// Kafka skips unknown tags. Tags must strictly increase.
func (r *reader) tags(known func(tag uint32, field *reader) bool) {
	n := r.uvarint()
	last := int64(-1)
	for i := uint32(0); i < n && r.err == nil; i++ {
		tag := r.uvarint()
		data := r.take(int(r.uvarint()))
		if r.err != nil {
			return
		}
		if int64(tag) <= last {
			r.fail(fmt.Errorf("tag %d after tag %d", tag, last))
			return
		}
		last = int64(tag)
		if known == nil {
			continue
		}
		field := reader{b: data}
		if known(tag, &field) {
			if field.err == nil && len(field.b) > 0 {
				field.err = fmt.Errorf("%d bytes left in tagged field %d", len(field.b), tag)
			}
			if field.err != nil {
				r.fail(fmt.Errorf("tagged field %d: %w", tag, field.err))
			}
		}
	}
}

// done is the reader's error, or one for bytes left over.
func (r *reader) done() error {
	if r.err == nil && len(r.b) > 0 {
		return fmt.Errorf("%d bytes left over", len(r.b))
	}
	return r.err
}

// The appenders write what the readers read.

func appendInt16(b []byte, v int16) []byte   { return binary.BigEndian.AppendUint16(b, uint16(v)) }
func appendUint16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}
func appendInt32(b []byte, v int32) []byte { return binary.BigEndian.AppendUint32(b, uint32(v)) }
func appendInt64(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

func appendUvarint(b []byte, v uint32) []byte { return binary.AppendUvarint(b, uint64(v)) }

func appendString(b []byte, s string) []byte {
	b = appendUvarint(b, uint32(len(s)+1))
	return append(b, s...)
}

func appendNullableString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, 0)
	}
	return appendString(b, *s)
}

// appendInt32s writes a compact array; nil is written as null, so callers
// of non-nullable fields pass a non-nil slice or accept an empty one.
func appendInt32s(b []byte, v []int32, nullable bool) []byte {
	if v == nil && nullable {
		return append(b, 0)
	}
	b = appendUvarint(b, uint32(len(v)+1))
	for _, x := range v {
		b = appendInt32(b, x)
	}
	return b
}

func appendUUIDs(b []byte, v []UUID, nullable bool) []byte {
	if v == nil && nullable {
		return append(b, 0)
	}
	b = appendUvarint(b, uint32(len(v)+1))
	for _, x := range v {
		b = append(b, x[:]...)
	}
	return b
}

// tagWriter collects tagged fields, which must be added in increasing tag
// order, and writes the section.
type tagWriter struct {
	n    uint32
	body []byte
}

func (t *tagWriter) add(tag uint32, field []byte) {
	t.n++
	t.body = appendUvarint(t.body, tag)
	t.body = appendUvarint(t.body, uint32(len(field)))
	t.body = append(t.body, field...)
}

func (t *tagWriter) appendTo(b []byte) []byte {
	b = appendUvarint(b, t.n)
	return append(b, t.body...)
}
