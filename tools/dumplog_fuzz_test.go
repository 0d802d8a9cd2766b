package tools

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// FuzzDumpLog feeds arbitrary bytes to the decoders of files on disk: as
// a segment, walked and decoded record by record in both output forms
// (and as the cluster metadata log's records),
// and as both kinds of index checked against that segment. Nothing may
// panic or hang; damage must come out as problems. The seeds are segments
// of every codec, whole and torn, kept small: the fuzzer minimizes every
// new input it finds, for up to a minute when inputs are kilobytes.
func FuzzDumpLog(f *testing.F) {
	for _, c := range testCodecs {
		s, _ := codecSegment(f, c, 1)
		f.Add(s.data)
		f.Add(s.data[:len(s.data)-3])
		f.Add(s.data[s.batches[1].pos:])
	}
	f.Add(make([]byte, 100))
	defer func(old int) { maxDecompressedBytes = old }(maxDecompressedBytes)
	maxDecompressedBytes = 1 << 20 // a decompression bomb is reported, quickly
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, asJSON := range []bool{false, true} {
			for _, meta := range []bool{false, true} {
				d := &dumper{w: bufio.NewWriter(io.Discard), json: asJSON, deep: true, data: true, metadata: meta}
				if err := d.dumpBatches("fuzz.log", bytes.NewReader(data), int64(len(data)), 0); err != nil {
					t.Fatalf("a byte slice cannot fail to read: %v", err)
				}
			}
		}
		spans, err := readSpans(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []indexKind{offsetIndexKind, timeIndexKind} {
			x := parseIndex(kind, 0, data)
			if x.zeroBytes+x.partial+len(x.entries)*kind.entrySize != len(data) {
				t.Fatalf("%s: %d entries, %d zeros, %d partial bytes of %d", kind.name, len(x.entries),
					x.zeroBytes, x.partial, len(data))
			}
			d := &dumper{w: bufio.NewWriter(io.Discard)}
			d.indexEntries("fuzz"+kind.suffix, kind, x, spans, true, "fuzz.log")
		}
	})
}
