package logstore

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
)

// EpochEntry says: leader epoch Epoch wrote its first batch at StartOffset.
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}

// epochCache is the leader epoch cache and its leader-epoch-checkpoint file
// (`epoch startOffset` lines): the basis of OffsetForLeaderEpoch and of a
// follower's truncation. Every change is written through to the file.
type epochCache struct {
	path string
	mu   sync.Mutex
	e    []EpochEntry // epochs and offsets strictly increasing
}

func openEpochCache(path string) (*epochCache, error) {
	lines, err := readCheckpointFile(path, 2)
	if err != nil {
		return nil, err
	}
	c := &epochCache{path: path}
	for _, f := range lines {
		ep, err1 := strconv.ParseInt(f[0], 10, 32)
		off, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: bad line %q %q", path, f[0], f[1])
		}
		c.e = append(c.e, EpochEntry{int32(ep), off})
	}
	return c, nil
}

func (c *epochCache) persist() error {
	lines := make([]string, len(c.e))
	for i, e := range c.e {
		lines[i] = fmt.Sprintf("%d %d", e.Epoch, e.StartOffset)
	}
	return writeCheckpointFile(c.path, lines)
}

// assign records that epoch starts at offset, if epoch is newer than the
// latest (Kafka ignores older epochs here, and so does this).
func (c *epochCache) assign(epoch int32, offset int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch < 0 {
		return nil
	}
	if n := len(c.e); n > 0 && (epoch <= c.e[n-1].Epoch || offset < c.e[n-1].StartOffset) {
		return nil
	}
	c.e = append(c.e, EpochEntry{epoch, offset})
	return c.persist()
}

// truncateFromEnd drops the epochs starting at or after offset.
func (c *epochCache) truncateFromEnd(offset int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.e)
	for n > 0 && c.e[n-1].StartOffset >= offset {
		n--
	}
	if n == len(c.e) {
		return nil
	}
	c.e = c.e[:n]
	return c.persist()
}

// truncateFromStart drops the epochs wholly below offset; the one holding
// offset now starts there.
func (c *epochCache) truncateFromStart(offset int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := 0
	for i+1 < len(c.e) && c.e[i+1].StartOffset <= offset {
		i++
	}
	if len(c.e) == 0 || (i == 0 && c.e[0].StartOffset >= offset) {
		return nil
	}
	c.e = append([]EpochEntry(nil), c.e[i:]...)
	c.e[0].StartOffset = max(c.e[0].StartOffset, offset)
	return c.persist()
}

func (c *epochCache) clear() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.e) == 0 {
		return nil
	}
	c.e = nil
	return c.persist()
}

func (c *epochCache) entries() []EpochEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]EpochEntry(nil), c.e...)
}

// endOffsetFor is Kafka's LeaderEpochFileCache.endOffsetFor: the largest
// epoch at most epoch and the offset where the next epoch starts (the log
// end for the latest); (-1, -1) when epoch is older than every entry.
func (c *epochCache) endOffsetFor(epoch int32, leo int64) (int32, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.e)
	if n == 0 || epoch < c.e[0].Epoch {
		return -1, -1
	}
	if epoch >= c.e[n-1].Epoch {
		return c.e[n-1].Epoch, leo
	}
	i := 0
	for i+1 < n && c.e[i+1].Epoch <= epoch {
		i++
	}
	return c.e[i].Epoch, c.e[i+1].StartOffset
}

// LeaderEpochs is a copy of the leader epoch cache, oldest first.
func (l *Log) LeaderEpochs() []EpochEntry { return l.epochs.entries() }

// LatestEpoch is the leader epoch of the log's last batch, -1 with none
// (a follower's LastFetchedEpoch, read each fetch: no copy of the cache).
func (l *Log) LatestEpoch() int32 {
	c := l.epochs
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.e) == 0 {
		return -1
	}
	return c.e[len(c.e)-1].Epoch
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch: the largest epoch at most
// epoch this log knows and the offset where it ended (-1, -1: none).
func (l *Log) EndOffsetForEpoch(epoch int32) (int32, int64) {
	return l.epochs.endOffsetFor(epoch, l.leo.Load())
}

// replace makes the cache hold e (a moved log's entries) and writes the
// file, unless it holds them already.
func (c *epochCache) replace(e []EpochEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.Equal(c.e, e) {
		return nil
	}
	c.e = append([]EpochEntry(nil), e...)
	return c.persist()
}

// moveTo is where the file is now that its directory was renamed; the
// entries are those already written there.
func (c *epochCache) moveTo(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.path = path
}
