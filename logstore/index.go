package logstore

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"sort"
	"sync"
)

// offsetEntrySize is one .index entry: relative offset u32, position u32.
const offsetEntrySize = 8

// offsetIndex is a segment's sparse offset index: entry i says the batch at
// file position pos has last offset base+rel. Kafka maps the file; here the
// entries live in memory (8 bytes per index.interval.bytes of log, about
// 0.2% of the log) and the file is written from them at roll and close, so
// the append path makes no index syscall. After a crash the index
// of every segment past the recovery point is rebuilt from the log anyway.
//
// The owner appends and truncates; readers on other goroutines look up under
// the read lock.
type offsetIndex struct {
	f          *os.File
	base       int64
	maxEntries int

	mu      sync.RWMutex
	e       []uint64 // rel<<32 | pos, both strictly increasing
	written int      // leading entries already in the file (owner only)
}

func newOffsetIndex(f *os.File, base, maxBytes int64) *offsetIndex {
	return &offsetIndex{f: f, base: base, maxEntries: int(maxBytes / offsetEntrySize)}
}

func packOffset(rel uint32, pos uint32) uint64 { return uint64(rel)<<32 | uint64(pos) }
func unpackOffset(v uint64) (rel, pos uint32)  { return uint32(v >> 32), uint32(v) }

// parseOffsetIndex decodes an .index file's bytes and checks them against
// the segment: a whole number of entries, offsets and positions strictly
// increasing, no entry at position 0 (Kafka never indexes a segment's first
// batch, and zeros are what a preallocated, unwritten file holds), every
// position inside the log. An error means: rebuild from the log.
func parseOffsetIndex(data []byte, logSize int64) ([]uint64, error) {
	if len(data)%offsetEntrySize != 0 {
		return nil, fmt.Errorf("index of %d bytes is not a whole number of %d-byte entries", len(data), offsetEntrySize)
	}
	e := make([]uint64, 0, len(data)/offsetEntrySize)
	var prevRel, prevPos uint32
	for i := 0; i < len(data); i += offsetEntrySize {
		rel := binary.BigEndian.Uint32(data[i:])
		pos := binary.BigEndian.Uint32(data[i+4:])
		n := i / offsetEntrySize
		switch {
		case pos == 0:
			return nil, fmt.Errorf("index entry %d points at position 0", n)
		case int64(pos) >= logSize:
			return nil, fmt.Errorf("index entry %d points at %d, past the log's %d bytes", n, pos, logSize)
		case rel > math.MaxInt32:
			return nil, fmt.Errorf("index entry %d has relative offset %d", n, rel)
		case n > 0 && (rel <= prevRel || pos <= prevPos):
			return nil, fmt.Errorf("index entry %d (%d, %d) does not follow (%d, %d)", n, rel, pos, prevRel, prevPos)
		}
		prevRel, prevPos = rel, pos
		e = append(e, packOffset(rel, pos))
	}
	return e, nil
}

// load replaces the entries with the file's, checked by parseOffsetIndex.
func (x *offsetIndex) load(logSize int64) error {
	data, err := readAll(x.f)
	if err != nil {
		return err
	}
	e, err := parseOffsetIndex(data, logSize)
	if err != nil {
		return err
	}
	x.mu.Lock()
	x.e, x.written = e, len(e)
	x.mu.Unlock()
	return nil
}

func (x *offsetIndex) len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.e)
}

// full reports whether k more entries would not fit in segment.index.bytes.
func (x *offsetIndex) full(k int) bool { return x.len()+k > x.maxEntries }

// append adds (offset, pos); both must grow, or the caller has a bug.
func (x *offsetIndex) append(offset, pos int64) {
	rel := offset - x.base
	x.mu.Lock()
	defer x.mu.Unlock()
	if n := len(x.e); n > 0 {
		lr, lp := unpackOffset(x.e[n-1])
		if rel <= int64(lr) || pos <= int64(lp) {
			panic(fmt.Sprintf("logstore: index append (%d, %d) after (%d, %d) in segment %d",
				offset, pos, x.base+int64(lr), lp, x.base))
		}
	}
	if rel < 0 || rel > math.MaxInt32 || pos <= 0 || pos > math.MaxUint32 {
		panic(fmt.Sprintf("logstore: index entry (%d, %d) out of range for segment %d", offset, pos, x.base))
	}
	x.e = append(x.e, packOffset(uint32(rel), uint32(pos)))
}

// lookup is the position of the last indexed batch whose last offset is at
// most offset: a scan for offset may start there. 0 when none is.
func (x *offsetIndex) lookup(offset int64) int64 {
	rel := offset - x.base
	if rel < 0 {
		return 0
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	i := sort.Search(len(x.e), func(i int) bool {
		r, _ := unpackOffset(x.e[i])
		return int64(r) > rel
	})
	if i == 0 {
		return 0
	}
	_, pos := unpackOffset(x.e[i-1])
	return int64(pos)
}

// boundary is the position of the last indexed batch that starts at or
// before limit and whose last offset is below upTo: every batch before it is
// whole and below upTo. 0 when none is.
func (x *offsetIndex) boundary(limit, upTo int64) int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	i := sort.Search(len(x.e), func(i int) bool {
		r, p := unpackOffset(x.e[i])
		return int64(p) > limit || x.base+int64(r) >= upTo
	})
	if i == 0 {
		return 0
	}
	_, pos := unpackOffset(x.e[i-1])
	return int64(pos)
}

// last is the last entry, if any.
func (x *offsetIndex) last() (offset, pos int64, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if len(x.e) == 0 {
		return 0, 0, false
	}
	r, p := unpackOffset(x.e[len(x.e)-1])
	return x.base + int64(r), int64(p), true
}

// truncateToPos drops the entries at or after pos.
func (x *offsetIndex) truncateToPos(pos int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	i := sort.Search(len(x.e), func(i int) bool {
		_, p := unpackOffset(x.e[i])
		return int64(p) >= pos
	})
	x.e = x.e[:i]
	x.written = min(x.written, i)
}

// reset drops every entry (before a rebuild).
func (x *offsetIndex) reset() {
	x.mu.Lock()
	x.e, x.written = nil, 0
	x.mu.Unlock()
}

// persist writes the entries the file does not have yet.
func (x *offsetIndex) persist() error {
	x.mu.RLock()
	todo := x.e[x.written:]
	x.mu.RUnlock()
	if len(todo) == 0 {
		return nil
	}
	buf := make([]byte, len(todo)*offsetEntrySize)
	for i, v := range todo {
		binary.BigEndian.PutUint64(buf[i*offsetEntrySize:], v)
	}
	if _, err := x.f.WriteAt(buf, int64(x.written)*offsetEntrySize); err != nil {
		return fmt.Errorf("write index %s: %w", x.f.Name(), err)
	}
	x.written += len(todo)
	return nil
}

// trim persists and cuts the file to its entries.
func (x *offsetIndex) trim() error {
	if err := x.persist(); err != nil {
		return err
	}
	if err := x.f.Truncate(int64(x.written) * offsetEntrySize); err != nil {
		return fmt.Errorf("trim index: %w", err)
	}
	return nil
}

// readAll reads a whole file from position 0.
func readAll(f *os.File) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return data, nil
}
