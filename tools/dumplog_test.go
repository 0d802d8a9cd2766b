package tools

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirmq/weir/logstore"
)

const segName = "00000000000000000000.log"

// codecSegment is a segment as a Kafka producer fills it: three batches of
// codec c at offsets 0-3, 4-8 and 9-9, their values repeat times a text.
func codecSegment(t testing.TB, c testCodec, repeat int) (*segment, [][]testRecord) {
	var s segment
	sizes := []int{4, 5, 1}
	var all [][]testRecord
	off := 0
	for i, n := range sizes {
		recs := sampleRecords(off, n, repeat)
		s.add(kafkaBatch(t, int64(off), 1_700_000_000_000+int64(i*100), c, recs))
		all = append(all, recs)
		off += n
	}
	return &s, all
}

// fromJSONBytes reads a jsonBytes value back.
func fromJSONBytes(t *testing.T, v any) []byte {
	t.Helper()
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return []byte(v)
	case map[string]any:
		b, err := base64.StdEncoding.DecodeString(v["base64"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Fatalf("unexpected JSON bytes %#v", v)
	return nil
}

// Every codec Kafka writes reads back record for record: offsets,
// timestamps, keys (null too), values (binary too) and headers.
func TestDumpLogCodecs(t *testing.T) {
	for _, c := range testCodecs {
		t.Run(c.name, func(t *testing.T) {
			s, want := codecSegment(t, c, 20)
			path := writeFile(t, t.TempDir(), segName, s.data)
			code, out, stderr := runDumpLog(t, "--print-data-log", "--output", "json", "--files", path)
			if code != 0 {
				t.Fatalf("exit %d: %s\n%s", code, stderr, out)
			}
			batches := jsonLines(t, out)
			if len(batches) != len(want) {
				t.Fatalf("%d batches, want %d:\n%s", len(batches), len(want), out)
			}
			for i, b := range batches {
				span := s.batches[i]
				if b["position"].(float64) != float64(span.pos) || b["base_offset"].(float64) != float64(span.base) ||
					b["last_offset"].(float64) != float64(span.last) || b["crc_valid"] != true ||
					b["compression"] != logstore.CodecName(int(c.attr)) || b["producer_id"].(float64) != 7 ||
					b["partition_leader_epoch"].(float64) != 3 {
					t.Errorf("batch %d: %v, want %+v", i, b, span)
				}
				checkRecords(t, b["records"].([]any), want[i], span)
			}
			// The human form says the same.
			code, out, _ = runDumpLog(t, "--print-data-log", path)
			if code != 0 || strings.Count(out, "crcValid: true") != 3 || !strings.Contains(out, "key: key-0 payload: value-0") ||
				!strings.Contains(out, "headers: trace:t3,empty:null") || !strings.Contains(out, `payload: "\xff\x00\x02"`) {
				t.Errorf("human output (exit %d):\n%s", code, out)
			}
		})
	}
}

func checkRecords(t *testing.T, got []any, want []testRecord, span batchSpan) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i, g := range got {
		r := g.(map[string]any)
		w := want[i]
		if r["offset"].(float64) != float64(span.base+int64(i)) || r["timestamp"].(float64) != float64(span.maxTs-int64(len(want)-1-i)) {
			t.Errorf("record %d: offset %v timestamp %v, batch %+v", i, r["offset"], r["timestamp"], span)
		}
		if k := fromJSONBytes(t, r["key"]); !bytes.Equal(k, w.key) || (k == nil) != (w.key == nil) {
			t.Errorf("record %d: key %q, want %q", i, k, w.key)
		}
		if v := fromJSONBytes(t, r["value"]); !bytes.Equal(v, w.value) {
			t.Errorf("record %d: value %q, want %q", i, v, w.value)
		}
		hs := r["headers"].([]any)
		if len(hs) != len(w.headers) {
			t.Fatalf("record %d: headers %v, want %v", i, hs, w.headers)
		}
		for j, h := range hs {
			h := h.(map[string]any)
			v := fromJSONBytes(t, h["value"])
			if h["key"] != w.headers[j].Key || !bytes.Equal(v, w.headers[j].Value) || (v == nil) != (w.headers[j].Value == nil) {
				t.Errorf("record %d header %d: %v, want %+v", i, j, h, w.headers[j])
			}
		}
	}
}

// A flipped byte inside a batch makes that batch's CRC invalid and only
// that one; the walk goes on to the next batch.
func TestDumpLogCorruptCRC(t *testing.T) {
	s, _ := codecSegment(t, testCodecs[0], 20)
	bad := s.batches[1]
	s.data[bad.pos+70] ^= 0x40 // inside the records
	path := writeFile(t, t.TempDir(), segName, s.data)
	code, out, stderr := runDumpLog(t, "--output", "json", path)
	if code != 1 || !strings.Contains(stderr, "problems found: 1") {
		t.Errorf("exit %d, stderr %q; want 1 with one problem", code, stderr)
	}
	batches := jsonLines(t, out)
	if len(batches) != 3 {
		t.Fatalf("%d batches, want 3:\n%s", len(batches), out)
	}
	for i, b := range batches {
		if valid := b["crc_valid"] == true; valid != (i != 1) {
			t.Errorf("batch %d: crc_valid %v", i, b["crc_valid"])
		}
	}
	if p := fmt.Sprint(batches[1]["problems"]); !strings.Contains(p, "crc") {
		t.Errorf("batch 1 problems %s, want one about the crc", p)
	}
	_, out, _ = runDumpLog(t, path)
	if !strings.Contains(out, "crcValid: false") || !strings.Contains(out, fmt.Sprintf("! position %d: crc", bad.pos)) {
		t.Errorf("human output lacks the bad CRC:\n%s", out)
	}
}

// The end of a segment: a torn batch is a problem at its position, zeros
// after the batches are preallocated space, and bytes after zeros are
// damage.
func TestDumpLogTails(t *testing.T) {
	s, _ := codecSegment(t, testCodecs[4], 20)
	last := s.batches[2]
	zeros := make([]byte, 4096)
	garbage := append(append([]byte{}, zeros...), 1, 2, 3)
	tests := []struct {
		name    string
		data    []byte
		code    int
		batches int
		want    string
	}{
		{"clean", s.data, 0, 3, ""},
		{"torn", s.data[:len(s.data)-5], 1, 2, fmt.Sprintf("! position %d: torn or corrupt tail: batch of", last.pos)},
		{"short header", append(append([]byte{}, s.data...), 0, 0, 0, 0, 0, 0, 0, 9), 1, 3, "8 bytes left, less than a batch header"},
		{"bad length", append(append([]byte{}, s.data...), 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 3), 1, 3, "batch length 3 is below"},
		{"preallocated", append(append([]byte{}, s.data...), zeros...), 0, 3, "the remaining 4096 bytes are zeros"},
		{"garbage after zeros", append(append([]byte{}, s.data...), garbage...), 1, 3,
			fmt.Sprintf("non-zero bytes at %d", len(s.data)+4096)},
	}
	for _, tt := range tests {
		path := writeFile(t, t.TempDir(), segName, tt.data)
		code, out, _ := runDumpLog(t, "--deep-iteration", path)
		if code != tt.code || strings.Count(out, "baseOffset:") != tt.batches || !strings.Contains(out, tt.want) {
			t.Errorf("%s: exit %d (want %d), %d batches (want %d), want %q in:\n%s",
				tt.name, code, tt.code, strings.Count(out, "baseOffset:"), tt.batches, tt.want, out)
		}
	}
}

// Index entries are checked against the log: a good entry passes, one at
// a position where no batch starts and one with the wrong offset are
// mismatches, and zeros after the entries are not entries.
func TestDumpLogIndexes(t *testing.T) {
	s, _ := codecSegment(t, testCodecs[0], 20)
	dir := t.TempDir()
	writeFile(t, dir, segName, s.data)
	b1, b2 := s.batches[1], s.batches[2]
	var idx []byte
	for _, e := range [][2]int64{{b1.last, b1.pos}, {b2.last, b2.pos + 1}, {b2.last + 5, b2.pos + 2}} {
		idx = binary.BigEndian.AppendUint32(idx, uint32(e[0]))
		idx = binary.BigEndian.AppendUint32(idx, uint32(e[1]))
	}
	idx = append(idx, make([]byte, 800)...) // preallocated
	var tidx []byte
	for _, e := range [][2]int64{{b1.maxTs, b1.last}, {b2.maxTs + 1, b2.last}} {
		tidx = binary.BigEndian.AppendUint64(tidx, uint64(e[0]))
		tidx = binary.BigEndian.AppendUint32(tidx, uint32(e[1]))
	}
	tidx = append(tidx, make([]byte, 1200)...)
	ipath := writeFile(t, dir, "00000000000000000000.index", idx)
	tpath := writeFile(t, dir, "00000000000000000000.timeindex", tidx)

	code, out, _ := runDumpLog(t, "--files", ipath+","+tpath)
	for _, want := range []string{
		fmt.Sprintf("offset: %d position: %d\n", b1.last, b1.pos),
		fmt.Sprintf("! Index mismatch at entry 1: no batch starts at position %d", b2.pos+1),
		fmt.Sprintf("! Index mismatch at entry 2: no batch starts at position %d", b2.pos+2),
		fmt.Sprintf("timestamp: %d offset: %d\n", b1.maxTs, b1.last),
		fmt.Sprintf("! Index mismatch at entry 1: the batch holding offset %d (position %d) has max timestamp %d", b2.last, b2.pos, b2.maxTs),
		"800 bytes of zeros after the last entry", "1200 bytes of zeros after the last entry",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code != 1 || strings.Count(out, "Index mismatch") != 3 || strings.Count(out, "offset: ") != 5 {
		t.Errorf("exit %d, want 1 with 3 mismatches in 5 entries:\n%s", code, out)
	}

	// --verify-index-only, given the .log, checks both indexes and prints
	// only the mismatches.
	code, out, _ = runDumpLog(t, "--verify-index-only", "--output", "json", filepath.Join(dir, segName))
	objs := jsonLines(t, out)
	if code != 1 || len(objs) != 3 {
		t.Fatalf("exit %d, %d objects, want 1 and 3 mismatches:\n%s", code, len(objs), out)
	}
	for _, o := range objs {
		if !strings.HasPrefix(fmt.Sprint(o["problem"]), "Index mismatch") {
			t.Errorf("not a mismatch: %v", o)
		}
	}

	// A good index alone passes; a cut last entry is a problem.
	os.WriteFile(ipath, idx[:8], 0o644)
	if code, out, _ := runDumpLog(t, "--verify-index-only", ipath); code != 0 || !strings.Contains(out, "1 entries, 0 mismatches") {
		t.Errorf("good index: exit %d\n%s", code, out)
	}
	os.WriteFile(ipath, idx[:12], 0o644)
	if code, out, _ := runDumpLog(t, ipath); code != 1 || !strings.Contains(out, "4 bytes after the last whole 8-byte entry") {
		t.Errorf("cut index: exit %d\n%s", code, out)
	}
}

func TestDumpLogUsageAndMissingFiles(t *testing.T) {
	if code, _, stderr := runDumpLog(t); code != 2 || !strings.Contains(stderr, "--files is required") {
		t.Errorf("no files: exit %d %q", code, stderr)
	}
	if code, _, stderr := runDumpLog(t, "/nonexistent/00000000000000000000.log"); code != 1 || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing file: exit %d %q", code, stderr)
	}
	if code, _, stderr := runDumpLog(t, "notes.txt"); code != 1 || !strings.Contains(stderr, "not a .log") {
		t.Errorf("other file: exit %d %q", code, stderr)
	}
	if code, out, _ := runDumpLog(t, "--help"); code != 0 || !strings.Contains(out, "Examples:") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
}

// Batches with garbage inside report what is wrong, they do not crash.
func TestDecodeRecordsDamaged(t *testing.T) {
	for _, c := range testCodecs {
		b := kafkaBatch(t, 0, 0, c, sampleRecords(0, 3, 20))
		for cut := 61; cut < len(b); cut += 7 {
			short := append([]byte{}, b[:cut]...)
			binary.BigEndian.PutUint32(short[8:], uint32(len(short)-12))
			if _, err := decodeRecords(short); err == nil {
				t.Errorf("%s cut at %d of %d: no error", c.name, cut, len(b))
			}
		}
	}
}

// TestDumpLogProducerSnapshot: a partition's producer-state snapshot
// prints a line per producer (its newest batch's sequences and offsets),
// as JSON too; a corrupt one is a problem (exit 1).
func TestDumpLogProducerSnapshot(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "00000000000000000042.snapshot")
	data := logstore.EncodeProducerSnapshot([]logstore.ProducerSnapshotEntry{
		{ProducerID: 1000, Epoch: 2, LastSequence: 9, LastOffset: 41, OffsetDelta: 4, Timestamp: 1700000000000,
			CoordinatorEpoch: -1, CurrentTxnFirstOffset: -1},
		{ProducerID: 1001, Epoch: 0, LastSequence: 1, LastOffset: 30, OffsetDelta: 3, Timestamp: 1700000000001,
			CoordinatorEpoch: -1, CurrentTxnFirstOffset: -1},
	})
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runDumpLog(t, "--files", path)
	if code != 0 || !strings.Contains(out, "producerId: 1000 producerEpoch: 2 coordinatorEpoch: -1 "+
		"currentTxnFirstOffset: None lastTimestamp: 1700000000000 firstSequence: 5 lastSequence: 9 lastOffset: 41 offsetDelta: 4") ||
		!strings.Contains(out, "producerId: 1001") || !strings.Contains(out, "firstSequence: 2147483646 lastSequence: 1") {
		t.Fatalf("exit %d:\n%s%s", code, out, stderr)
	}
	code, out, _ = runDumpLog(t, "--output", "json", path)
	lines := jsonLines(t, out)
	if code != 0 || len(lines) != 2 || lines[0]["producer_id"] != float64(1000) || lines[0]["first_sequence"] != float64(5) {
		t.Fatalf("json: exit %d: %s", code, out)
	}
	data[len(data)-1] ^= 1
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runDumpLog(t, path); code != 1 || !strings.Contains(out, "! position 0") {
		t.Fatalf("corrupt snapshot: exit %d:\n%s", code, out)
	}
}
