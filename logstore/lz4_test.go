package logstore

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand"
	"testing"

	"github.com/pierrec/lz4/v4"
)

// lz4Frame compresses data as one frame with pierrec/lz4's writer.
func lz4Frame(t testing.TB, data []byte, opts ...lz4.Option) []byte {
	t.Helper()
	var out bytes.Buffer
	w := lz4.NewWriter(&out)
	if err := w.Apply(opts...); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// lz4Reference decodes src with pierrec/lz4's frame reader (which also
// verifies the checksums).
func lz4Reference(src []byte) ([]byte, error) {
	return io.ReadAll(lz4.NewReader(bytes.NewReader(src)))
}

// TestUnlz4MatchesTheReader: frames of every block size, with and without
// block and content checksums and content size, compressible and not
// (stored blocks), several concatenated with a skippable frame between,
// decode to what pierrec/lz4's reader gives.
func TestUnlz4MatchesTheReader(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	compressible := bytes.Repeat([]byte(`{"user":"alpha","item":"beta","price":12.5} `), 40000)
	random := make([]byte, 300<<10)
	rng.Read(random)
	var d Decoder
	for _, data := range [][]byte{compressible, random, compressible[:100], nil} {
		for _, bs := range []lz4.BlockSize{lz4.Block64Kb, lz4.Block256Kb, lz4.Block1Mb, lz4.Block4Mb} {
			for _, sums := range [][]lz4.Option{
				{lz4.ChecksumOption(false)},
				{lz4.ChecksumOption(true), lz4.BlockChecksumOption(true)},
				{lz4.SizeOption(uint64(len(data)))},
			} {
				frame := lz4Frame(t, data, append([]lz4.Option{lz4.BlockSizeOption(bs)}, sums...)...)
				skippable := []byte{0x5A, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 1, 2, 3}
				src := append(append(append([]byte(nil), frame...), skippable...), frame...)
				want, err := lz4Reference(src)
				if err != nil {
					t.Fatal(err)
				}
				got, err := d.decompress(3, src)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%d bytes, block size %v, %d options: %v, %d bytes out, want %d", len(data), bs,
						len(sums), err, len(got), len(want))
				}
			}
		}
	}
}

// TestUnlz4LinkedBlocks: blocks that refer back into earlier blocks (the
// block-linked mode librdkafka writes by default) decode with the earlier
// output as their dictionary. The frame is built by hand: a stored block,
// then a compressed block made of one match 8 bytes back, into the
// stored block.
func TestUnlz4LinkedBlocks(t *testing.T) {
	first := []byte("0123456789abcdef")
	frame := []byte{0x04, 0x22, 0x4D, 0x18, 0x40, 0x40, 0x00} // FLG: version 1, linked; BD: 64 KiB; HC unchecked
	frame = binary.LittleEndian.AppendUint32(frame, uint32(len(first))|1<<31)
	frame = append(frame, first...)
	// A sequence of no literals and a match of 4+8 = 12 bytes at offset 8,
	// then the final literals-only sequence of 5 bytes LZ4 requires.
	block := []byte{0x08, 0x08, 0x00, 0x50, 'v', 'w', 'x', 'y', 'z'}
	frame = binary.LittleEndian.AppendUint32(frame, uint32(len(block)))
	frame = append(frame, block...)
	frame = binary.LittleEndian.AppendUint32(frame, 0)
	var d Decoder
	got, err := d.decompress(3, frame)
	want := "0123456789abcdef" + "89abcdef89ab" + "vwxyz"
	if err != nil || string(got) != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
}

// TestUnlz4RefusesDamage: cut and malformed frames are refused, never
// decoded past their bytes.
func TestUnlz4RefusesDamage(t *testing.T) {
	frame := lz4Frame(t, bytes.Repeat([]byte("abcdefgh"), 20000), lz4.BlockSizeOption(lz4.Block64Kb))
	var d Decoder
	for cut := 0; cut < len(frame); cut += 1 + cut/7 {
		if cut == 0 {
			continue
		}
		if _, err := d.decompress(3, frame[:cut]); err == nil {
			t.Fatalf("a frame cut at %d of %d bytes decoded", cut, len(frame))
		}
	}
	bad := append([]byte(nil), frame...)
	bad[4] = 0x00 // version 0
	if _, err := d.decompress(3, bad); err == nil {
		t.Fatal("a frame of version 0 decoded")
	}
	bad = append([]byte(nil), frame...)
	bad[0] = 0x05
	if _, err := d.decompress(3, bad); err == nil {
		t.Fatal("a frame with a bad magic decoded")
	}
}

// FuzzUnlz4: whatever the bytes, unlz4 does not panic, and when
// pierrec/lz4's reader decodes them (checksums and all) unlz4 gives the
// same bytes.
func FuzzUnlz4(f *testing.F) {
	f.Add(lz4Frame(f, []byte("hello, hello, hello, hello")))
	f.Add(lz4Frame(f, bytes.Repeat([]byte("xy"), 70000), lz4.BlockSizeOption(lz4.Block64Kb), lz4.BlockChecksumOption(true)))
	f.Fuzz(func(t *testing.T, src []byte) {
		d := Decoder{Limit: 8 << 20}
		got, err := d.decompress(3, src)
		want, werr := lz4Reference(src)
		if werr == nil && len(want) <= 8<<20 && (err != nil || !bytes.Equal(got, want)) {
			t.Fatalf("the reader decodes %d bytes, unlz4: %v, %d bytes", len(want), err, len(got))
		}
	})
}
