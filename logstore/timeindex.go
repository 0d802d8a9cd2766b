package logstore

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"sort"
	"sync"
)

// timeEntrySize is one .timeindex entry: timestamp i64, relative offset u32.
const timeEntrySize = 12

// timeEntry says: the largest timestamp among the batches up to and including
// the one whose last offset is base+rel is ts.
type timeEntry struct {
	ts  int64
	rel uint32
}

// timeIndex is a segment's sparse time index, kept like offsetIndex: in
// memory, written to its file at roll and close. An entry is added
// with an offset index entry when the segment's max timestamp has grown
// since the last one, and once more when the segment rolls.
type timeIndex struct {
	path       string // the .timeindex file, opened only to read or write it
	base       int64
	maxEntries int

	mu      sync.RWMutex
	e       []timeEntry // ts strictly increasing, rel non-decreasing
	written int
}

func newTimeIndex(path string, base, maxBytes int64) *timeIndex {
	return &timeIndex{path: path, base: base, maxEntries: int(maxBytes / timeEntrySize)}
}

// parseTimeIndex decodes a .timeindex file's bytes: a whole number of
// entries, timestamps strictly increasing (so a zero-filled tail fails),
// offsets non-decreasing and inside the segment (below next).
func parseTimeIndex(data []byte, base, next int64) ([]timeEntry, error) {
	if len(data)%timeEntrySize != 0 {
		return nil, fmt.Errorf("time index of %d bytes is not a whole number of %d-byte entries", len(data), timeEntrySize)
	}
	e := make([]timeEntry, 0, len(data)/timeEntrySize)
	for i := 0; i < len(data); i += timeEntrySize {
		t := timeEntry{int64(binary.BigEndian.Uint64(data[i:])), binary.BigEndian.Uint32(data[i+8:])}
		n := len(e)
		switch {
		case t.rel > math.MaxInt32 || base+int64(t.rel) >= next:
			return nil, fmt.Errorf("time index entry %d has offset %d, segment holds [%d, %d)", n, base+int64(t.rel), base, next)
		case n > 0 && (t.ts <= e[n-1].ts || t.rel < e[n-1].rel):
			return nil, fmt.Errorf("time index entry %d (%d, %d) does not follow (%d, %d)", n, t.ts, t.rel, e[n-1].ts, e[n-1].rel)
		}
		e = append(e, t)
	}
	return e, nil
}

func (x *timeIndex) load(next int64) error {
	data, err := os.ReadFile(x.path)
	if err != nil {
		return err
	}
	e, err := parseTimeIndex(data, x.base, next)
	if err != nil {
		return err
	}
	x.mu.Lock()
	x.e, x.written = e, len(e)
	x.mu.Unlock()
	return nil
}

func (x *timeIndex) full(k int) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.e)+k > x.maxEntries
}

// maybeAppend adds (ts, offset) if ts is larger than the last entry's.
func (x *timeIndex) maybeAppend(ts, offset int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	rel := offset - x.base
	if rel < 0 || rel > math.MaxInt32 {
		panic(fmt.Sprintf("logstore: time index offset %d out of range for segment %d", offset, x.base))
	}
	if n := len(x.e); n > 0 && (ts <= x.e[n-1].ts || uint32(rel) < x.e[n-1].rel) {
		return
	}
	if ts < 0 {
		return // no timestamp (-1): Kafka's empty time index already says so
	}
	x.e = append(x.e, timeEntry{ts, uint32(rel)})
}

// lookup is the last entry with a timestamp at most ts: no record before its
// offset's batch can have a timestamp >= ts unless equal to it. ok is false
// when there is none and a search must start at the segment's base.
func (x *timeIndex) lookup(ts int64) (entTs, offset int64, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	i := sort.Search(len(x.e), func(i int) bool { return x.e[i].ts > ts })
	if i == 0 {
		return 0, x.base, false
	}
	return x.e[i-1].ts, x.base + int64(x.e[i-1].rel), true
}

// last is the last entry, if any.
func (x *timeIndex) last() (ts, offset int64, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if len(x.e) == 0 {
		return -1, x.base, false
	}
	t := x.e[len(x.e)-1]
	return t.ts, x.base + int64(t.rel), true
}

// truncateToOffset drops the entries whose offset is at or after offset.
func (x *timeIndex) truncateToOffset(offset int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	i := sort.Search(len(x.e), func(i int) bool { return x.base+int64(x.e[i].rel) >= offset })
	x.e = x.e[:i]
	x.written = min(x.written, i)
}

func (x *timeIndex) reset() {
	x.mu.Lock()
	x.e, x.written = nil, 0
	x.mu.Unlock()
}

// trim writes the entries the file does not have yet and cuts the file to
// them, then syncs it when sync is set (see writeIndexFile).
func (x *timeIndex) trim(sync bool) error {
	x.mu.RLock()
	todo := x.e[x.written:]
	x.mu.RUnlock()
	buf := make([]byte, len(todo)*timeEntrySize)
	for i, t := range todo {
		binary.BigEndian.PutUint64(buf[i*timeEntrySize:], uint64(t.ts))
		binary.BigEndian.PutUint32(buf[i*timeEntrySize+8:], t.rel)
	}
	if err := writeIndexFile(x.path, buf, int64(x.written)*timeEntrySize, sync); err != nil {
		return err
	}
	x.written += len(todo)
	return nil
}
