package tools

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// maxDecompressedBytes bounds what one batch may decompress to, so a
// damaged or hostile file cannot exhaust memory. A var: the fuzz test
// lowers it.
var maxDecompressedBytes = 256 << 20

// codecNames are the batch attribute's codec numbers, as Kafka names them.
var codecNames = []string{"none", "gzip", "snappy", "lz4", "zstd"}

func codecName(c int) string {
	if c < len(codecNames) {
		return codecNames[c]
	}
	return fmt.Sprintf("unknown(%d)", c)
}

// decompress returns the records section of a batch uncompressed.
func decompress(codec int, data []byte) ([]byte, error) {
	switch codec {
	case 0:
		return data, nil
	case 1:
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return readLimited(zr, "gzip")
	case 2:
		return unsnappy(data)
	case 3:
		return readLimited(lz4.NewReader(bytes.NewReader(data)), "lz4")
	case 4:
		out, err := zstdDecoder().DecodeAll(data, nil)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown compression codec %d", codec)
}

func readLimited(r io.Reader, codec string) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, int64(maxDecompressedBytes)+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", codec, err)
	}
	if len(out) > maxDecompressedBytes {
		return nil, fmt.Errorf("%s: decompresses to more than %d bytes", codec, maxDecompressedBytes)
	}
	return out, nil
}

var (
	zstdOnce sync.Once
	zstdDec  *zstd.Decoder
)

func zstdDecoder() *zstd.Decoder {
	zstdOnce.Do(func() {
		var err error
		zstdDec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(uint64(maxDecompressedBytes)))
		if err != nil {
			panic(fmt.Sprintf("zstd decoder with fixed options: %v", err))
		}
	})
	return zstdDec
}

// xerialMagic opens snappy data framed the way the Java clients write it
// (xerial snappy-java's SnappyOutputStream):
//
//	+------------------+-------------+----------------+------------------------------+
//	| magic (8 bytes)  | version i32 | compatible i32 | blocks: length i32, raw block |
//	| 82 'SNAPPY' 00   |             |                | ... repeated to the end      |
//	+------------------+-------------+----------------+------------------------------+
//
// franz-go, librdkafka and others write one raw snappy block instead.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialHeaderSize = 16

func unsnappy(data []byte) ([]byte, error) {
	if !bytes.HasPrefix(data, xerialMagic) {
		return snappyBlock(nil, data)
	}
	if len(data) < xerialHeaderSize {
		return nil, fmt.Errorf("snappy: xerial header cut at %d bytes", len(data))
	}
	var out []byte
	rest := data[xerialHeaderSize:]
	for len(rest) > 0 {
		if len(rest) < 4 {
			return nil, fmt.Errorf("snappy: xerial block length cut at %d bytes", len(rest))
		}
		n := binary.BigEndian.Uint32(rest)
		if int64(n) > int64(len(rest)-4) {
			return nil, fmt.Errorf("snappy: xerial block of %d bytes, %d left", n, len(rest)-4)
		}
		var err error
		if out, err = snappyBlock(out, rest[4:4+n]); err != nil {
			return nil, err
		}
		rest = rest[4+n:]
	}
	return out, nil
}

// snappyBlock appends the decoded raw block to out.
func snappyBlock(out, block []byte) ([]byte, error) {
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	if len(out)+n > maxDecompressedBytes {
		return nil, fmt.Errorf("snappy: decompresses to more than %d bytes", maxDecompressedBytes)
	}
	dec, err := snappy.Decode(nil, block)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	return append(out, dec...), nil
}
