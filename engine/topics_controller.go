package engine

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/logstore/metalog"
)

// controller serializes metadata changes on this node, standing in for the
// Raft quorum's active controller: a change validates against the current
// image, writes its records to the local metadata log (fsynced), applies
// them, does the local work (logs created or deleted) and publishes the
// new image and partition table. Handlers read the published state
// without taking mu.
type controller struct {
	mu     sync.Mutex
	log    *metalog.Log // nil once closed
	closed bool
}

// snapshotBytes is the metadata log size past which the controller writes
// a snapshot of the image, which deletes the log's older segments (a
// variable for tests).
var snapshotBytes int64 = 4 << 20

// errControllerClosed answers changes that arrive while the broker closes.
var errControllerClosed = errors.New("the broker is shutting down")

// openMetadata replays the metadata log of the first log dir into the
// first image, opens the log dirs, makes their logs match the image and
// publishes it all.
func (b *Broker) openMetadata() error {
	dir := filepath.Join(b.cfg.LogDirs[0], metalog.DirName)
	l, recs, err := metalog.Open(dir, metalog.Options{NodeID: b.nodeID, Logger: b.log})
	if err != nil {
		return err
	}
	b.ctl.log = l
	base := metadata.New(b.clusterID, b.nodeID, b.nodeID, []metadata.Broker{b.self(nil)}, nil)
	im, err := base.Apply(recs...)
	if err != nil {
		return fmt.Errorf("replay metadata log %s: %w", dir, err)
	}
	if err := b.openLogStores(im); err != nil {
		return err
	}
	b.reconcileLogs(im, b.topicConfigsOf(im, b.brokerConfigOf(im)))
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	b.publishLocked(im)
	if n := len(im.Topics()); n > 0 {
		b.log.Info("loaded metadata", "topics", n, "dir", dir)
	}
	return nil
}

// commitLocked writes recs to the metadata log and returns the image with
// them applied, not yet published. b.ctl.mu must be held. A record that
// does not apply is the controller's bug: it panics with the values.
func (b *Broker) commitLocked(recs []metadata.Record) (*metadata.Image, error) {
	if b.ctl.closed {
		return nil, errControllerClosed
	}
	im, err := b.image.Load().Apply(recs...)
	if err != nil {
		panic(fmt.Sprintf("engine: controller built records that do not apply: %v: %+v", err, recs))
	}
	if _, err := b.ctl.log.Append(recs); err != nil {
		return nil, err
	}
	if b.ctl.log.Size() > snapshotBytes {
		if err := b.ctl.log.Snapshot(im.Records()); err != nil {
			b.log.Warn("metadata snapshot failed; the log keeps growing", "err", err)
		}
	}
	return im, nil
}

// publishLocked swaps in im with its effective configs and the partition
// table built from it, and applies changed log configurations to the live
// logs. b.ctl.mu must be held. The table goes first, so a handler that
// sees a topic in the image finds its partitions.
func (b *Broker) publishLocked(im *metadata.Image) {
	broker := b.brokerConfigOf(im)
	configs := b.topicConfigsOf(im, broker)
	lagTimeMax := time.Duration(broker.Long("replica.lag.time.max.ms")) * time.Millisecond
	old := b.parts.Load()
	tab := newPartitionTable()
	for _, t := range im.Topics() {
		tc := configs[t.Name]
		for i := range t.Partitions {
			idx := int32(i)
			_, l := b.findLog(logstore.TopicPartition{Topic: t.Name, Partition: idx})
			if l == nil {
				continue // its log could not be created: Metadata says LEADER_NOT_AVAILABLE
			}
			if l.Config() != tc.log {
				if err := l.SetConfig(tc.log); err != nil {
					b.log.Warn("cannot apply a topic config to a log", "topic", t.Name, "partition", idx, "err", err)
				}
			}
			p := old.byName[partitionKey{t.Name, idx}]
			if p == nil || p.log != l || p.topicID != t.ID {
				var err error
				if p, err = b.newPartition(t.Name, t.ID, idx, l, t.Partitions[i], lagTimeMax); err != nil {
					b.log.Error("cannot host partition", "topic", t.Name, "partition", idx, "err", err)
					continue
				}
			}
			tab.byName[partitionKey{t.Name, idx}] = p
		}
		tab.byID[t.ID] = t.Name
	}
	b.effective.Store(broker)
	b.topicConfigs.Store(&configs)
	b.parts.Store(tab)
	b.image.Store(im)
}

// closeMetadata waits for a change in progress, then closes the metadata
// log; later changes fail with errControllerClosed.
func (b *Broker) closeMetadata() error {
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	b.ctl.closed = true
	if b.ctl.log == nil {
		return nil
	}
	err := b.ctl.log.Close()
	b.ctl.log = nil
	return err
}
