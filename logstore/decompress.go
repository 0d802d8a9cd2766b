package logstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// codecNames are the batch attribute's codec numbers, as Kafka names them.
var codecNames = []string{"none", "gzip", "snappy", "lz4", "zstd"}

// CodecName is Kafka's name for a codec number, unknown(n) past zstd.
func CodecName(c int) string {
	if c >= 0 && c < len(codecNames) {
		return codecNames[c]
	}
	return fmt.Sprintf("unknown(%d)", c)
}

// errTooBig is a batch whose records decompress past the decoder's limit.
var errTooBig = errors.New("records decompress past the limit")

// codecReaders are a decoder's decompressors, kept for reuse.
type codecReaders struct {
	src       bytes.Reader
	gzip      *gzip.Reader
	lz4       *lz4.Reader
	zstd      *zstd.Decoder
	zstdLimit int64 // the limit zstd was made with
}

// decompress answers the records section src of a batch with codec,
// uncompressed: src itself for codec 0, else d.buf. Neither the result nor
// anything allocated on the way exceeds d's limit by more than a read
// chunk.
func (d *Decoder) decompress(codec int, src []byte) ([]byte, error) {
	limit := d.limit()
	c := &d.codecs
	c.src.Reset(src)
	var err error
	switch codec {
	case 0:
		return src, nil
	case 1:
		if c.gzip == nil {
			c.gzip, err = gzip.NewReader(&c.src)
		} else {
			err = c.gzip.Reset(&c.src)
		}
		if err == nil {
			err = d.readAll(c.gzip, limit)
		}
	case 2:
		err = d.unsnappy(src, limit)
	case 3:
		if c.lz4 == nil {
			c.lz4 = lz4.NewReader(&c.src)
		} else {
			c.lz4.Reset(&c.src)
		}
		err = d.readAll(c.lz4, limit)
	case 4:
		err = d.unzstd(src, limit)
	default:
		return nil, fmt.Errorf("unknown compression codec %d", codec)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CodecName(codec), err)
	}
	return d.buf, nil
}

// readChunk is the smallest step by which readAll grows its buffer.
const readChunk = 64 << 10

// readAll reads r to its end into d.buf, refusing more than limit bytes:
// the buffer never grows past limit+1.
func (d *Decoder) readAll(r io.Reader, limit int64) error {
	buf := d.buf[:0]
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				d.buf = buf[:0]
				return fmt.Errorf("%w of %d bytes", errTooBig, limit)
			}
			want := min(max(2*int64(cap(buf)), readChunk), limit+1)
			buf = append(buf[:cap(buf)], make([]byte, want-int64(cap(buf)))...)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			d.buf = buf[:0]
			return err
		}
	}
	d.buf = buf
	if int64(len(buf)) > limit {
		return fmt.Errorf("%w of %d bytes", errTooBig, limit)
	}
	return nil
}

// unzstd decodes whole frames into d.buf. The zstd decoder refuses a frame
// whose declared size or window exceeds limit before decoding it, and
// stops one block (128 KiB) past limit otherwise. DecodeAll writes into
// d.buf directly: no window buffer is allocated, whatever the frame says.
func (d *Decoder) unzstd(src []byte, limit int64) error {
	c := &d.codecs
	if c.zstd == nil || c.zstdLimit != limit {
		if c.zstd != nil {
			c.zstd.Close()
		}
		zd, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(uint64(limit)))
		if err != nil {
			return err
		}
		c.zstd, c.zstdLimit = zd, limit
	}
	out, err := c.zstd.DecodeAll(src, d.buf[:0])
	if err != nil {
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) {
			return fmt.Errorf("%w of %d bytes: %w", errTooBig, limit, err)
		}
		return err
	}
	d.buf = out
	return nil
}

// xerialMagic opens snappy data framed the way the Java clients write it
// (xerial snappy-java's SnappyOutputStream):
//
//	+------------------+-------------+----------------+-------------------------------+
//	| magic (8 bytes)  | version i32 | compatible i32 | blocks: length i32, raw block |
//	| 82 'SNAPPY' 00   |             |                | ... repeated to the end       |
//	+------------------+-------------+----------------+-------------------------------+
//
// franz-go, librdkafka and others write one raw snappy block instead.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialHeaderSize = 16

// unsnappy decodes a raw snappy block or xerial-framed blocks into d.buf.
// Each block's decoded length is read from its header and checked against
// limit before it is decoded.
func (d *Decoder) unsnappy(src []byte, limit int64) error {
	d.buf = d.buf[:0]
	if !bytes.HasPrefix(src, xerialMagic) {
		return d.snappyBlock(src, limit)
	}
	if len(src) < xerialHeaderSize {
		return fmt.Errorf("xerial header cut at %d bytes", len(src))
	}
	rest := src[xerialHeaderSize:]
	for len(rest) > 0 {
		if len(rest) < 4 {
			return fmt.Errorf("xerial block length cut at %d bytes", len(rest))
		}
		n := binary.BigEndian.Uint32(rest)
		if int64(n) > int64(len(rest)-4) {
			return fmt.Errorf("xerial block of %d bytes, %d left", n, len(rest)-4)
		}
		if err := d.snappyBlock(rest[4:4+n], limit); err != nil {
			return err
		}
		rest = rest[4+n:]
	}
	return nil
}

// snappyBlock appends the decoded raw block to d.buf.
func (d *Decoder) snappyBlock(block []byte, limit int64) error {
	n, err := s2.DecodedLen(block)
	if err != nil {
		return err
	}
	if int64(len(d.buf))+int64(n) > limit {
		return fmt.Errorf("%w of %d bytes: a block of %d after %d", errTooBig, limit, n, len(d.buf))
	}
	at := len(d.buf)
	if cap(d.buf)-at < n {
		d.buf = append(d.buf[:cap(d.buf)], make([]byte, at+n-cap(d.buf))...)
	}
	d.buf = d.buf[:at+n]
	if _, err := s2.Decode(d.buf[at:], block); err != nil {
		d.buf = d.buf[:at]
		return err
	}
	return nil
}
