package engine

import (
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore"
)

// Replication, the follower's side. For each (leader, shard) pair — the
// broker that leads partitions this node follows, and the shard that owns
// them here — one fetcher (a goroutine with one connection to the leader's
// inter-broker listener) fetches them all in one long-polling Fetch that
// names this node as the replica, over a fetch session (KIP-227): after
// the first full fetch, a request names only the partitions whose
// position moved, and the leader answers only those with something new,
// so idle partitions cost nothing. The batches that come back are
// appended byte for byte by the fetcher itself (partition.appendFollowed:
// the write never stalls the shard loop), then the owner shard takes the
// producer state and the leader's high watermark for all of one response
// in one turn of its loop.
//
// Each partition's fetch names the epoch of its last batch
// (LastFetchedEpoch); a leader whose log ends that epoch earlier answers
// DivergingEpoch and the follower truncates by it (KIP-595, as Kafka's
// followers do since 2.7 instead of asking OffsetForLeaderEpoch first):
// an old leader's uncommitted tail goes, never truncated to the high
// watermark alone. The set of partitions follows each published image
// (syncFetchers).

// fetchers are this node's fetchers.
type fetchers struct {
	mu    sync.Mutex
	byKey map[fetcherKey]*fetcher
}

// fetcherKey names a fetcher: the leader it fetches from and the local
// shard that owns its partitions.
type fetcherKey struct {
	leader int32
	shard  int
}

// fetcher fetches the partitions one shard of this node follows from one
// leader.
type fetcher struct {
	b      *Broker
	key    fetcherKey
	client *peerClient

	mu    sync.Mutex
	parts map[*partition]int32 // followed partitions: the leader epoch each follows in
	addr  string               // the leader's inter-broker endpoint
	wake  chan struct{}

	stop chan struct{}
	done chan struct{}

	session replicaSession // the run goroutine's
}

// replicaSession is a fetcher's side of its fetch session: the session id
// and the next epoch (0: the next fetch is full and opens a session), and
// what the leader's session holds for each partition.
type replicaSession struct {
	id, epoch int32
	sent      map[*partition]fetchPosition
}

// fetchPosition is what a follower's fetch tells the leader about one
// partition; an incremental fetch names a partition only when it changed.
type fetchPosition struct {
	offset, logStart   int64
	epoch, lastFetched int32
}

const (
	replicaFetchWait     = 500 * time.Millisecond
	replicaFetchMaxBytes = 1 << 20 // per partition, as Kafka's replica.fetch.max.bytes
)

// interBrokerListener is the listener followers fetch from:
// inter.broker.listener.name, else this node's first broker listener (the
// nodes of a cluster are configured alike).
func (b *Broker) interBrokerListener() string {
	if b.cfg.InterBrokerListener != "" {
		return b.cfg.InterBrokerListener
	}
	for _, a := range b.cfg.Advertised {
		if !slices.Contains(b.cfg.ControllerListeners, a.Name) {
			return a.Name
		}
	}
	return ""
}

// syncFetchers gives each fetcher the partitions this node follows in im
// (hosted, in its replicas, led by another broker), starting and stopping
// fetchers as leaders come and go. b.ctl.mu must be held.
func (b *Broker) syncFetchers(im *metadata.Image, tab *partitionTable) {
	if b.cluster == nil || !b.cluster.broker {
		return
	}
	want := map[fetcherKey]map[*partition]int32{}
	for _, p := range tab.byName {
		reg := p.assigned
		if reg.Leader < 0 || reg.Leader == b.nodeID || !slices.Contains(reg.Replicas, b.nodeID) {
			continue
		}
		k := fetcherKey{reg.Leader, b.owner(p)}
		if want[k] == nil {
			want[k] = map[*partition]int32{}
		}
		want[k][p] = reg.LeaderEpoch
	}
	fs := &b.fetchers
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.byKey == nil {
		fs.byKey = map[fetcherKey]*fetcher{}
	}
	for k, f := range fs.byKey {
		if want[k] == nil {
			delete(fs.byKey, k)
			go f.close()
		}
	}
	listener := b.interBrokerListener()
	for k, parts := range want {
		addr := ""
		if br, ok := im.Broker(k.leader); ok {
			if e, ok := br.Endpoints[listener]; ok {
				addr = net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port)))
			}
		}
		f := fs.byKey[k]
		if f == nil {
			client := newPeerClient(fmt.Sprintf("weir-replica-%d", b.nodeID), replicaFetchWait+b.peerTimeout())
			client.reuseBody = true // each response is appended before the next fetch
			f = &fetcher{b: b, key: k, client: client, wake: make(chan struct{}, 1),
				stop: make(chan struct{}), done: make(chan struct{})}
			fs.byKey[k] = f
			go f.run()
		}
		f.set(addr, parts)
	}
}

// stopFetchers stops every fetcher and waits.
func (b *Broker) stopFetchers() {
	fs := &b.fetchers
	fs.mu.Lock()
	all := fs.byKey
	fs.byKey = nil
	fs.mu.Unlock()
	for _, f := range all {
		f.close()
	}
}

// set replaces the fetcher's partitions and the leader's address.
func (f *fetcher) set(addr string, parts map[*partition]int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addr, f.parts = addr, parts
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fetcher) close() {
	close(f.stop)
	f.client.close()
	<-f.done
}

// current is the fetcher's address and partitions now (the map is never
// changed once set, only replaced).
func (f *fetcher) current() (string, map[*partition]int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addr, f.parts
}

func (f *fetcher) sleep(d time.Duration) bool {
	select {
	case <-f.stop:
		return false
	case <-time.After(d):
		return true
	}
}

func (f *fetcher) run() {
	defer close(f.done)
	for {
		select {
		case <-f.stop:
			return
		default:
		}
		addr, parts := f.current()
		if len(parts) == 0 || addr == "" {
			select {
			case <-f.stop:
				return
			case <-f.wake:
			case <-time.After(time.Second):
			}
			continue
		}
		if err := f.fetchOnce(addr, parts); err != nil {
			f.b.log.Debug("replica fetch failed", "leader", f.key.leader, "err", err)
			if !f.sleep(100 * time.Millisecond) {
				return
			}
		}
	}
}

// position is what this node's fetch says about p now.
func position(p *partition, epoch int32) fetchPosition {
	return fetchPosition{offset: p.log.LogEndOffset(), logStart: p.log.LogStartOffset(), epoch: epoch,
		lastFetched: p.log.LatestEpoch()}
}

// request builds the next Fetch: every partition when the session is
// new, else those whose position changed, and the ones no longer followed
// as forgotten. next is what the leader's session will hold once it
// answers.
func (s *replicaSession) request(self int32, parts map[*partition]int32) (
	req *kmsg.FetchRequest, next map[*partition]fetchPosition, byName map[partitionKey]*partition) {
	req = kmsg.NewPtrFetchRequest()
	req.Version = 12
	req.ReplicaID = self
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = int32(replicaFetchWait.Milliseconds()), 1, 16<<20
	req.SessionID, req.SessionEpoch = s.id, s.epoch
	full := s.epoch == 0
	next = make(map[*partition]fetchPosition, len(parts))
	byName = make(map[partitionKey]*partition, len(parts))
	topics := map[string]int{}
	for p, epoch := range parts {
		pos := position(p, epoch)
		next[p] = pos
		byName[partitionKey{p.topic, p.index}] = p
		if sent, ok := s.sent[p]; ok && !full && sent == pos {
			continue
		}
		i := topicSlot(topics, &req.Topics, p.topic, func() kmsg.FetchRequestTopic {
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic = p.topic
			return rt
		})
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p.index, pos.offset, replicaFetchMaxBytes
		rp.CurrentLeaderEpoch, rp.LastFetchedEpoch, rp.LogStartOffset = epoch, pos.lastFetched, pos.logStart
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	if !full {
		forgot := map[string]int{}
		for p := range s.sent {
			if _, ok := parts[p]; ok {
				continue
			}
			i := topicSlot(forgot, &req.ForgottenTopics, p.topic, func() kmsg.FetchRequestForgottenTopic {
				ft := kmsg.NewFetchRequestForgottenTopic()
				ft.Topic = p.topic
				return ft
			})
			req.ForgottenTopics[i].Partitions = append(req.ForgottenTopics[i].Partitions, p.index)
		}
	}
	return req, next, byName
}

// answered moves the session on after a response: a full fetch's answer
// names the new session (0: the leader keeps none, so every fetch stays
// full), an incremental one takes the next epoch.
func (s *replicaSession) answered(sessionID int32, next map[*partition]fetchPosition) {
	if s.epoch == 0 {
		s.id = sessionID
		if s.id != 0 {
			s.epoch = 1
		}
	} else if s.epoch++; s.epoch == math.MaxInt32 {
		s.epoch = 1 // Kafka's epochs wrap to 1
	}
	s.sent = next
}

// reset makes the next fetch full: after an error the leader's session may
// hold anything. A full fetch naming the old session closes it.
func (s *replicaSession) reset(code int16) {
	if code == kerr.FetchSessionIDNotFound.Code {
		s.id = 0
	}
	s.epoch, s.sent = 0, nil
}

// replicated is one partition's share of a fetch answer, carried out on
// its owner shard.
type replicated struct {
	p         *partition
	epoch     int32     // the leader epoch followed
	data      []byte    // complete batches to append
	hw        int64     // the leader's high watermark
	diverging *epochEnd // truncate by it instead
	appended  bool      // data went to the log in epoch (appendFollowed)
	err       error
}

// fetchOnce fetches the partitions once and carries out the answer.
func (f *fetcher) fetchOnce(addr string, parts map[*partition]int32) error {
	s := &f.session
	req, next, byName := s.request(f.b.nodeID, parts)
	resp, err := f.client.do(addr, req)
	if err != nil {
		s.reset(0)
		return err
	}
	fr := resp.(*kmsg.FetchResponse)
	if fr.ErrorCode != 0 {
		s.reset(fr.ErrorCode)
		return fmt.Errorf("fetch: %v", kerr.ErrorForCode(fr.ErrorCode))
	}
	s.answered(fr.SessionID, next)
	backoff := false
	var work []replicated
	var outOfRange []*partition
	for _, rt := range fr.Topics {
		for _, rp := range rt.Partitions {
			p := byName[partitionKey{rt.Topic, rp.Partition}]
			if p == nil {
				continue
			}
			switch rp.ErrorCode {
			case 0:
				if d := rp.DivergingEpoch; d.Epoch >= 0 || d.EndOffset >= 0 {
					work = append(work, replicated{p: p, epoch: parts[p], diverging: &epochEnd{d.Epoch, d.EndOffset}})
				} else if data, ok := wholeBatches(p, rp.RecordBatches, rp.HighWatermark); ok {
					work = append(work, replicated{p: p, epoch: parts[p], data: data, hw: rp.HighWatermark})
				}
			case kerr.OffsetOutOfRange.Code:
				outOfRange = append(outOfRange, p)
			default:
				// Not (yet) the leader in the epoch we follow: the next
				// image will tell.
				backoff = true
			}
		}
	}
	if len(work) > 0 && !f.onShard(work) {
		return nil // stopping
	}
	for _, w := range work {
		if w.err != nil {
			what := "cannot append replicated batches"
			if w.diverging != nil {
				what = "cannot truncate a follower's diverging log"
			}
			f.b.errs.Error(what, "partition", fmt.Sprintf("%s-%d", w.p.topic, w.p.index),
				"leader", f.key.leader, "err", w.err)
			backoff = true
		}
	}
	for _, p := range outOfRange {
		// Our log end is not in the leader's log: past its end (a leader
		// elected uncleanly, with less) or below its start (retention ran
		// while we were away).
		if err := f.outOfRange(addr, p, parts[p]); err != nil {
			f.b.errs.Error("cannot bring a follower's log into the leader's range", "partition",
				fmt.Sprintf("%s-%d", p.topic, p.index), "leader", f.key.leader, "err", err)
			backoff = true
		}
	}
	if backoff {
		f.sleep(100 * time.Millisecond)
	}
	return nil
}

// onShard carries out work: the appends here, on the fetcher's goroutine
// (appendFollowed: the shard loop does not wait on the disk), then the
// rest on the fetcher's shard, in one turn of its loop (the producer
// state, the high watermark, truncations), and waits: the next fetch
// offsets are the new log ends. False when the fetcher stops meanwhile.
func (f *fetcher) onShard(work []replicated) bool {
	for i := range work {
		w := &work[i]
		if w.diverging == nil {
			w.appended, w.err = w.p.appendFollowed(w.epoch, w.data)
		}
	}
	done := make(chan struct{})
	f.b.shards.Run(f.key.shard, func() {
		for i := range work {
			w := &work[i]
			switch {
			case w.diverging != nil:
				w.err = w.p.truncateForLeader(w.epoch, w.diverging.epoch, w.diverging.end)
			case w.appended:
				w.p.applyFollowed(w.epoch, w.hw)
			}
		}
		close(done)
	})
	select {
	case <-done:
		return true
	case <-f.stop:
		return false
	}
}

// wholeBatches is data's complete batches (a batch cut by the leader's size
// limits is fetched again whole); false when there is nothing to do.
func wholeBatches(p *partition, data []byte, hw int64) ([]byte, bool) {
	n := 0
	for n+logstore.BatchHeaderSize <= len(data) {
		size := int(logstore.Batch(data[n:]).Size())
		if size < logstore.BatchHeaderSize || n+size > len(data) {
			break
		}
		n += size
	}
	data = data[:n]
	return data, len(data) > 0 || hw != p.log.HighWatermark()
}

// topicSlot is the index of topic's entry in *list, a request's or
// response's topics: the one idx names, or a new one mk makes, appended.
func topicSlot[T any](idx map[string]int, list *[]T, topic string, mk func() T) int {
	i, ok := idx[topic]
	if !ok {
		i = len(*list)
		idx[topic] = i
		*list = append(*list, mk())
	}
	return i
}

// outOfRange handles a fetch offset outside the leader's log, as Kafka's
// follower does: it asks the leader for its log start and end
// (ListOffsets as a replica); a log end past the leader's is truncated to
// it (only an unclean election leaves a leader with less: the log says
// what is lost), a log end below the leader's start starts over empty
// there.
func (f *fetcher) outOfRange(addr string, p *partition, epoch int32) error {
	offsets := map[int64]int64{}
	for _, ts := range []int64{-2, -1} {
		req := kmsg.NewPtrListOffsetsRequest()
		req.Version, req.ReplicaID = 4, f.b.nodeID
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = p.topic
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.Timestamp = p.index, epoch, ts
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := f.client.do(addr, req)
		if err != nil {
			return err
		}
		lr := resp.(*kmsg.ListOffsetsResponse)
		if len(lr.Topics) != 1 || len(lr.Topics[0].Partitions) != 1 {
			return fmt.Errorf("list offsets: %d topics answered", len(lr.Topics))
		}
		if c := lr.Topics[0].Partitions[0].ErrorCode; c != 0 {
			return kerr.ErrorForCode(c)
		}
		offsets[ts] = lr.Topics[0].Partitions[0].Offset
	}
	done := make(chan error, 1)
	f.b.shards.Run(f.key.shard, func() { done <- p.followLeaderRange(offsets[-2], offsets[-1]) })
	select {
	case err := <-done:
		return err
	case <-f.stop:
		return nil
	}
}
