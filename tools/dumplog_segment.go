package tools

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/weirmq/weir/logstore"
)

// Framing of a batch in a .log: base offset i64, length i32, then length
// bytes (logstore.LogOverhead). The magic byte is at logstore.MagicOffset
// in every format (v0 and v1 message sets share the framing), so the walk
// can step over batches it cannot decode.
const (
	logOverhead   = logstore.LogOverhead
	offMagic      = logstore.MagicOffset
	minLegacySize = 26 // a v0 message with no key and no value
)

// segmentWalker reads the batches of a .log from its start, by their
// length fields. It checks framing only; what a batch holds (CRC, magic,
// records) is for the caller to judge. It never seeks, so it works on a
// pipe or a byte slice as well as on a file.
type segmentWalker struct {
	r         *bufio.Reader
	size      int64 // bytes in the file
	pos       int64
	buf       []byte
	skipZeros bool // end at a zero header without reading the rest (1 GiB in a live segment)
}

// segmentTail says why a walk ended before the end of the file.
type segmentTail struct {
	pos    int64
	reason string
	zeros  bool // zeros to the end: a preallocated segment's unwritten space, not damage
}

// walkChunk is the walker's read size: big enough that a segment is read
// in few syscalls, small enough to allocate per file.
const walkChunk = 64 << 10

// zeroChunk is compared against to find the end of a zero tail.
var zeroChunk = make([]byte, walkChunk)

func newSegmentWalker(r io.Reader, size int64) *segmentWalker {
	return &segmentWalker{r: bufio.NewReaderSize(r, int(min(walkChunk, max(size, 16)))), size: size}
}

// next returns the next batch and its position; the batch is valid until
// the next call. At the end of the batches it returns a nil batch with a
// nil tail when the file ended cleanly, or the tail that stopped it. A
// read error is returned as err.
func (w *segmentWalker) next() (pos int64, b []byte, tail *segmentTail, err error) {
	pos, left := w.pos, w.size-w.pos
	if left <= 0 {
		return pos, nil, nil, nil
	}
	if left < logOverhead {
		return pos, nil, &segmentTail{pos: pos, reason: fmt.Sprintf("%d bytes left, less than a batch header", left)}, nil
	}
	w.buf = grow(w.buf, logOverhead)
	if _, err := io.ReadFull(w.r, w.buf); err != nil {
		return pos, nil, nil, fmt.Errorf("read at %d: %w", pos, err)
	}
	length := int64(int32(binary.BigEndian.Uint32(w.buf[8:])))
	switch {
	case length == 0 && binary.BigEndian.Uint64(w.buf) == 0:
		t, err := w.zeros(pos)
		return pos, nil, t, err
	case length < minLegacySize-logOverhead:
		return pos, nil, &segmentTail{pos: pos, reason: fmt.Sprintf("batch length %d is below any batch's", length)}, nil
	case length > left-logOverhead:
		return pos, nil, &segmentTail{pos: pos, reason: fmt.Sprintf("batch of %d bytes but only %d left in the file",
			logOverhead+length, left)}, nil
	}
	w.buf = grow(w.buf, int(logOverhead+length))
	if _, err := io.ReadFull(w.r, w.buf[logOverhead:]); err != nil {
		return pos, nil, nil, fmt.Errorf("read at %d: %w", pos+logOverhead, err)
	}
	if w.buf[offMagic] >= 2 && len(w.buf) < logstore.BatchHeaderSize {
		return pos, nil, &segmentTail{pos: pos, reason: fmt.Sprintf("magic %d batch of %d bytes, shorter than its header",
			w.buf[offMagic], len(w.buf))}, nil
	}
	w.pos += logOverhead + length
	return pos, w.buf, nil, nil
}

// zeros reads the rest of the file after a zero header at pos: all zeros is
// the unwritten end of a preallocated segment; anything else is damage.
func (w *segmentWalker) zeros(pos int64) (*segmentTail, error) {
	at := pos + logOverhead
	for at < w.size && !w.skipZeros {
		chunk, err := w.r.Peek(int(min(int64(w.r.Size()), w.size-at)))
		if err != nil {
			return nil, fmt.Errorf("read at %d: %w", at, err)
		}
		if !bytes.Equal(chunk, zeroChunk[:len(chunk)]) {
			i := 0
			for chunk[i] == 0 {
				i++
			}
			return &segmentTail{pos: pos, reason: fmt.Sprintf("zeros from position %d, then non-zero bytes at %d",
				pos, at+int64(i))}, nil
		}
		w.r.Discard(len(chunk))
		at += int64(len(chunk))
	}
	return &segmentTail{pos: pos, zeros: true,
		reason: fmt.Sprintf("the remaining %d bytes are zeros (preallocated, not written yet)", w.size-pos)}, nil
}

// grow returns b resized to n, reusing its array when it is big enough.
func grow(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	return append(b[:cap(b)], make([]byte, n-cap(b))...)[:n]
}
