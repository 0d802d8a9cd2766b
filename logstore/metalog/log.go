package metalog

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/weirmq/weir/logstore"
)

// DirName is the metadata log's directory inside the first log dir (as
// Kafka's metadata.log.dir defaults to it); logstore.OpenDir skips it.
const DirName = logstore.MetadataTopic + "-0"

// TopicID is the id Kafka gives the metadata topic (Uuid.METADATA_TOPIC_ID),
// written to the directory's partition.metadata as Kafka does.
var TopicID = UUID{15: 1}

// Options are a Log's settings; zero values take the defaults.
type Options struct {
	NodeID int32 // the leader named in LeaderChange records
	Logger *slog.Logger
	Now    func() time.Time
	// SegmentBytes is the segment size (default 8 MiB); each append must
	// fit in one segment.
	SegmentBytes int64
}

// defaultSegmentBytes: segments small enough to preallocate and rescan
// cheaply, since the metadata log is rescanned on every open.
const defaultSegmentBytes = 8 << 20

// storeConfig is the logstore config of the metadata log: no time or size
// retention (snapshots decide what goes), small indexes, and no flush
// policy: Append syncs each batch itself.
func storeConfig(segmentBytes int64) logstore.Config {
	c := logstore.DefaultConfig()
	c.SegmentBytes = segmentBytes
	c.SegmentIndexBytes = 256 << 10
	c.SegmentMs = math.MaxInt64
	c.RetentionMs, c.RetentionBytes = -1, -1
	c.FileDeleteDelayMs = 0
	c.MaxMessageBytes = segmentBytes
	return c
}

// Log is the local metadata log: a logstore log of record batches and the
// snapshots beside it. Only one goroutine (the controller) uses it at a
// time; a Raft layer would hold it the same way.
type Log struct {
	dir      string
	store    *logstore.Log
	opts     Options
	epoch    int32      // the leader epoch this node appends in
	snapshot SnapshotID // the newest snapshot; zero when none
	lastTime int64      // append time of the last batch (ms), for snapshot headers
}

// prepare fills in the defaults and makes dir.
func (opts Options) prepare(dir string) (Options, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = defaultSegmentBytes
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return opts, fmt.Errorf("metadata log: %w", err)
	}
	return opts, nil
}

// Open opens the metadata log in dir, creating it when new, and returns it
// with the records to replay, oldest first: the newest snapshot's, then
// every later batch's. On the way it:
//   - migrates the pre-Kafka format (metadata.records, metadata.snapshot)
//     into batches and removes it (see legacy.go);
//   - cuts a torn or corrupt tail of the log (logstore's recovery);
//   - starts a new leader epoch, one past the last in the log or snapshot,
//     with a LeaderChange control batch, as KRaft's leader does;
//   - begins a new log with a FeatureLevelRecord of metadata.version.
//
// Records appended by Open are among those returned.
func Open(dir string, opts Options) (*Log, []Record, error) {
	opts, err := opts.prepare(dir)
	if err != nil {
		return nil, nil, err
	}
	legacy, migrating, err := readLegacy(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("metadata log %s: migrating the old format: %w", dir, err)
	}
	store, err := logstore.Open(dir, logstore.MetadataTopic, 0, storeConfig(opts.SegmentBytes),
		logstore.Options{Logger: opts.Logger, Now: opts.Now},
		logstore.OpenState{LogStartOffset: -1}) // rescan all: the log is small
	if err != nil {
		return nil, nil, fmt.Errorf("metadata log: %w", err)
	}
	l := &Log{dir: dir, store: store, opts: opts}
	err = store.SetTopicID(TopicID)
	var recs []Record
	if err == nil {
		recs, err = l.load(migrating)
	}
	if err == nil {
		recs, err = l.start(recs, legacy)
	}
	if err == nil && migrating {
		if err = removeLegacy(dir); err == nil {
			opts.Logger.Info("metadata log: migrated the old format", "dir", dir, "changes", len(legacy))
		}
	}
	if err != nil {
		store.Close()
		return nil, nil, fmt.Errorf("metadata log %s: %w", dir, err)
	}
	return l, recs, nil
}

// load reads the newest usable snapshot and the batches after it. While
// old-format files remain, whatever the new format holds is from a
// migration a crash interrupted: it is dropped and the migration redone.
func (l *Log) load(migrating bool) ([]Record, error) {
	ids, err := listSnapshots(l.dir)
	if err != nil {
		return nil, err
	}
	if migrating {
		for _, id := range ids {
			os.Remove(filepath.Join(l.dir, id.FileName()))
		}
		ids = nil
		if l.store.LogEndOffset() > 0 {
			if err := l.store.TruncateFullyAndStartAt(0); err != nil {
				return nil, err
			}
		}
	}
	var recs []Record
	for _, id := range ids {
		data, err := os.ReadFile(filepath.Join(l.dir, id.FileName()))
		if err == nil {
			var h SnapshotHeader
			if recs, h, err = DecodeSnapshot(data); err == nil {
				l.snapshot, l.epoch, l.lastTime = id, id.Epoch, h.LastContainedLogTimestamp
				break
			}
		}
		l.opts.Logger.Warn("metadata log: skipping an unreadable snapshot", "file", id.FileName(), "err", err)
	}
	end, start := l.store.LogEndOffset(), l.store.LogStartOffset()
	if s := l.snapshot.EndOffset; end < s {
		// The log ends before the snapshot: start it where the snapshot ends.
		l.opts.Logger.Warn("metadata log: the log ends before the snapshot; starting it after the snapshot",
			"log_end_offset", end, "snapshot", l.snapshot.FileName())
		if err := l.store.TruncateFullyAndStartAt(s); err != nil {
			return nil, err
		}
	} else if start > s {
		return nil, fmt.Errorf("the log starts at offset %d but the newest readable snapshot ends at %d: "+
			"records in between are lost", start, s)
	}
	err = l.ReadBatches(l.snapshot.EndOffset, func(b Batch) error {
		recs = append(recs, b.Records...)
		l.epoch, l.lastTime = max(l.epoch, b.LeaderEpoch), b.AppendTime
		return nil
	})
	l.store.SetHighWatermark(l.store.LogEndOffset())
	return recs, err
}

// start begins this node's epoch as leader and writes what a new log
// needs: metadata.version first, then migrated changes.
func (l *Log) start(recs []Record, legacy [][]Record) ([]Record, error) {
	l.epoch++
	voters := []Voter{{VoterID: l.opts.NodeID}}
	lc := LeaderChange{LeaderID: l.opts.NodeID, Voters: voters, GrantingVoters: voters}
	if err := l.append(EncodeControlBatch(l.store.LogEndOffset(), l.epoch, l.now(), []Control{lc})); err != nil {
		return nil, err
	}
	var writes [][]Record
	if !hasMetadataVersion(recs) {
		writes = append(writes, []Record{FeatureLevelRecord{Name: MetadataVersionFeature, FeatureLevel: MetadataVersion}})
	}
	writes = append(writes, legacy...)
	for _, w := range writes {
		for len(w) > 0 {
			n := min(len(w), migrateBatchRecords)
			if _, err := l.Append(w[:n]); err != nil {
				return nil, err
			}
			recs, w = append(recs, w[:n]...), w[n:]
		}
	}
	return recs, nil
}

// migrateBatchRecords bounds a batch at open: an old snapshot of a large
// image is split so each batch fits a segment.
const migrateBatchRecords = 4096

func hasMetadataVersion(recs []Record) bool {
	for _, r := range recs {
		if f, ok := r.(FeatureLevelRecord); ok && f.Name == MetadataVersionFeature {
			return true
		}
	}
	return false
}

func (l *Log) now() int64 { return l.opts.Now().UnixMilli() }

// Append writes recs as one batch in the current epoch and makes it
// durable: when it returns nil the change survives a crash, and it returns
// the batch's last offset. On an error the log may hold a torn batch,
// which the next open cuts; the caller must not apply the change, and the
// log refuses further appends.
func (l *Log) Append(recs []Record) (int64, error) {
	if err := l.append(EncodeBatch(l.store.LogEndOffset(), l.epoch, l.now(), recs)); err != nil {
		return -1, err
	}
	return l.store.LogEndOffset() - 1, nil
}

// append writes one batch whose offsets are already the log end's. It
// goes in as logstore's follower appends do, keeping its offsets and
// epoch: the metadata log numbers its own batches like a Raft log, and
// logstore refuses control batches from clients.
func (l *Log) append(batch []byte) error {
	if _, err := l.store.AppendAsFollower(batch); err != nil {
		return fmt.Errorf("metadata log: append: %w", err)
	}
	if err := l.store.Flush(); err != nil {
		return fmt.Errorf("metadata log: fsync: %w", err)
	}
	l.lastTime = logstore.Batch(batch).MaxTimestamp()
	l.store.SetHighWatermark(l.store.LogEndOffset())
	return nil
}

// AppendBatches writes batches another node wrote (a Raft follower
// copying its leader's log), keeping their offsets and epochs, and makes
// them durable. Each must decode, and the first must start at the log end.
func (l *Log) AppendBatches(p []byte) error {
	next := l.store.LogEndOffset()
	for pos := 0; pos < len(p); {
		n, err := logstore.ValidateBatch(p[pos:], 0, logstore.OriginReplication)
		if err != nil {
			return fmt.Errorf("metadata log: batch at byte %d: %w", pos, err)
		}
		b, err := DecodeBatch(p[pos : pos+int(n)])
		if err != nil {
			return fmt.Errorf("metadata log: batch at byte %d: %w", pos, err)
		}
		if b.BaseOffset != next {
			return fmt.Errorf("metadata log: batch at offset %d, the log ends at %d", b.BaseOffset, next)
		}
		next, pos = b.LastOffset()+1, pos+int(n)
		l.epoch = max(l.epoch, b.LeaderEpoch)
	}
	if len(p) == 0 {
		return nil
	}
	return l.append(p)
}

// TruncateTo removes every batch from offset on (a Raft follower whose log
// diverged from its leader's). Offsets below the newest snapshot's end
// cannot be removed.
func (l *Log) TruncateTo(offset int64) error {
	if offset < l.snapshot.EndOffset {
		return fmt.Errorf("metadata log: truncate to %d, below the snapshot's end %d", offset, l.snapshot.EndOffset)
	}
	if err := l.store.TruncateTo(offset); err != nil {
		return fmt.Errorf("metadata log: truncate to %d: %w", offset, err)
	}
	return nil
}

// ReadBatches calls fn with every batch from the one holding offset from to
// the log end, decoded. A batch that is whole and passes its CRC but does
// not decode is an error: it cannot be skipped.
func (l *Log) ReadBatches(from int64, fn func(Batch) error) error {
	return l.ReadRaw(from, func(p []byte) error {
		b, err := DecodeBatch(p)
		if err != nil {
			return fmt.Errorf("batch at offset %d: %w", logstore.Batch(p).BaseOffset(), err)
		}
		return fn(b)
	})
}

// Snapshot writes recs, the whole image after the last Append (as the
// image's Records give it), as the snapshot of the log end, then deletes
// older snapshots and the segments it covers: the log starts again at the
// snapshot's end. The snapshot is durable before anything is deleted.
func (l *Log) Snapshot(recs []Record) error {
	id := SnapshotID{EndOffset: l.store.LogEndOffset(), Epoch: l.epoch}
	if id == l.snapshot {
		return nil
	}
	if err := writeSnapshot(l.dir, id, EncodeSnapshot(id, l.lastTime, l.now(), recs)); err != nil {
		return fmt.Errorf("metadata snapshot: %w", err)
	}
	old := l.snapshot
	l.snapshot = id
	if old != (SnapshotID{}) {
		if err := os.Remove(filepath.Join(l.dir, old.FileName())); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.opts.Logger.Warn("metadata log: cannot delete an old snapshot", "file", old.FileName(), "err", err)
		}
	}
	if err := l.store.Roll(); err != nil {
		return fmt.Errorf("metadata log: roll: %w", err)
	}
	if _, err := l.store.DeleteRecords(id.EndOffset); err != nil {
		return fmt.Errorf("metadata log: delete segments below %d: %w", id.EndOffset, err)
	}
	return nil
}

// Size is the bytes of the log's segments: what a snapshot would free.
func (l *Log) Size() int64 { return l.store.Size() }

// EndOffset is the offset the next batch gets.
func (l *Log) EndOffset() int64 { return l.store.LogEndOffset() }

// StartOffset is the first offset the log holds.
func (l *Log) StartOffset() int64 { return l.store.LogStartOffset() }

// Epoch is the leader epoch this node appends in.
func (l *Log) Epoch() int32 { return l.epoch }

// LatestSnapshot is the newest snapshot's id; zero when there is none.
func (l *Log) LatestSnapshot() SnapshotID { return l.snapshot }

// Dir is the log's directory.
func (l *Log) Dir() string { return l.dir }

// Close closes the log's files.
func (l *Log) Close() error { return l.store.Close() }
