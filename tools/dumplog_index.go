package tools

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// indexKind is the layout of one of a segment's two index files; all
// integers big-endian, offsets relative to the base offset in the name:
//
//	.index       8-byte entries: relative offset u32, position u32
//	             (the batch at position ends at that offset)
//	.timeindex  12-byte entries: timestamp i64, relative offset u32
//	             (the largest timestamp up to the batch holding that offset)
type indexKind struct {
	name      string
	suffix    string
	entrySize int
}

var (
	offsetIndexKind = indexKind{"offset index", ".index", 8}
	timeIndexKind   = indexKind{"time index", ".timeindex", 12}
)

// indexEntry is one entry of either index: position is unused in a time
// index, timestamp in an offset index.
type indexEntry struct {
	n         int
	offset    int64
	position  int64
	timestamp int64
}

// indexFile is an index as read from disk. Zeros after the last entry are
// preallocated space (a live segment's index holds nothing but zeros in
// Weir, which writes entries at roll and close); partial counts the bytes
// of a last entry cut short.
type indexFile struct {
	entries   []indexEntry
	zeroBytes int
	partial   int
}

func parseIndex(kind indexKind, base int64, data []byte) indexFile {
	end := len(data)
	for end > 0 && data[end-1] == 0 {
		end--
	}
	end = (end + kind.entrySize - 1) / kind.entrySize * kind.entrySize // keep zeros inside the last entry
	var x indexFile
	if end > len(data) {
		x.partial = len(data) % kind.entrySize
		end = len(data) - x.partial
	}
	x.zeroBytes = len(data) - end - x.partial
	for i := 0; i < end; i += kind.entrySize {
		e := indexEntry{n: i / kind.entrySize}
		if kind == offsetIndexKind {
			e.offset = base + int64(binary.BigEndian.Uint32(data[i:]))
			e.position = int64(binary.BigEndian.Uint32(data[i+4:]))
		} else {
			e.timestamp = int64(binary.BigEndian.Uint64(data[i:]))
			e.offset = base + int64(binary.BigEndian.Uint32(data[i+8:]))
		}
		x.entries = append(x.entries, e)
	}
	return x
}

// batchSpan is what an index entry is checked against: a batch of the log.
type batchSpan struct{ pos, base, last, maxTs int64 }

// readSpans lists the batches of a segment by their headers.
func readSpans(r io.Reader, size int64) ([]batchSpan, error) {
	w := newSegmentWalker(r, size)
	w.skipZeros = true
	var spans []batchSpan
	for {
		pos, b, _, err := w.next()
		if err != nil || b == nil {
			return spans, err
		}
		s := batchSpan{pos: pos, base: int64(binary.BigEndian.Uint64(b)), maxTs: -1}
		s.last = s.base
		if b[offMagic] == 2 {
			s.last += int64(int32(binary.BigEndian.Uint32(b[23:]))) // last offset delta
			s.maxTs = int64(binary.BigEndian.Uint64(b[35:]))
		}
		spans = append(spans, s)
	}
}

// checkEntry says what is wrong with entry e of an index against the
// batches of its log, "" when nothing is. Like Kafka's DumpLogSegments:
// an offset entry must point at a batch start, and that batch must end at
// the entry's offset; a time entry's offset must be inside a batch whose
// max timestamp is the entry's. Both must grow from the previous entry.
func checkEntry(kind indexKind, e indexEntry, prev *indexEntry, spans []batchSpan, log string) string {
	if kind == offsetIndexKind {
		if prev != nil && (e.offset <= prev.offset || e.position <= prev.position) {
			return fmt.Sprintf("does not follow the previous entry (offset %d, position %d)", prev.offset, prev.position)
		}
		i := sort.Search(len(spans), func(i int) bool { return spans[i].pos >= e.position })
		if i == len(spans) || spans[i].pos != e.position {
			return fmt.Sprintf("no batch starts at position %d in %s", e.position, log)
		}
		if s := spans[i]; s.last != e.offset {
			return fmt.Sprintf("the batch at position %d holds offsets %d-%d, not ending at %d", s.pos, s.base, s.last, e.offset)
		}
		return ""
	}
	if prev != nil && (e.timestamp <= prev.timestamp || e.offset < prev.offset) {
		return fmt.Sprintf("does not follow the previous entry (timestamp %d, offset %d)", prev.timestamp, prev.offset)
	}
	i := sort.Search(len(spans), func(i int) bool { return spans[i].last >= e.offset })
	if i == len(spans) || spans[i].base > e.offset {
		return fmt.Sprintf("offset %d is in no batch of %s", e.offset, log)
	}
	if s := spans[i]; s.maxTs != e.timestamp {
		return fmt.Sprintf("the batch holding offset %d (position %d) has max timestamp %d", e.offset, s.pos, s.maxTs)
	}
	return ""
}

// dumpIndex prints an index's entries (only the bad ones with
// --verify-index-only) checked against the .log of the same name.
func (d *dumper) dumpIndex(path string, kind indexKind) error {
	base, ok := baseOffsetFromName(path)
	if !ok {
		return fmt.Errorf("%s: cannot tell the base offset: an index file is named by 20 digits", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	logPath := strings.TrimSuffix(path, kind.suffix) + ".log"
	spans, err := readSpansFile(logPath)
	haveLog := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	d.say("Dumping %s (%s, base offset %d)", path, kind.name, base)
	if !haveLog {
		if d.verifyOnly {
			d.problem(path, 0, "no %s next to it: nothing to verify against", filepath.Base(logPath))
		} else {
			d.say("No %s next to it: entries not checked", filepath.Base(logPath))
		}
	}
	x := parseIndex(kind, base, data)
	bad := d.indexEntries(path, kind, x, spans, haveLog, filepath.Base(logPath))
	if x.partial > 0 {
		d.problem(path, int64(len(data)-x.partial), "%d bytes after the last whole %d-byte entry", x.partial, kind.entrySize)
	}
	if x.zeroBytes > 0 {
		d.say("%d bytes of zeros after the last entry: preallocated space", x.zeroBytes)
	}
	if d.verifyOnly {
		d.say("Verified %s: %d entries, %d mismatches", path, len(x.entries), bad)
	}
	return nil
}

// indexEntryJSON is one index entry in --output json.
type indexEntryJSON struct {
	File      string `json:"file"`
	Entry     int    `json:"entry"`
	Offset    int64  `json:"offset"`
	Position  *int64 `json:"position,omitempty"`
	Timestamp *int64 `json:"timestamp,omitempty"`
	Problem   string `json:"problem,omitempty"`
}

// indexEntries prints the entries and returns how many are mismatches.
func (d *dumper) indexEntries(path string, kind indexKind, x indexFile, spans []batchSpan, check bool, log string) int {
	bad := 0
	for i, e := range x.entries {
		var prev *indexEntry
		if i > 0 {
			prev = &x.entries[i-1]
		}
		msg := ""
		if check {
			msg = checkEntry(kind, e, prev, spans, log)
		}
		if msg != "" {
			bad++
			d.problems++
		} else if d.verifyOnly {
			continue
		}
		d.printIndexEntry(path, kind, e, msg)
	}
	return bad
}

func (d *dumper) printIndexEntry(path string, kind indexKind, e indexEntry, mismatch string) {
	if d.json {
		j := indexEntryJSON{File: path, Entry: e.n, Offset: e.offset}
		if kind == offsetIndexKind {
			j.Position = &e.position
		} else {
			j.Timestamp = &e.timestamp
		}
		if mismatch != "" {
			j.Problem = "Index mismatch: " + mismatch
		}
		writeJSONLine(d.w, j)
		return
	}
	if kind == offsetIndexKind {
		fmt.Fprintf(d.w, "offset: %d position: %d\n", e.offset, e.position)
	} else {
		fmt.Fprintf(d.w, "timestamp: %d offset: %d\n", e.timestamp, e.offset)
	}
	if mismatch != "" {
		fmt.Fprintf(d.w, "! Index mismatch at entry %d: %s\n", e.n, mismatch)
	}
}

func readSpansFile(path string) ([]batchSpan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	spans, err := readSpans(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return spans, nil
}

// verifyIndexesOf checks the index files next to a .log
// (--verify-index-only with a .log named).
func (d *dumper) verifyIndexesOf(logPath string) error {
	found := false
	for _, kind := range []indexKind{offsetIndexKind, timeIndexKind} {
		path := strings.TrimSuffix(logPath, ".log") + kind.suffix
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		found = true
		if err := d.dumpIndex(path, kind); err != nil {
			return err
		}
	}
	if !found {
		d.say("No index files next to %s", logPath)
	}
	return nil
}
