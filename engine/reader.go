package engine

import (
	"encoding/binary"
	"errors"
)

// errShort is a reader's sticky error: the input ended inside a field.
var errShort = errors.New("truncated")

// reader decodes big-endian Kafka primitives. The first failure sticks:
// later reads return zero values, and err says what went wrong, so a
// decoder checks once at the end (franz-go's kbin.Reader.Complete).
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = errShort
		r.b = nil
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
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

// uvarint reads an unsigned varint of at most 5 bytes (Kafka's are 32-bit).
func (r *reader) uvarint() uint32 {
	if r.err != nil {
		return 0
	}
	var v uint32
	for i := 0; i < 5; i++ {
		if i == len(r.b) {
			r.fail(errShort)
			return 0
		}
		c := r.b[i]
		if i == 4 && c > 0x0f {
			r.fail(errors.New("varint overflows 32 bits"))
			return 0
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			r.b = r.b[i+1:]
			return v
		}
	}
	panic("unreachable")
}

// nullableString reads an int16 length (-1 is null) and the bytes; the
// returned slice aliases the input.
func (r *reader) nullableString() (s []byte, null bool) {
	n := r.int16()
	if r.err != nil {
		return nil, false
	}
	if n == -1 {
		return nil, true
	}
	if n < 0 {
		r.fail(errors.New("negative string length"))
		return nil, false
	}
	return r.take(int(n)), false
}

// skipTags skips a tagged-field section: a count, then per field a tag and
func (r *reader) skipTags() {
	n := r.uvarint()
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.uvarint() // the tag: none is known in a request header
		size := r.uvarint()
		r.take(int(size))
	}
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
		r.b = nil
	}
}
