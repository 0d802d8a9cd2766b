package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/engine/quorum"
	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/logstore/metalog"
)

// A broker that is not a voter (process.roles=broker) follows the
// metadata log as Kafka's brokers do, as an observer of the quorum: it
// fetches the committed batches of `__cluster_metadata-0` from the active
// controller with Fetch (API 1, KIP-595: the topic's id, the next offset
// it needs, its broker id as the replica) over the controller listener,
// long-polling; the controller answers committed batches only (up to its
// high watermark), or, when the offset is below its log, a SnapshotId, and
// the observer fetches that snapshot with FetchSnapshot (API 59, KIP-630)
// and starts from it. The observer keeps the image in memory (Kafka's
// brokers also keep a copy of the log on disk; a Weir broker that restarts
// fetches the image again before it is unfenced). A controller that is no
// longer the leader answers NOT_LEADER_OR_FOLLOWER with the leader it
// knows; the observer then asks that one, or the next voter.

// observer is a broker's Proposer when it is not a voter: the image it
// fetched; changes go to the active controller (forwarded requests), so
// Propose always answers NotControllerError.
type observer struct {
	b      *Broker
	voters []voterAddr
	client *peerClient
	logger *slog.Logger
	onNew  func()

	leader atomic.Int32

	mu      sync.Mutex
	im      *metadata.Image
	applied int64 // the offset of the last record applied; -1: none
	epoch   int32
	hw      int64
	closed  bool

	stop chan struct{}
	done chan struct{}
}

// voterAddr is a voter's id and controller listener address.
type voterAddr struct {
	id   int32
	addr string
}

// observerFetchWait is how long the controller holds a fetch with nothing
// new (MaxWaitMillis).
const observerFetchWait = 500 * time.Millisecond

func newObserver(b *Broker, base *metadata.Image, onNew func()) *observer {
	o := &observer{b: b, logger: b.log, onNew: onNew, im: base, applied: -1, hw: -1,
		client: newPeerClient(fmt.Sprintf("weir-observer-%d", b.nodeID), observerFetchWait+b.peerTimeout()),
		stop:   make(chan struct{}), done: make(chan struct{})}
	for _, v := range b.cfg.Voters {
		o.voters = append(o.voters, voterAddr{v.ID, v.Addr()})
	}
	o.leader.Store(-1)
	go o.run()
	return o
}

// run fetches until closed.
func (o *observer) run() {
	defer close(o.done)
	next, try := int64(0), 0
	for {
		select {
		case <-o.stop:
			return
		default:
		}
		target := o.leader.Load()
		addr := ""
		for _, v := range o.voters {
			if v.id == target {
				addr = v.addr
			}
		}
		if addr == "" {
			v := o.voters[try%len(o.voters)]
			try++
			target, addr = v.id, v.addr
		}
		n, err := o.fetchOnce(target, addr, next)
		if err != nil {
			o.logger.Debug("metadata fetch failed", "controller", target, "err", err)
			o.leader.Store(-1)
			o.sleep(100 * time.Millisecond)
			continue
		}
		next = n
	}
}

func (o *observer) sleep(d time.Duration) {
	select {
	case <-o.stop:
	case <-time.After(d):
	}
}

// fetchOnce asks controller target for the committed metadata from next
// on, applies what comes, and returns the next offset to ask for.
func (o *observer) fetchOnce(target int32, addr string, next int64) (int64, error) {
	req := kmsg.NewPtrFetchRequest()
	req.Version = 17
	req.ReplicaState.ID, req.ReplicaState.Epoch = o.b.nodeID, -1
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = int32(observerFetchWait.Milliseconds()), 1, 8<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.TopicID = metalog.TopicID
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = 0, next, 8<<20
	rp.CurrentLeaderEpoch, rp.LastFetchedEpoch, rp.LogStartOffset = -1, -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := o.client.do(addr, req)
	if err != nil {
		return next, err
	}
	fr := resp.(*kmsg.FetchResponse)
	if fr.ErrorCode != 0 || len(fr.Topics) != 1 || len(fr.Topics[0].Partitions) != 1 {
		return next, fmt.Errorf("metadata fetch answered %v", kerr.ErrorForCode(fr.ErrorCode))
	}
	p := fr.Topics[0].Partitions[0]
	switch p.ErrorCode {
	case 0:
	case kerr.NotLeaderForPartition.Code, kerr.FencedLeaderEpoch.Code:
		o.leader.Store(p.CurrentLeader.LeaderID)
		if p.CurrentLeader.LeaderID < 0 {
			o.sleep(50 * time.Millisecond)
		}
		return next, nil
	default:
		return next, fmt.Errorf("metadata fetch: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	o.leader.Store(target)
	if p.SnapshotID.EndOffset >= 0 {
		return o.loadSnapshot(addr, metalog.SnapshotID{EndOffset: p.SnapshotID.EndOffset, Epoch: p.SnapshotID.Epoch})
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.hw, o.epoch = p.HighWatermark, p.CurrentLeader.LeaderEpoch
	im, changed := o.im, false
	buf := p.RecordBatches
	for len(buf) >= logstore.BatchHeaderSize {
		size := logstore.Batch(buf).Size()
		if size > int64(len(buf)) || size < logstore.BatchHeaderSize {
			break // a partial batch at the end of a bounded answer
		}
		batch, err := metalog.DecodeBatch(buf[:size])
		buf = buf[size:]
		if err != nil {
			return next, fmt.Errorf("metadata batch at offset %d: %w", next, err)
		}
		if batch.BaseOffset != next {
			return next, fmt.Errorf("metadata batch at offset %d, expected %d", batch.BaseOffset, next)
		}
		if len(batch.Records) > 0 {
			if nim, err := im.Apply(batch.Records...); err != nil {
				// As every voter does: a committed change that does not
				// apply is skipped (controller.Raft.onApply).
				o.logger.Error("a committed metadata change does not apply to the image; skipped",
					"offset", batch.BaseOffset, "err", err)
			} else {
				im, changed = nim, true
			}
		}
		next = batch.LastOffset() + 1
		o.applied = next - 1
	}
	o.im = im
	if changed {
		o.onNew()
	}
	return next, nil
}

// loadSnapshot fetches snapshot id from the controller at addr with
// FetchSnapshot and replaces the image with it.
func (o *observer) loadSnapshot(addr string, id metalog.SnapshotID) (int64, error) {
	var data []byte
	for {
		req := kmsg.NewPtrFetchSnapshotRequest()
		req.Version = 0
		req.MaxBytes = 8 << 20
		rt := kmsg.NewFetchSnapshotRequestTopic()
		rt.Topic = controller.ClusterMetadataTopic
		rp := kmsg.NewFetchSnapshotRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.Position = 0, -1, int64(len(data))
		rp.SnapshotID.EndOffset, rp.SnapshotID.Epoch = id.EndOffset, id.Epoch
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := o.client.do(addr, req)
		if err != nil {
			return 0, err
		}
		fr := resp.(*kmsg.FetchSnapshotResponse)
		if fr.ErrorCode != 0 || len(fr.Topics) != 1 || len(fr.Topics[0].Partitions) != 1 {
			return 0, fmt.Errorf("snapshot fetch answered %v", kerr.ErrorForCode(fr.ErrorCode))
		}
		p := fr.Topics[0].Partitions[0]
		if p.ErrorCode != 0 {
			return 0, fmt.Errorf("snapshot %v: %v", id, kerr.ErrorForCode(p.ErrorCode))
		}
		if p.Position != int64(len(data)) {
			return 0, fmt.Errorf("snapshot %v: bytes at %d, asked %d", id, p.Position, len(data))
		}
		data = append(data, p.Bytes...)
		if int64(len(data)) >= p.Size || len(p.Bytes) == 0 {
			break
		}
	}
	recs, _, err := metalog.DecodeSnapshot(data)
	if err != nil {
		return 0, fmt.Errorf("snapshot %v: %w", id, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	im, err := o.b.baseImage().Apply(recs...)
	if err != nil {
		return 0, fmt.Errorf("snapshot %v does not apply: %w", id, err)
	}
	o.im, o.applied = im, id.EndOffset-1
	o.logger.Info("loaded the metadata snapshot", "end_offset", id.EndOffset, "epoch", id.Epoch)
	o.onNew()
	return id.EndOffset, nil
}

// Image implements controller.Proposer.
func (o *observer) Image() *metadata.Image {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.im
}

// Propose implements controller.Proposer: a broker that is not a voter
// never commits; its handlers forward to the active controller.
func (o *observer) Propose([]metadata.Record) (*metadata.Image, error) {
	if o.isClosed() {
		return nil, controller.ErrClosed
	}
	return nil, &controller.NotControllerError{Leader: o.leader.Load()}
}

// NextOffset implements controller.Proposer: after the last applied.
func (o *observer) NextOffset() int64 {
	if o.isClosed() {
		return -1
	}
	return o.AppliedOffset() + 1
}

// AppliedOffset is the offset of the last record in Image.
func (o *observer) AppliedOffset() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.applied
}

// Leader is the active controller as last seen; -1 when none is known.
func (o *observer) Leader() int32 { return o.leader.Load() }

// Quorum implements controller.Proposer: what an observer knows.
func (o *observer) Quorum() controller.Quorum {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := controller.Quorum{LeaderID: o.leader.Load(), LeaderEpoch: o.epoch, HighWatermark: o.hw}
	for _, v := range o.voters {
		q.Voters = append(q.Voters, controller.Replica{ID: v.id, LogEndOffset: -1, LastFetchMs: -1, LastCaughtUpMs: -1})
	}
	q.Observers = append(q.Observers, controller.Replica{ID: o.b.nodeID, LogEndOffset: o.applied + 1,
		LastFetchMs: -1, LastCaughtUpMs: -1})
	return q
}

func (o *observer) isClosed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closed
}

// Close implements controller.Proposer.
func (o *observer) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	o.mu.Unlock()
	close(o.stop)
	o.client.close()
	<-o.done
	return nil
}

var _ controller.Proposer = (*observer)(nil)

// serveMetadataFetch answers an observer's Fetch of the metadata log on
// the active controller: committed batches from its offset (waiting up to
// MaxWaitMillis for new ones), or the snapshot to start from.
func (b *Broker) serveMetadataFetch(r *request, req *kmsg.FetchRequest) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	rt := kmsg.NewFetchResponseTopic()
	rt.Topic, rt.TopicID = req.Topics[0].Topic, req.Topics[0].TopicID
	rp := kmsg.NewFetchResponseTopicPartition()
	rq := req.Topics[0].Partitions[0]
	rp.Partition = rq.Partition
	defer func() {
		rt.Partitions = append(rt.Partitions, rp)
		resp.Topics = append(resp.Topics, rt)
		r.respond(resp)
	}()
	cl := b.cluster
	if cl == nil || cl.raft == nil {
		rp.ErrorCode = kerr.NotLeaderForPartition.Code
		return
	}
	cl.noteObserver(req.ReplicaState.ID, rq.FetchOffset)
	node := cl.raft.Node()
	deadline := time.Now().Add(time.Duration(max(req.MaxWaitMillis, 0)) * time.Millisecond)
	for {
		changed := cl.changes()
		c, err := node.ReadCommitted(rq.FetchOffset, int(max(rq.PartitionMaxBytes, 1)))
		var nl *quorum.NotLeaderError
		switch {
		case errors.As(err, &nl):
			rp.ErrorCode = kerr.NotLeaderForPartition.Code
			rp.CurrentLeader.LeaderID = nl.Leader
			return
		case err != nil:
			rp.ErrorCode = kerr.UnknownServerError.Code
			return
		}
		rp.HighWatermark, rp.LogStartOffset = c.HighWatermark, -1
		rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch = b.nodeID, c.Epoch
		if c.Snapshot.EndOffset >= 0 {
			rp.SnapshotID.EndOffset, rp.SnapshotID.Epoch = c.Snapshot.EndOffset, c.Snapshot.Epoch
			return
		}
		if len(c.Batches) > 0 || !time.Now().Before(deadline) {
			rp.RecordBatches = c.Batches
			return
		}
		select {
		case <-changed:
		case <-time.After(time.Until(deadline)):
		case <-cl.stop:
		}
	}
}

// isMetadataFetch says whether req fetches the metadata log (by its topic
// id, or by name before topic ids).
func isMetadataFetch(req *kmsg.FetchRequest) bool {
	if len(req.Topics) != 1 || len(req.Topics[0].Partitions) != 1 {
		return false
	}
	t := req.Topics[0]
	return t.TopicID == metalog.TopicID || t.Topic == controller.ClusterMetadataTopic
}

// observerSeen is what the leader knows of an observer: its log end (the
// offset it fetched from) and when it fetched.
type observerSeen struct {
	logEnd    int64
	lastFetch time.Time
	caughtUp  time.Time
}

// noteObserver records an observer's fetch from offset from, for
// DescribeQuorum's observers.
func (cl *cluster) noteObserver(id int32, from int64) {
	if id < 0 {
		return
	}
	now := time.Now()
	cl.observersMu.Lock()
	defer cl.observersMu.Unlock()
	if cl.observers == nil {
		cl.observers = map[int32]observerSeen{}
	}
	o := cl.observers[id]
	o.logEnd, o.lastFetch = from, now
	if st := cl.raft.Quorum(); from >= st.HighWatermark {
		o.caughtUp = now
	}
	cl.observers[id] = o
}

// observerStates lists the observers that fetched within the last minute.
func (cl *cluster) observerStates() []controller.Replica {
	cl.observersMu.Lock()
	defer cl.observersMu.Unlock()
	var out []controller.Replica
	for id, o := range cl.observers {
		if time.Since(o.lastFetch) > time.Minute {
			continue
		}
		r := controller.Replica{ID: id, LogEndOffset: o.logEnd, LastFetchMs: o.lastFetch.UnixMilli(), LastCaughtUpMs: -1}
		if !o.caughtUp.IsZero() {
			r.LastCaughtUpMs = o.caughtUp.UnixMilli()
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b controller.Replica) int { return int(a.ID - b.ID) })
	return out
}
