package engine

import (
	"fmt"
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

// Replication, the follower's side: for each broker that leads partitions
// this node follows, one fetcher (a goroutine with one connection to the
// leader's inter-broker listener) fetches them all in one long-polling
// Fetch, naming this node as the replica. Before it fetches a partition
// in a new leader epoch, it asks the leader where its own last epoch ends
// (OffsetForLeaderEpoch, KIP-101/279) and truncates its log there, never
// to the high watermark alone: an old leader's uncommitted tail goes. The
// batches that come back are appended byte for byte on the partition's
// owner shard (partition.appendReplicated), which also takes the leader's
// high watermark. The set of partitions follows each published image
// (syncFetchers).

// fetchers are this node's fetchers by leader.
type fetchers struct {
	mu       sync.Mutex
	byLeader map[int32]*fetcher
}

// fetcher fetches the partitions this node follows from one leader.
type fetcher struct {
	b      *Broker
	leader int32
	client *peerClient

	mu    sync.Mutex
	parts map[*partition]*followed
	addr  string // the leader's inter-broker endpoint
	wake  chan struct{}

	stop chan struct{}
	done chan struct{}
}

// followed is a partition's state in its fetcher.
type followed struct {
	epoch     int32 // the leader epoch it follows in
	truncated bool  // its log was truncated for epoch (OffsetForLeaderEpoch)
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
	want := map[int32]map[*partition]int32{}
	for _, p := range tab.byName {
		reg := p.assigned
		if reg.Leader < 0 || reg.Leader == b.nodeID || !slices.Contains(reg.Replicas, b.nodeID) {
			continue
		}
		if want[reg.Leader] == nil {
			want[reg.Leader] = map[*partition]int32{}
		}
		want[reg.Leader][p] = reg.LeaderEpoch
	}
	fs := &b.fetchers
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.byLeader == nil {
		fs.byLeader = map[int32]*fetcher{}
	}
	for leader, f := range fs.byLeader {
		if want[leader] == nil {
			delete(fs.byLeader, leader)
			go f.close()
		}
	}
	listener := b.interBrokerListener()
	for leader, parts := range want {
		addr := ""
		if br, ok := im.Broker(leader); ok {
			if e, ok := br.Endpoints[listener]; ok {
				addr = net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port)))
			}
		}
		f := fs.byLeader[leader]
		if f == nil {
			f = &fetcher{b: b, leader: leader, parts: map[*partition]*followed{}, wake: make(chan struct{}, 1),
				stop: make(chan struct{}), done: make(chan struct{}),
				client: newPeerClient(fmt.Sprintf("weir-replica-%d", b.nodeID), replicaFetchWait+b.peerTimeout())}
			fs.byLeader[leader] = f
			go f.run()
		}
		f.set(addr, parts)
	}
}

// stopFetchers stops every fetcher and waits.
func (b *Broker) stopFetchers() {
	fs := &b.fetchers
	fs.mu.Lock()
	all := fs.byLeader
	fs.byLeader = nil
	fs.mu.Unlock()
	for _, f := range all {
		f.close()
	}
}

// set replaces the fetcher's partitions; one in a new epoch is truncated
// again before it is fetched.
func (f *fetcher) set(addr string, parts map[*partition]int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addr = addr
	next := map[*partition]*followed{}
	for p, epoch := range parts {
		if st := f.parts[p]; st != nil && st.epoch == epoch {
			next[p] = st
		} else {
			next[p] = &followed{epoch: epoch}
		}
	}
	f.parts = next
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

// snapshot is the fetcher's partitions and address now.
func (f *fetcher) snapshot() (string, map[*partition]*followed) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[*partition]*followed, len(f.parts))
	for p, st := range f.parts {
		cp := *st
		out[p] = &cp
	}
	return f.addr, out
}

// truncated records that p was truncated for epoch, unless it changed.
func (f *fetcher) markTruncated(p *partition, epoch int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st := f.parts[p]; st != nil && st.epoch == epoch {
		st.truncated = true
	}
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
		addr, parts := f.snapshot()
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
			f.b.log.Debug("replica fetch failed", "leader", f.leader, "err", err)
			if !f.sleep(100 * time.Millisecond) {
				return
			}
		}
	}
}

// fetchOnce truncates the partitions that need it, then fetches them all
// once and appends what comes.
func (f *fetcher) fetchOnce(addr string, parts map[*partition]*followed) error {
	var need []*partition
	for p, st := range parts {
		if !st.truncated {
			need = append(need, p)
		}
	}
	if len(need) > 0 {
		if err := f.truncate(addr, need, parts); err != nil {
			return err
		}
	}
	req := kmsg.NewPtrFetchRequest()
	req.Version = 12
	req.ReplicaID = f.b.nodeID
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = int32(replicaFetchWait.Milliseconds()), 1, 16<<20
	req.SessionID, req.SessionEpoch = 0, -1
	byName := map[partitionKey]*partition{}
	topics := map[string]int{}
	for p, st := range parts {
		if !st.truncated {
			continue
		}
		i := topicSlot(topics, &req.Topics, p.topic, func() kmsg.FetchRequestTopic {
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic = p.topic
			return rt
		})
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p.index, p.log.LogEndOffset(), replicaFetchMaxBytes
		rp.CurrentLeaderEpoch, rp.LastFetchedEpoch, rp.LogStartOffset = st.epoch, -1, p.log.LogStartOffset()
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
		byName[partitionKey{p.topic, p.index}] = p
	}
	if len(req.Topics) == 0 {
		return nil
	}
	resp, err := f.client.do(addr, req)
	if err != nil {
		return err
	}
	fr := resp.(*kmsg.FetchResponse)
	if fr.ErrorCode != 0 {
		return fmt.Errorf("fetch: %v", kerr.ErrorForCode(fr.ErrorCode))
	}
	backoff := false
	var appends []pendingAppend
	for _, rt := range fr.Topics {
		for _, rp := range rt.Partitions {
			p := byName[partitionKey{rt.Topic, rp.Partition}]
			if p == nil {
				continue
			}
			switch rp.ErrorCode {
			case 0:
				if a, ok := f.apply(p, rp.RecordBatches, rp.HighWatermark); ok {
					appends = append(appends, a)
				}
			case kerr.OffsetOutOfRange.Code:
				// Our log end is not in the leader's log: past its end
				// (a leader elected uncleanly, with less) or below its
				// start (retention ran while we were away).
				if err := f.outOfRange(addr, p, parts[p].epoch); err != nil {
					f.b.errs.Error("cannot bring a follower's log into the leader's range", "partition",
						fmt.Sprintf("%s-%d", p.topic, p.index), "leader", f.leader, "err", err)
					backoff = true
				}
			default:
				// Not (yet) the leader in the epoch we follow: the next
				// image will tell.
				backoff = true
			}
		}
	}
	// The owner shards append in parallel; the next fetch offsets are
	// the new log ends, so all are waited for.
	failed := false
	for _, a := range appends {
		if err := <-a.done; err != nil {
			f.b.errs.Error("cannot append replicated batches", "partition",
				fmt.Sprintf("%s-%d", a.p.topic, a.p.index), "leader", f.leader, "err", err)
			failed = true
		}
	}
	if backoff || failed {
		f.sleep(100 * time.Millisecond)
	}
	return nil
}

// pendingAppend is an append posted to a partition's owner shard.
type pendingAppend struct {
	p    *partition
	done chan error
}

// apply posts to p's owner shard the append of the complete batches of
// data and the leader's high watermark; false when there is nothing to do.
func (f *fetcher) apply(p *partition, data []byte, hw int64) (pendingAppend, bool) {
	n := 0
	for n+logstore.BatchHeaderSize <= len(data) {
		size := int(logstore.Batch(data[n:]).Size())
		if size < logstore.BatchHeaderSize || n+size > len(data) {
			break // a batch cut by the leader's size limits
		}
		n += size
	}
	data = data[:n]
	if len(data) == 0 && hw == p.log.HighWatermark() {
		return pendingAppend{}, false
	}
	a := pendingAppend{p: p, done: make(chan error, 1)}
	f.b.shards.Run(f.b.owner(p), func() { a.done <- p.appendReplicated(data, hw) })
	return a, true
}

// truncate asks the leader where each partition's last local epoch ends
// and truncates the local log there (KIP-279: to the smaller of the
// leader's end for that epoch and the local end of it); a partition whose
// log holds no epoch yet starts empty where it is.
func (f *fetcher) truncate(addr string, need []*partition, parts map[*partition]*followed) error {
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.Version = 4
	req.ReplicaID = f.b.nodeID
	idx := map[string]int{}
	asked := map[partitionKey]*partition{}
	for _, p := range need {
		eps := p.log.LeaderEpochs()
		if len(eps) == 0 {
			f.markTruncated(p, parts[p].epoch)
			continue
		}
		i := topicSlot(idx, &req.Topics, p.topic, func() kmsg.OffsetForLeaderEpochRequestTopic {
			rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
			rt.Topic = p.topic
			return rt
		})
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = p.index, parts[p].epoch, eps[len(eps)-1].Epoch
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
		asked[partitionKey{p.topic, p.index}] = p
	}
	if len(asked) == 0 {
		return nil
	}
	resp, err := f.client.do(addr, req)
	if err != nil {
		return err
	}
	for _, rt := range resp.(*kmsg.OffsetForLeaderEpochResponse).Topics {
		for _, rp := range rt.Partitions {
			p := asked[partitionKey{rt.Topic, rp.Partition}]
			if p == nil || rp.ErrorCode != 0 {
				continue
			}
			epoch := parts[p].epoch
			type result struct {
				done bool
				err  error
			}
			res := make(chan result, 1)
			f.b.shards.Run(f.b.owner(p), func() {
				done, err := p.truncateForLeader(epoch, rp.LeaderEpoch, rp.EndOffset)
				res <- result{done, err}
			})
			r := <-res
			if r.err != nil {
				f.b.errs.Error("cannot truncate a follower's log", "partition",
					fmt.Sprintf("%s-%d", p.topic, p.index), "err", r.err)
				continue
			}
			if r.done {
				f.markTruncated(p, epoch)
			}
		}
	}
	return nil
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
	f.b.shards.Run(f.b.owner(p), func() { done <- p.followLeaderRange(offsets[-2], offsets[-1]) })
	return <-done
}
