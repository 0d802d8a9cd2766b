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
		err = d.unlz4(src, limit)
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

// LZ4 frames (the lz4 frame format, which Kafka's lz4 codec is):
//
//	magic 04 22 4D 18 | FLG | BD | [content size u64] | [dict id u32] | HC
//	blocks: size u32 (high bit: stored uncompressed) | data | [checksum u32]
//	end mark 00000000 | [content checksum u32]
//
// little-endian, frames possibly concatenated, skippable frames (magic
// 5X 2A 4D 18, size u32, data) allowed between them.
const (
	lz4Magic          = 0x184D2204
	lz4SkippableMagic = 0x184D2A50 // low nibble free
	lz4FlagBlockIndep = 0x20
	lz4FlagBlockSum   = 0x10
	lz4FlagSize       = 0x08
	lz4FlagContentSum = 0x04
	lz4FlagDictID     = 0x01
	lz4Window         = 64 << 10 // how far back a linked block may refer
)

// unlz4 decodes LZ4 frames block by block into d.buf. Its checksums (the
// header's, each block's, the content's: xxh32) are not verified: the
// batch's CRC-32C, checked before records are read, covers these bytes,
// and verifying them took a fifth of the broker's CPU on lz4 batches of
// 100-byte records. A block is decoded only into room left under limit.
func (d *Decoder) unlz4(src []byte, limit int64) error {
	buf := d.buf[:0]
	defer func() { d.buf = buf }()
	for len(src) > 0 {
		if len(src) < 4 {
			return fmt.Errorf("frame cut at %d bytes", len(src))
		}
		magic := binary.LittleEndian.Uint32(src)
		if magic&^0xF == lz4SkippableMagic {
			if len(src) < 8 || uint64(binary.LittleEndian.Uint32(src[4:])) > uint64(len(src)-8) {
				return errors.New("skippable frame cut")
			}
			src = src[8+binary.LittleEndian.Uint32(src[4:]):]
			continue
		}
		if magic != lz4Magic {
			return fmt.Errorf("bad frame magic %#x", magic)
		}
		if len(src) < 7 {
			return fmt.Errorf("frame header cut at %d bytes", len(src))
		}
		flg, bd := src[4], src[5]
		if flg>>6 != 1 {
			return fmt.Errorf("frame version %d", flg>>6)
		}
		if flg&lz4FlagDictID != 0 {
			return errors.New("frames with a dictionary id are not supported")
		}
		maxBlock := 0
		switch bd >> 4 & 7 {
		case 4:
			maxBlock = 64 << 10
		case 5:
			maxBlock = 256 << 10
		case 6:
			maxBlock = 1 << 20
		case 7:
			maxBlock = 4 << 20
		default:
			return fmt.Errorf("frame block size code %d", bd>>4&7)
		}
		pos := 7
		if flg&lz4FlagSize != 0 {
			pos += 8
		}
		frameStart := len(buf)
		for {
			if pos+4 > len(src) {
				return errors.New("frame cut before its end mark")
			}
			size := binary.LittleEndian.Uint32(src[pos:])
			pos += 4
			if size == 0 {
				break
			}
			n := int(size &^ (1 << 31))
			if n > maxBlock || n > len(src)-pos {
				return fmt.Errorf("block of %d bytes (largest %d, %d left)", n, maxBlock, len(src)-pos)
			}
			block := src[pos : pos+n]
			pos += n
			if flg&lz4FlagBlockSum != 0 {
				pos += 4
			}
			room := int(min(int64(maxBlock), limit+1-int64(len(buf))))
			if room <= 0 {
				return fmt.Errorf("%w of %d bytes", errTooBig, limit)
			}
			if cap(buf)-len(buf) < room {
				buf = append(buf[:cap(buf)], make([]byte, len(buf)+room-cap(buf))...)[:len(buf)]
			}
			dst := buf[len(buf) : len(buf)+room]
			var k int
			var err error
			switch {
			case size&(1<<31) != 0:
				if n > room {
					err = errors.New("stored block past the room left")
				}
				k = copy(dst, block)
			case flg&lz4FlagBlockIndep != 0:
				k, err = lz4.UncompressBlock(block, dst)
			default:
				dict := buf[max(frameStart, len(buf)-lz4Window):]
				k, err = lz4.UncompressBlockWithDict(block, dst, dict)
			}
			if err != nil {
				if room < maxBlock { // the limit cut the room: the block may just be large
					return fmt.Errorf("%w of %d bytes: %w", errTooBig, limit, err)
				}
				return err
			}
			buf = buf[:len(buf)+k]
			if int64(len(buf)) > limit {
				return fmt.Errorf("%w of %d bytes", errTooBig, limit)
			}
		}
		if flg&lz4FlagContentSum != 0 {
			pos += 4
		}
		if pos > len(src) {
			return errors.New("frame cut in its checksum")
		}
		src = src[pos:]
	}
	return nil
}
