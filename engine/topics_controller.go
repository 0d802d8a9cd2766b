package engine

import (
	"errors"
	"path/filepath"
	"sync"
	"time"

	"github.com/weirmq/weir/engine/controller"
	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/logstore/metalog"
)

// controlPlane serializes metadata changes on this node: a change plans
// against the current image (package controller's pure functions), does
// the broker's work that must precede it (partition logs created),
// proposes its records, then publishes the committed image and partition
// table. Handlers read the published state without taking mu. The
// proposer is the local metadata log today (controller.Local), the Raft
// quorum in a cluster.
type controlPlane struct {
	mu       sync.Mutex
	proposer controller.Proposer // nil until openMetadata
	// sessions are the brokers' heartbeat sessions, kept by this node's
	// controller (brokers.go); used under mu.
	sessions *controller.Sessions
}

// openMetadata replays the metadata log of the first log dir into the
// first image, opens the log dirs, makes their logs match the image,
// publishes it all, and registers this broker (brokers.go). The metadata
// log is snapshotted past metadata.log.max.record.bytes.between.snapshots
// of log, or metadata.log.max.snapshot.interval.ms after the last
// snapshot, whichever comes first.
func (b *Broker) openMetadata() error {
	if clustered(b.cfg) {
		return b.openClusterMetadata()
	}
	dir := filepath.Join(b.cfg.LogDirs[0], metalog.DirName)
	c := b.opts.Config
	base := metadata.New(b.clusterID, b.nodeID, b.nodeID, nil, nil)
	p, err := controller.OpenLocal(dir, base, controller.LocalOptions{NodeID: b.nodeID, Logger: b.log,
		SnapshotBytes:    c.Long("metadata.log.max.record.bytes.between.snapshots"),
		SnapshotInterval: time.Duration(c.Long("metadata.log.max.snapshot.interval.ms")) * time.Millisecond})
	if err != nil {
		return err
	}
	b.ctl.proposer = p
	im := p.Image()
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
	b.ctl.sessions = controller.NewSessions(time.Duration(c.Int("broker.session.timeout.ms")) * time.Millisecond)
	b.ctl.sessions.Load(im, time.Now())
	b.ctl.sessions.Remove(b.nodeID) // its previous incarnation: this process holds its log dirs
	return b.registerSelfLocked(*b.endpoints.Load())
}

// commitLocked proposes recs as one change and returns the committed image
// with them applied, not yet published. b.ctl.mu must be held.
func (b *Broker) commitLocked(recs []metadata.Record) (*metadata.Image, error) {
	if b.ctl.proposer == nil {
		return nil, controller.ErrClosed
	}
	return b.ctl.proposer.Propose(recs)
}

// publishLocked swaps in im with its effective configs and the partition
// table built from it, and applies changed log configurations to the live
// logs. b.ctl.mu must be held. The table goes first, so a handler that
// sees a topic in the image finds its partitions.
//
// On a cluster's node im is ignored: the newest applied image is
// published (clusterImage), after this node's logs were made to follow
// it (hostLocked); only the partitions whose replicas name this node are
// hosted. On either, a hosted partition whose assignment changed becomes
// leader or follower again on its owner shard, with its new leader epoch.
func (b *Broker) publishLocked(im *metadata.Image) {
	if b.cluster != nil {
		im = b.clusterImage()
		b.hostLocked(im)
	}
	broker := b.brokerConfigOf(im)
	configs := b.topicConfigsOf(im, broker)
	lagTimeMax := time.Duration(broker.Long("replica.lag.time.max.ms")) * time.Millisecond
	old := b.parts.Load()
	tab := newPartitionTable()
	for _, t := range im.Topics() {
		tc := configs[t.Name]
		for i := range t.Partitions {
			idx := int32(i)
			if !b.hosts(&t.Partitions[i]) {
				continue
			}
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
			} else if !sameAssignment(p.assigned, t.Partitions[i]) {
				b.reassign(p, t.Partitions[i])
			}
			p.minInsync.Store(int32(tc.values.Int("min.insync.replicas")))
			tab.byName[partitionKey{t.Name, idx}] = p
		}
		tab.byID[t.ID] = t.Name
	}
	b.effective.Store(broker)
	b.topicConfigs.Store(&configs)
	b.parts.Store(tab)
	b.image.Store(im)
	b.syncFetchers(im, tab)
	b.followCoordinatorLeadership(im)
}

// closeMetadata waits for a change in progress, then closes the
// proposer; later changes fail with controller.ErrClosed.
func (b *Broker) closeMetadata() error {
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	if b.ctl.proposer == nil {
		return nil
	}
	err := b.ctl.proposer.Close()
	if b.cluster != nil && b.cluster.transport != nil {
		err = errors.Join(err, b.cluster.transport.Close())
	}
	return err
}
