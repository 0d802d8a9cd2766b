package logstore

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"math"
	"sync"
	"time"
)

// Cleaner is Kafka's LogCleaner: Threads goroutines that compact the logs
// whose cleanup.policy includes compact, each taking the dirtiest log
// there is (LogCleanerManager.grabFilthiestCompactedLog) and sleeping
// Backoff (log.cleaner.backoff.ms) when there is none. A log is cleaned
// by one goroutine at a time.
//
// A log is eligible when its cleanable part (segments below the first
// uncleanable offset, see firstUncleanable) holds dirty bytes (not yet
// covered by a pass) and either the dirty share of the cleanable bytes is
// above min.cleanable.dirty.ratio, or its oldest dirty segment's first
// batch is older than max.compaction.lag.ms. Of the eligible, the one with
// the highest dirty share goes first.
//
// A log whose pass fails (its bytes cannot be read or written) is left
// alone from then on, as Kafka marks it uncleanable; the log itself has
// failed then, or will be reopened.
type Cleaner struct {
	cfg    CleanerConfig
	logs   func() []*Log
	now    func() time.Time
	logger *slog.Logger

	mu     sync.Mutex
	busy   map[*Log]bool
	failed map[*Log]bool
	stop   chan struct{}
	done   sync.WaitGroup
}

// CleanerConfig is the broker's log.cleaner.* settings.
type CleanerConfig struct {
	Threads int           // log.cleaner.threads
	Backoff time.Duration // log.cleaner.backoff.ms
	Logger  *slog.Logger  // nil: slog.Default
	Now     func() time.Time
}

// NewCleaner returns a cleaner over the logs that logs answers (asked
// anew each round, so logs created later are seen); Start runs it.
func NewCleaner(cfg CleanerConfig, logs func() []*Log) *Cleaner {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cleaner{cfg: cfg, logs: logs, now: cfg.Now, logger: cfg.Logger,
		busy: map[*Log]bool{}, failed: map[*Log]bool{}}
}

// Start runs the cleaner's goroutines until Close.
func (c *Cleaner) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop != nil {
		return
	}
	c.stop = make(chan struct{})
	for range c.cfg.Threads {
		c.done.Add(1)
		go c.run(c.stop)
	}
}

// Close stops the goroutines, waiting for a pass under way to end.
func (c *Cleaner) Close() {
	c.mu.Lock()
	stop := c.stop
	c.stop = nil
	c.mu.Unlock()
	if stop != nil {
		close(stop)
		c.done.Wait()
	}
}

func (c *Cleaner) run(stop <-chan struct{}) {
	defer c.done.Done()
	for {
		select {
		case <-stop:
			return
		default:
		}
		if c.CleanOnce() {
			continue
		}
		select {
		case <-stop:
			return
		case <-time.After(c.cfg.Backoff):
		}
	}
}

// CleanOnce cleans the dirtiest eligible log, if any, and says whether it
// made progress (a cleaner goroutine sleeps the backoff when not).
func (c *Cleaner) CleanOnce() bool {
	now := c.now()
	l := c.grabFilthiest(now)
	if l == nil {
		return false
	}
	defer func() {
		c.mu.Lock()
		delete(c.busy, l)
		c.mu.Unlock()
	}()
	before := l.firstDirty()
	_, err := l.Compact(now)
	switch {
	case errors.Is(err, ErrClosed):
		return false
	case err != nil:
		c.logger.Warn("logstore: compaction failed; leaving the log uncleaned", "log", l.Dir(), "err", err)
		c.mu.Lock()
		c.failed[l] = true
		c.mu.Unlock()
		return false
	}
	// A pass that could not swap its segments in (the log changed under
	// it) covered nothing: wait before trying again.
	return l.firstDirty() > before
}

// grabFilthiest picks the eligible log with the highest dirty share and
// marks it busy.
func (c *Cleaner) grabFilthiest(now time.Time) *Log {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *Log
	var bestRatio float64
	for _, l := range c.logs() {
		if c.busy[l] || c.failed[l] {
			continue
		}
		tc, ok := l.toClean(now)
		if !ok || !(tc.needNow && tc.cleanableBytes > 0 || tc.ratio > tc.minRatio) {
			continue
		}
		if best == nil || tc.ratio > bestRatio {
			best, bestRatio = l, tc.ratio
		}
	}
	if best != nil {
		c.busy[best] = true
	}
	return best
}

// cleanState is Kafka's LogToClean: how dirty a log's cleanable part is.
type cleanState struct {
	cleanableBytes int64   // dirty bytes below the first uncleanable offset
	totalBytes     int64   // those and the bytes already cleaned
	ratio          float64 // cleanableBytes / totalBytes
	minRatio       float64 // min.cleanable.dirty.ratio
	needNow        bool    // max.compaction.lag.ms has passed for a dirty segment
}

// toClean answers the log's cleanState, and false when the log does not
// compact, is closed or failed, or has nothing cleanable.
func (l *Log) toClean(now time.Time) (cleanState, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.cfg.compacts() || l.usable() != nil {
		return cleanState{}, false
	}
	segs := l.segments()
	firstDirty := l.firstDirtyLocked()
	n := l.cleanableCount(segs, l.firstUncleanable(segs, now))
	tc := cleanState{minRatio: l.cfg.MinCleanableDirtyRatio}
	for i := 0; i < n; i++ {
		size := segs[i].size.Load()
		tc.totalBytes += size
		if segs[i+1].base > firstDirty {
			tc.cleanableBytes += size
		}
	}
	if tc.totalBytes == 0 {
		return cleanState{}, false
	}
	tc.ratio = float64(tc.cleanableBytes) / float64(tc.totalBytes)
	tc.needNow = l.maxCompactionDelay(segs, firstDirty, now) > 0
	return tc, true
}

// firstDirty is the first offset no completed pass covered (Kafka's first
// dirty offset: the cleaner checkpoint, or the log start when that is
// below it).
func (l *Log) firstDirty() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.firstDirtyLocked()
}

func (l *Log) firstDirtyLocked() int64 {
	return max(l.compact.cleanedTo, l.logStart.Load())
}

// firstUncleanable is Kafka's first uncleanable dirty offset less the high
// watermark (cleanableCount applies that): the active segment's base, or
// the base of the first dirty segment holding a record younger than
// min.compaction.lag.ms, whichever is lower. Under l.mu.
func (l *Log) firstUncleanable(segs []*Segment, now time.Time) int64 {
	bound := segs[len(segs)-1].base
	lag := l.cfg.MinCompactionLagMs
	if lag <= 0 {
		return bound
	}
	firstDirty := l.firstDirtyLocked()
	horizon := now.UnixMilli() - lag
	for i, s := range segs[:len(segs)-1] {
		if segs[i+1].base <= firstDirty {
			continue // clean already
		}
		if s.largestTimestamp() > horizon {
			return min(bound, s.base)
		}
	}
	return bound
}

// maxCompactionDelay is Kafka's: how long past max.compaction.lag.ms the
// oldest dirty non-active segment is, by its first batch's timestamp (0
// when none is). Under l.mu.
func (l *Log) maxCompactionDelay(segs []*Segment, firstDirty int64, now time.Time) int64 {
	lag := l.cfg.MaxCompactionLagMs
	if lag == math.MaxInt64 {
		return 0
	}
	earliest := int64(math.MaxInt64)
	for i, s := range segs[:len(segs)-1] {
		if segs[i+1].base <= firstDirty {
			continue
		}
		if ts := firstBatchTimestamp(s); ts > 0 {
			earliest = min(earliest, ts)
		}
	}
	cleanUntil := now.UnixMilli() - lag
	if earliest < cleanUntil {
		return cleanUntil - earliest
	}
	return 0
}

// firstBatchTimestamp is the max timestamp of s's first batch, -1 when
// it has none or cannot be read. Under the log's mutex.
func firstBatchTimestamp(s *Segment) int64 {
	if s.firstTs >= 0 {
		return s.firstTs
	}
	if s.size.Load() < BatchHeaderSize {
		return -1
	}
	var h [BatchHeaderSize]byte
	if _, err := s.log.ReadAt(h[:], 0); err != nil {
		return -1
	}
	return int64(binary.BigEndian.Uint64(h[offMaxTimestamp:]))
}
