package logstore

import (
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"
)

// Config holds a partition's log settings; each field names the Kafka topic
// config it carries. Start from DefaultConfig: zero is a meaningful value for
// some fields (retention.ms=0 deletes every closed segment).
type Config struct {
	SegmentBytes       int64 // segment.bytes: a segment's .log is rolled before it passes this
	SegmentMs          int64 // segment.ms: roll a non-empty segment this old
	SegmentIndexBytes  int64 // segment.index.bytes: the most .index (and .timeindex) bytes a segment may have
	IndexIntervalBytes int64 // index.interval.bytes: log bytes between sparse index entries
	MaxMessageBytes    int64 // max.message.bytes: largest batch a client may append
	LogAppendTime      bool  // message.timestamp.type=LogAppendTime (false: CreateTime)
	RetentionMs        int64 // retention.ms: -1 keeps segments forever
	RetentionBytes     int64 // retention.bytes: -1 for no size limit
	FlushMessages      int64 // flush.messages: fsync after this many records (1: every append)
	FlushMs            int64 // flush.ms: fsync when the oldest unflushed append is this old
	FileDeleteDelayMs  int64 // file.delete.delay.ms: unlink a released .deleted segment after this

	// TimestampBeforeMaxMs and TimestampAfterMaxMs are
	// message.timestamp.before.max.ms and .after.max.ms: how far behind and
	// ahead of the broker's clock a client's CreateTime record may be.
	TimestampBeforeMaxMs int64
	TimestampAfterMaxMs  int64

	// Preallocate is Kafka's preallocate: reserve a segment's whole
	// segment.bytes at its first append. Off by default, as in Kafka.
	Preallocate bool
	// PreallocateStepBytes is segment.preallocate.step.bytes: without
	// Preallocate, disk is reserved ahead of the write position in steps
	// that start at min(64 KiB, this) and double, up to this, while the
	// partition fills a step within a second. 0 reserves nothing (the file
	// grows with each write, Kafka's preallocate=false).
	PreallocateStepBytes int64

	// CleanupPolicy is cleanup.policy: "delete" (also ""), "compact" or
	// "compact,delete" (either order). Without delete, retention.ms and
	// retention.bytes delete nothing.
	CleanupPolicy          string
	DeleteRetentionMs      int64   // delete.retention.ms: how long compaction keeps tombstones
	MinCleanableDirtyRatio float64 // min.cleanable.dirty.ratio: dirty share of the cleanable bytes that starts a pass
	MinCompactionLagMs     int64   // min.compaction.lag.ms: no segment with a record this young is compacted
	MaxCompactionLagMs     int64   // max.compaction.lag.ms: dirty records this old are compacted whatever the ratio
}

// compacts reports a cleanup.policy holding compact.
func (c *Config) compacts() bool { return c.hasPolicy("compact") }

// deletes reports a cleanup.policy holding delete (the default).
func (c *Config) deletes() bool { return c.CleanupPolicy == "" || c.hasPolicy("delete") }

func (c *Config) hasPolicy(p string) bool {
	for _, f := range strings.Split(c.CleanupPolicy, ",") {
		if strings.TrimSpace(f) == p {
			return true
		}
	}
	return false
}

// DefaultConfig is Kafka's defaults: 1 GiB segments, 7-day retention, and no
// fsync but on roll and close (the page cache is trusted, as Kafka does).
func DefaultConfig() Config {
	return Config{
		SegmentBytes:           1 << 30,
		PreallocateStepBytes:   DefaultPreallocateStepBytes,
		SegmentMs:              7 * 24 * 3600 * 1000,
		SegmentIndexBytes:      10 << 20,
		IndexIntervalBytes:     4096,
		MaxMessageBytes:        1048588,
		TimestampBeforeMaxMs:   math.MaxInt64,
		TimestampAfterMaxMs:    math.MaxInt64,
		RetentionMs:            7 * 24 * 3600 * 1000,
		RetentionBytes:         -1,
		FlushMessages:          math.MaxInt64,
		FlushMs:                math.MaxInt64,
		FileDeleteDelayMs:      60000,
		CleanupPolicy:          "delete",
		DeleteRetentionMs:      24 * 3600 * 1000,
		MinCleanableDirtyRatio: 0.5,
		MinCompactionLagMs:     0,
		MaxCompactionLagMs:     math.MaxInt64,
	}
}

// DefaultPreallocateStepBytes caps the reservation step (Redpanda reserves
// 32 MiB steps; a fast partition here reaches 64 MiB after seven steps).
const DefaultPreallocateStepBytes = 64 << 20

// minSegmentBytes is Kafka's lower bound for segment.bytes (a legacy record's
// overhead); positions in the index are u32, hence the upper bound.
const minSegmentBytes = 14

func (c *Config) validate() error {
	switch {
	case c.SegmentBytes < minSegmentBytes || c.SegmentBytes > math.MaxInt32:
		return fmt.Errorf("segment.bytes %d: must be in [%d, %d]", c.SegmentBytes, minSegmentBytes, math.MaxInt32)
	case c.PreallocateStepBytes < 0:
		return fmt.Errorf("segment.preallocate.step.bytes %d: must not be negative", c.PreallocateStepBytes)
	case c.SegmentMs < 1:
		return fmt.Errorf("segment.ms %d: must be at least 1", c.SegmentMs)
	case c.SegmentIndexBytes < timeEntrySize:
		return fmt.Errorf("segment.index.bytes %d: must be at least %d", c.SegmentIndexBytes, timeEntrySize)
	case c.SegmentIndexBytes > math.MaxInt32:
		return fmt.Errorf("segment.index.bytes %d: must be at most %d", c.SegmentIndexBytes, math.MaxInt32)
	case c.IndexIntervalBytes < 0:
		return fmt.Errorf("index.interval.bytes %d: must not be negative", c.IndexIntervalBytes)
	case c.MaxMessageBytes < 0:
		return fmt.Errorf("max.message.bytes %d: must not be negative", c.MaxMessageBytes)
	case c.TimestampBeforeMaxMs < 0 || c.TimestampAfterMaxMs < 0:
		return fmt.Errorf("message.timestamp.before.max.ms %d, after.max.ms %d: must not be negative",
			c.TimestampBeforeMaxMs, c.TimestampAfterMaxMs)
	case c.RetentionMs < -1:
		return fmt.Errorf("retention.ms %d: must be -1 or more", c.RetentionMs)
	case c.FlushMessages < 1:
		return fmt.Errorf("flush.messages %d: must be at least 1", c.FlushMessages)
	case c.FlushMs < 0:
		return fmt.Errorf("flush.ms %d: must not be negative", c.FlushMs)
	case c.DeleteRetentionMs < 0:
		return fmt.Errorf("delete.retention.ms %d: must not be negative", c.DeleteRetentionMs)
	case c.MinCleanableDirtyRatio < 0 || c.MinCleanableDirtyRatio > 1:
		return fmt.Errorf("min.cleanable.dirty.ratio %v: must be in [0, 1]", c.MinCleanableDirtyRatio)
	case c.MinCompactionLagMs < 0:
		return fmt.Errorf("min.compaction.lag.ms %d: must not be negative", c.MinCompactionLagMs)
	case c.MaxCompactionLagMs < 1:
		return fmt.Errorf("max.compaction.lag.ms %d: must be at least 1", c.MaxCompactionLagMs)
	case c.FileDeleteDelayMs < 0:
		return fmt.Errorf("file.delete.delay.ms %d: must not be negative", c.FileDeleteDelayMs)
	}
	return nil
}

// Options are a log's collaborators, fixed for its life.
type Options struct {
	// IO writes appends into segment files; nil means PwriteIO.
	IO FileIO
	// Syncer makes files durable; nil means a SyncNow over IO. The engine
	// passes one that batches the fsyncs of many partitions through its ring.
	Syncer Syncer
	// Logger receives recovery and retention messages; nil means slog.Default.
	Logger *slog.Logger
	// Now is the clock for LogAppendTime, segment.ms, flush.ms and
	// retention.ms; nil means time.Now.
	Now func() time.Time
	// CheckBatch, when set, sees every batch of a client append after
	// validation and before anything is written; an error rejects the whole
	// append. It is the hook for the idempotence and transaction checks
	// (producer id, epoch, base sequence) of a later issue.
	CheckBatch func(b Batch) error
}

func (o Options) withDefaults() Options {
	if o.IO == nil {
		o.IO = PwriteIO{}
	}
	if o.Syncer == nil {
		o.Syncer = SyncNow{IO: o.IO}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
