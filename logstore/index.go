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
	path       string // the .index file, opened only to read or write it
	base       int64
	maxEntries int

	mu      sync.RWMutex
	e       []uint64 // rel<<32 | pos, both strictly increasing
	written int      // leading entries already in the file (owner only)
}

func newOffsetIndex(path string, base, maxBytes int64) *offsetIndex {
	return &offsetIndex{path: path, base: base, maxEntries: int(maxBytes / offsetEntrySize)}
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
	data, err := os.ReadFile(x.path)
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

// trim writes the entries the file does not have yet and cuts the file to
// its entries (giving back blocks reserved past them), then syncs it when
// sync is set.
func (x *offsetIndex) trim(sync bool) error {
	x.mu.RLock()
	todo := x.e[x.written:]
	x.mu.RUnlock()
	buf := make([]byte, len(todo)*offsetEntrySize)
	for i, v := range todo {
		binary.BigEndian.PutUint64(buf[i*offsetEntrySize:], v)
	}
	if err := writeIndexFile(x.path, buf, int64(x.written)*offsetEntrySize, sync); err != nil {
		return err
	}
	x.written += len(todo)
	return nil
}

// writeIndexFile writes tail at from in the index file at path, cuts the
// file there and syncs it when sync is set. Index files are open only for
// such a call: a partition holds one file open (its active .log), not
// three, so that thousands of partitions fit the open-files limit.
func writeIndexFile(path string, tail []byte, from int64, sync bool) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	if len(tail) > 0 {
		if _, err := f.WriteAt(tail, from); err != nil {
			f.Close()
			return fmt.Errorf("write index %s: %w", path, err)
		}
	}
	if err := f.Truncate(from + int64(len(tail))); err != nil {
		f.Close()
		return fmt.Errorf("trim index %s: %w", path, err)
	}
	if sync {
		if err := (PwriteIO{}).Datasync(f); err != nil {
			f.Close()
			return fmt.Errorf("fdatasync %s: %w", path, err)
		}
	}
	return f.Close()
}

// reserveIndexFile reserves blocks for the first size bytes of the index
// file at path without changing its length.
func reserveIndexFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	err = reserve(f, 0, size, true)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
