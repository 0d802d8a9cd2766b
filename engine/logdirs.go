package engine

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore"
)

// openLogStores opens a logstore.Dir on every log dir, in log.dirs order;
// each existing log opens with its topic's configuration in im (a log of
// no topic in im with the broker's topic defaults). Then the moves between
// log dirs that a stop interrupted are settled (logstore.FinishMoves).
func (b *Broker) openLogStores(im *metadata.Image) error {
	broker := b.brokerConfigOf(im)
	configs := b.topicConfigsOf(im, broker)
	defaults := b.topicConfigOf(broker, nil)
	configFor := func(tp logstore.TopicPartition) logstore.Config {
		if tc := configs[tp.Topic]; tc != nil {
			return tc.log
		}
		return defaults.log
	}
	for _, dir := range b.cfg.LogDirs {
		d, err := logstore.OpenDir(dir, b.logOptions(), configFor)
		if err != nil {
			return fmt.Errorf("open log dir %s: %w", dir, err)
		}
		b.logDirs = append(b.logDirs, d)
	}
	if err := logstore.FinishMoves(b.logDirs); err != nil {
		return fmt.Errorf("settle the log moves a stop interrupted: %w", err)
	}
	return nil
}

// findLog finds tp's open log in any log dir (even while a move between
// log dirs switches it: logstore.FindLog).
func (b *Broker) findLog(tp logstore.TopicPartition) (*logstore.Dir, *logstore.Log) {
	return logstore.FindLog(b.logDirs, tp)
}

// placeLog picks the log dir for a new partition: the one with the fewest
// partitions, the first of them on a tie (as Kafka's LogManager does).
func (b *Broker) placeLog() *logstore.Dir {
	best, n := b.logDirs[0], len(b.logDirs[0].Logs())
	for _, d := range b.logDirs[1:] {
		if m := len(d.Logs()); m < n {
			best, n = d, m
		}
	}
	return best
}

// newLog is a partition log a metadata change needs.
type newLog struct {
	tp  logstore.TopicPartition
	id  [16]byte
	cfg logstore.Config
}

// createLogsAtOnce bounds how many logs of one change are made at once:
// each waits on its own fsyncs, which the file system commits together.
const createLogsAtOnce = 32

// createLogs creates the logs of a change, spread over the log dirs as
// createLog would place them one by one, several at once. On an error the
// logs it made are deleted again and the first error is returned.
func (b *Broker) createLogs(logs []newLog) error {
	counts := make([]int, len(b.logDirs))
	for i, d := range b.logDirs {
		counts[i] = len(d.Logs())
	}
	dirs := make([]*logstore.Dir, len(logs))
	for i := range logs {
		if d := b.preferredLogDir(logs[i].tp); d != nil {
			dirs[i] = d
			continue
		}
		best := 0
		for j := range counts {
			if counts[j] < counts[best] {
				best = j
			}
		}
		dirs[i] = b.logDirs[best]
		counts[best]++
	}
	errs := make([]error, len(logs))
	sem := make(chan struct{}, createLogsAtOnce)
	var wg sync.WaitGroup
	for i, nl := range logs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, errs[i] = b.createLogIn(dirs[i], nl.tp, nl.id, nl.cfg)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			for _, nl := range logs {
				if err := b.deleteLog(nl.tp); err != nil {
					b.log.Warn("cannot delete the log of a partition that was not created", "partition", nl.tp.String(), "err", err)
				}
			}
			return fmt.Errorf("%s: %w", logs[i].tp, err)
		}
	}
	return nil
}

// createLog creates tp's log in the emptiest log dir and names its topic
// id in partition.metadata. A log already open under the name with
// another topic id is stale: it is deleted first, loudly (startup sets
// such logs aside as strays before anything is created).
func (b *Broker) createLog(tp logstore.TopicPartition, id [16]byte, cfg logstore.Config) (*logstore.Log, error) {
	return b.createLogIn(nil, tp, id, cfg)
}

// createLogIn is createLog in the log dir in (nil: the one an
// AlterReplicaLogDirs asked for, else the emptiest).
func (b *Broker) createLogIn(in *logstore.Dir, tp logstore.TopicPartition, id [16]byte, cfg logstore.Config) (*logstore.Log, error) {
	if d, l := b.findLog(tp); l != nil {
		old, ok := l.TopicID()
		if ok && old == id {
			return l, nil
		}
		b.log.Warn("deleting a stale log in the way of a new partition", "partition", tp.String(),
			"dir", d.Path(), "old_topic_id", UUID(old).String(), "topic_id", UUID(id).String())
		if err := d.DeleteLog(tp); err != nil {
			return nil, err
		}
	}
	if in == nil {
		in = b.preferredLogDir(tp)
	}
	if in == nil {
		in = b.placeLog()
	}
	l, err := in.CreateLog(tp, cfg)
	if err != nil {
		return nil, err
	}
	if err := l.SetTopicID(id); err != nil {
		return nil, err
	}
	return l, nil
}

// deleteLog closes and deletes tp's log, wherever it is, after cancelling
// its move between log dirs (the future log is deleted first); fetches
// holding its segments keep reading the unlinked files until they release
// them.
func (b *Broker) deleteLog(tp logstore.TopicPartition) error {
	b.cancelMove(tp)
	// A move that switched between findLog and DeleteLog took the log to
	// another dir: look again.
	for range len(b.logDirs) + 1 {
		d, _ := b.findLog(tp)
		if d == nil {
			return nil
		}
		if err := d.DeleteLog(tp); err != nil {
			return err
		}
	}
	return nil
}

// reconcileLogs makes the logs match im at startup. A log of a partition
// of im keeps its place (getting the topic id when it has none). Any other
// log is either of a delete that a crash interrupted (pendingDeletesFile
// names its topic): deleted; or stray (its topic id is not im's for the
// name, or the partition is not in im): renamed `-stray` and kept, as
// Kafka's LogManager does (KIP-858), since a lost metadata log looks the
// same. Then a partition of im without a log (the broker stopped between
// writing a topic's records and creating its logs) gets an empty one.
func (b *Broker) reconcileLogs(im *metadata.Image, configs map[string]*topicConfig) {
	pending := b.readPendingDeletes()
	finished := true
	for _, d := range b.logDirs {
		for _, l := range d.Logs() {
			tp := logstore.TopicPartition{Topic: l.Topic(), Partition: l.Partition()}
			t, ok := im.Topic(tp.Topic)
			id, hasID := l.TopicID()
			switch {
			case ok && int(tp.Partition) < len(t.Partitions) && (!hasID || id == t.ID):
				if !hasID {
					if err := l.SetTopicID(t.ID); err != nil {
						b.log.Error("cannot write partition.metadata", "partition", tp.String(), "err", err)
					}
				}
			case pending.covers(l):
				b.log.Info("finishing the delete of a partition log that a stop interrupted",
					"partition", tp.String(), "dir", d.Path(), "topic_id", UUID(id).String())
				if err := d.DeleteLogUnread(tp); err != nil {
					finished = false
					b.log.Error("cannot delete partition log", "partition", tp.String(), "err", err)
				}
			case l.LogEndOffset() == 0:
				// No record was ever written: a CreateTopics or
				// CreatePartitions that a stop interrupted between making
				// the log and committing it. Nothing to keep.
				b.log.Info("removing an empty partition log of no known topic (a create that a stop interrupted)",
					"partition", tp.String(), "dir", d.Path())
				if err := d.DeleteLogUnread(tp); err != nil {
					b.log.Error("cannot delete partition log", "partition", tp.String(), "err", err)
				}
			default:
				b.log.Warn("log dir holds a partition log of no known topic; renaming it stray and keeping it",
					"partition", tp.String(), "dir", d.Path(), "topic_id", UUID(id).String(), "has_topic_id", hasID)
				if err := d.StrayLog(tp); err != nil {
					b.log.Error("cannot set a stray partition log aside", "partition", tp.String(), "err", err)
				}
			}
		}
	}
	if finished {
		b.clearPendingDeletes()
	}
	for _, t := range im.Topics() {
		for i := range t.Partitions {
			tp := logstore.TopicPartition{Topic: t.Name, Partition: int32(i)}
			if _, l := b.findLog(tp); l != nil {
				continue
			}
			b.log.Warn("recreating a missing partition log, empty", "partition", tp.String())
			if _, err := b.createLog(tp, t.ID, configs[t.Name].log); err != nil {
				b.log.Error("cannot create partition log", "partition", tp.String(), "err", err)
			}
		}
	}
}

// startMaintenance runs each log dir's retention, flush.ms and checkpoint
// round every log.retention.check.interval.ms, and the log cleaner.
func (b *Broker) startMaintenance() {
	every := time.Duration(b.opts.Config.Long("log.retention.check.interval.ms")) * time.Millisecond
	for _, d := range b.logDirs {
		d.StartMaintenance(every)
	}
	b.startCleaner()
}

// startCleaner runs the log cleaner over the logs of every log dir, as
// Kafka's LogCleaner: log.cleaner.threads goroutines, each taking the
// dirtiest compacted log and sleeping log.cleaner.backoff.ms when none
// needs cleaning. With log.cleaner.enable=false nothing is compacted.
// The three keys are read at startup (Kafka can change the threads and
// backoff at runtime).
func (b *Broker) startCleaner() {
	c := b.opts.Config
	if !c.Bool("log.cleaner.enable") || b.cleaner != nil {
		return
	}
	b.cleaner = logstore.NewCleaner(logstore.CleanerConfig{
		Threads: int(c.Int("log.cleaner.threads")),
		Backoff: time.Duration(c.Long("log.cleaner.backoff.ms")) * time.Millisecond,
		Logger:  b.log,
	}, b.allLogs)
	b.cleaner.Start()
}

// allLogs are the open logs of every log dir.
func (b *Broker) allLogs() []*logstore.Log {
	var out []*logstore.Log
	for _, d := range b.logDirs {
		out = append(out, d.Logs()...)
	}
	return out
}

// closeLogStores closes every log dir: logs closed, checkpoints written,
// the clean-shutdown marker left for the next start. Closing twice is a
// no-op; the list stays (DescribeLogDirs may still read it).
func (b *Broker) closeLogStores() error {
	b.stopMoves() // their future logs deleted; the shard runtime still runs
	b.snapshotsOnce.Do(b.saveProducerSnapshots)
	if b.cleaner != nil {
		b.cleaner.Close() // a pass under way ends first
	}
	var errs []error
	for _, d := range b.logDirs {
		if err := d.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close log dir %s: %w", d.Path(), err))
		}
	}
	return errors.Join(errs...)
}
