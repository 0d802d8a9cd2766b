package logstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CleanShutdownFile marks a log dir whose logs were all closed: Kafka's name,
// so either broker knows the other stopped cleanly.
const CleanShutdownFile = ".kafka_cleanshutdown"

// MetadataTopic is the cluster metadata log's topic: its directory
// (`__cluster_metadata-0`) sits in a log dir but is not a partition log,
// and OpenDir skips it, as Kafka's LogManager does.
const MetadataTopic = "__cluster_metadata"

// Dir is one log dir (an entry of log.dirs): its partition logs, its
// checkpoint files and its clean-shutdown marker.
type Dir struct {
	path      string
	opts      Options
	configFor func(TopicPartition) Config

	mu       sync.Mutex
	logs     map[TopicPartition]*Log
	creating map[TopicPartition]bool // logs CreateLog is making, outside mu
	// futures are the future logs of moves into this log dir (move.go); a
	// nil one is being made.
	futures  map[TopicPartition]*Log
	closed   bool
	stop     chan struct{}
	done     sync.WaitGroup
	removals *remover // deletes `-delete` directories in the background
	// left is what OpenDir found of moves a stop interrupted, until
	// FinishMoves settles it.
	left *leftMoves

	ckMu sync.Mutex // one Checkpoint at a time: they share the .tmp files
}

// OpenDir opens every `<topic>-<partition>` log under path. Without the
// clean-shutdown marker (an unclean stop), each log rescans its segments from
// its checkpointed recovery point. The marker is removed once all are open,
// so a crash from here on is seen as one. Directories of deletes a stop
// interrupted (`-delete`) are removed in the background, at once (no reader
// can hold their files now); stray ones (`-stray`) are logged and kept;
// future logs of moves (`-future`) wait for FinishMoves.
func OpenDir(path string, opts Options, configFor func(TopicPartition) Config) (*Dir, error) {
	opts = opts.withDefaults()
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, err
	}
	d := &Dir{path: path, opts: opts, configFor: configFor, logs: map[TopicPartition]*Log{},
		futures: map[TopicPartition]*Log{}}
	marker := filepath.Join(path, CleanShutdownFile)
	_, err := os.Stat(marker)
	clean := err == nil
	rps, lss, hws := d.readCheckpoints()
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var tps []TopicPartition
	var gone, futures []string
	for _, e := range ents {
		switch name := e.Name(); {
		case !e.IsDir():
		case movedAside(name, deleteDirSuffix):
			gone = append(gone, filepath.Join(path, name))
		case movedAside(name, futureDirSuffix):
			futures = append(futures, name)
		case movedAside(name, strayDirSuffix):
			d.opts.Logger.Warn("logstore: a stray partition directory (of no topic the metadata "+
				"knows, moved aside at an earlier start), kept; remove it when its data is not needed",
				"dir", filepath.Join(path, name))
		case isLogDir(filepath.Join(path, name)):
			// Another node's log dir inside this one (`make cluster`'s
			// ./data/node-1 under `make run`'s ./data), not a partition.
			d.opts.Logger.Warn("logstore: a directory holding another log dir's meta.properties is not a "+
				"partition; left alone", "dir", filepath.Join(path, name))
		default:
			if tp, ok := ParsePartitionDir(name); ok && tp.Topic != MetadataTopic {
				tps = append(tps, tp)
			}
		}
	}
	// Logs open concurrently: a recovery rescans, a clean open waits on
	// reads and fsyncs, and thousands of partitions one by one took long.
	logs := make([]*Log, len(tps))
	errs := inParallel(len(tps), func(i int) error {
		tp := tps[i]
		st := OpenState{Clean: clean, RecoveryPoint: rps[tp], LogStartOffset: -1, HighWatermark: hws[tp]}
		if ls, ok := lss[tp]; ok {
			st.LogStartOffset = ls
		}
		var err error
		logs[i], err = Open(filepath.Join(path, tp.String()), tp.Topic, tp.Partition, configFor(tp), opts, st)
		return err
	})
	for i, l := range logs {
		if l != nil {
			d.logs[tps[i]] = l
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, d.closeAfter(err)
	}
	if clean {
		if err := os.Remove(marker); err != nil {
			return nil, d.closeAfter(err)
		}
		if err := syncPath(path); err != nil {
			return nil, d.closeAfter(err)
		}
	}
	if len(futures) > 0 {
		d.left = &leftMoves{futures: futures, rps: rps, lss: lss, hws: hws}
	}
	d.removals = startRemover(opts.Logger)
	for _, g := range gone {
		d.opts.Logger.Info("logstore: removing the directory of a deleted partition", "dir", g)
		d.removals.add(g, 0)
	}
	return d, nil
}

// closeAfter closes what OpenDir opened (without marking the dir clean).
func (d *Dir) closeAfter(err error) error {
	for _, l := range d.logs {
		l.Close()
	}
	return err
}

// readCheckpoints reads the three offset checkpoints; an unreadable one is
// logged and treated as missing (a full rescan is slow but safe).
func (d *Dir) readCheckpoints() (rps, lss, hws map[TopicPartition]int64) {
	read := func(name string) map[TopicPartition]int64 {
		m, err := ReadOffsetCheckpoint(filepath.Join(d.path, name))
		if err != nil {
			d.opts.Logger.Warn("logstore: ignoring a bad checkpoint", "file", name, "err", err)
			return map[TopicPartition]int64{}
		}
		if m == nil {
			m = map[TopicPartition]int64{}
		}
		return m
	}
	return read(RecoveryPointFile), read(LogStartOffsetFile), read(ReplicationOffsetFile)
}

// ParsePartitionDir splits `<topic>-<partition>` (topics may hold dashes).
func ParsePartitionDir(name string) (TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return TopicPartition{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 || strconv.FormatInt(p, 10) != name[i+1:] {
		return TopicPartition{}, false
	}
	return TopicPartition{name[:i], int32(p)}, true
}

// Path is the log dir.
func (d *Dir) Path() string { return d.path }

// Log is the open log of tp, or nil.
func (d *Dir) Log(tp TopicPartition) *Log {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logs[tp]
}

// Logs are the open logs, sorted by topic and partition.
func (d *Dir) Logs() []*Log {
	d.mu.Lock()
	defer d.mu.Unlock()
	return sortedLogs(d.logs)
}

// sortedLogs are the logs of m that are not nil, sorted by topic and
// partition.
func sortedLogs(m map[TopicPartition]*Log) []*Log {
	out := make([]*Log, 0, len(m))
	for _, l := range m {
		if l != nil {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b *Log) int {
		if c := strings.Compare(a.topic, b.topic); c != 0 {
			return c
		}
		return int(a.partition) - int(b.partition)
	})
	return out
}

// CreateLog opens tp's log, creating it when new. Logs of different partitions
// may be created concurrently.
func (d *Dir) CreateLog(tp TopicPartition, cfg Config) (*Log, error) {
	if strings.ContainsAny(tp.Topic, "/ \t\n") || tp.Topic == "" || tp.Topic == "." || tp.Topic == ".." || tp.Partition < 0 {
		return nil, fmt.Errorf("create log: bad partition %q %d", tp.Topic, tp.Partition)
	}
	d.mu.Lock()
	switch {
	case d.closed:
		d.mu.Unlock()
		return nil, ErrClosed
	case d.logs[tp] != nil:
		l := d.logs[tp]
		d.mu.Unlock()
		return l, nil
	case d.creating[tp]:
		d.mu.Unlock()
		return nil, fmt.Errorf("create log %s: already being created", tp)
	}
	if d.creating == nil {
		d.creating = map[TopicPartition]bool{}
	}
	d.creating[tp] = true
	d.mu.Unlock()
	// Not under mu: creating a log waits for its fsyncs, and the logs of a
	// change are made concurrently so that the file system commits those
	// together.
	path := filepath.Join(d.path, tp.String())
	_, statErr := os.Stat(path)
	l, err := Open(path, tp.Topic, tp.Partition, cfg, d.opts, OpenState{Clean: true, LogStartOffset: -1})
	if err == nil {
		if err = syncPath(d.path); err != nil {
			l.Close()
		}
	}
	if err != nil && os.IsNotExist(statErr) {
		os.RemoveAll(path) // what a failed creation made (a full disk): no orphan
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.creating, tp)
	switch {
	case err != nil:
		return nil, err
	case d.closed:
		l.Close()
		return nil, ErrClosed
	}
	d.logs[tp] = l
	return l, nil
}

// DeleteLog closes tp's log without syncing it and renames its directory
// to `<topic>-<partition>.<id>-delete`, the log dir synced: from its return
// the delete survives a crash (the next OpenDir finishes it). The directory
// is removed in the background once the log's file.delete.delay.ms has
// passed, as Kafka's LogManager does; fetches holding its segments keep
// reading the unlinked files until they release them.
func (d *Dir) DeleteLog(tp TopicPartition) error { return d.deleteLog(tp, true) }

// DeleteLogUnread is DeleteLog for a log no reader has had (one opened at
// this start): its directory is removed without waiting.
func (d *Dir) DeleteLogUnread(tp TopicPartition) error { return d.deleteLog(tp, false) }

func (d *Dir) deleteLog(tp TopicPartition, delayed bool) error {
	l := d.takeLog(tp)
	if l == nil {
		return nil
	}
	l.closeForDelete()
	l.abortMove() // its future log first: a future without its log is a finished move
	gone := filepath.Join(d.path, asideName(tp, deleteDirSuffix))
	if err := d.moveAside(l, gone); err != nil {
		return fmt.Errorf("delete log %s: %w", tp, err)
	}
	var delay time.Duration
	if delayed {
		delay = time.Duration(l.Config().FileDeleteDelayMs) * time.Millisecond
	}
	d.removals.add(gone, delay)
	return nil
}

// StrayLog closes tp's log and renames its directory to
// `<topic>-<partition>.<id>-stray`, the log dir synced: Kafka's name for a
// log the metadata does not know (KIP-858). It is kept for the operator and
// never opened again.
func (d *Dir) StrayLog(tp TopicPartition) error {
	l := d.takeLog(tp)
	if l == nil {
		return nil
	}
	if err := l.Close(); err != nil {
		return fmt.Errorf("set stray log %s aside: %w", tp, err)
	}
	l.abortMove()
	if err := d.moveAside(l, filepath.Join(d.path, asideName(tp, strayDirSuffix))); err != nil {
		return fmt.Errorf("set stray log %s aside: %w", tp, err)
	}
	return nil
}

// takeLog removes tp's log from the dir's logs and returns it (nil: none).
func (d *Dir) takeLog(tp TopicPartition) *Log {
	d.mu.Lock()
	defer d.mu.Unlock()
	l := d.logs[tp]
	delete(d.logs, tp)
	return l
}

// moveAside renames closed log l's directory to path, in this log dir, and
// syncs the log dir.
func (d *Dir) moveAside(l *Log, path string) error {
	if err := os.Rename(l.dir, path); err != nil {
		return err
	}
	return syncPath(d.path)
}

// Checkpoint writes the recovery points, log start offsets and high
// watermarks of every log to the three checkpoint files, and those of the
// future logs of moves into this log dir, as Kafka does (FinishMoves opens
// a finished move's log with them).
func (d *Dir) Checkpoint() error {
	d.ckMu.Lock()
	defer d.ckMu.Unlock()
	rps, lss, hws := map[TopicPartition]int64{}, map[TopicPartition]int64{}, map[TopicPartition]int64{}
	for _, l := range append(d.Logs(), d.Futures()...) {
		tp := TopicPartition{l.topic, l.partition}
		rps[tp], lss[tp], hws[tp] = l.RecoveryPoint(), l.LogStartOffset(), l.HighWatermark()
	}
	return errors.Join(
		WriteOffsetCheckpoint(filepath.Join(d.path, RecoveryPointFile), rps),
		WriteOffsetCheckpoint(filepath.Join(d.path, LogStartOffsetFile), lss),
		WriteOffsetCheckpoint(filepath.Join(d.path, ReplicationOffsetFile), hws),
	)
}

// StartMaintenance runs, every interval until Close, each log's Maintain
// (flush.ms, retention) and then Checkpoint: the background task of the log
// dir. Maintain takes each log's mutex, so it is safe beside the owners'
// appends; with a Syncer that must be driven from the owning shard, have the
// shards call Maintain instead.
func (d *Dir) StartMaintenance(interval time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stop != nil || d.closed {
		return
	}
	d.stop = make(chan struct{})
	d.done.Add(1)
	go func() {
		defer d.done.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-d.stop:
				return
			case <-t.C:
				d.MaintainOnce()
			}
		}
	}()
}

// MaintainOnce is one round of StartMaintenance's work.
func (d *Dir) MaintainOnce() {
	now := d.opts.Now()
	for _, l := range d.Logs() {
		if _, err := l.Maintain(now); err != nil && !errors.Is(err, ErrClosed) {
			d.opts.Logger.Warn("logstore: maintenance", "log", l.Dir(), "err", err)
		}
	}
	if err := d.Checkpoint(); err != nil {
		d.opts.Logger.Warn("logstore: checkpoint", "dir", d.path, "err", err)
	}
}

// Close stops maintenance, closes every log, writes the checkpoints and then
// the clean-shutdown marker, so the next open rescans nothing. If a log fails
// to close, the marker is not written.
func (d *Dir) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	stop := d.stop
	d.mu.Unlock()
	if stop != nil {
		close(stop)
		d.done.Wait()
	}
	d.removals.close() // what it has not removed, the next open finds
	for _, f := range d.Futures() {
		f.closeForDelete() // the next open deletes it (move.go)
	}
	logs := d.Logs()
	errs := inParallel(len(logs), func(i int) error { return logs[i].Close() })
	if err := d.Checkpoint(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		if err := WriteFileAtomic(filepath.Join(d.path, CleanShutdownFile), nil); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// atOnce bounds the logs a Dir opens or closes at once: the work waits on
// the disk more than it computes, and fsyncs issued together are committed
// together by the file system.
const atOnce = 32

// inParallel runs fn for 0..n-1, atOnce at a time, and returns the errors
// that are not nil.
func inParallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	sem := make(chan struct{}, atOnce)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

func syncPath(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return syncDir(f)
}

// isLogDir says whether dir is a broker's log dir (it holds
// meta.properties), which no partition directory does.
func isLogDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "meta.properties"))
	return err == nil
}
