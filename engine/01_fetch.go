package engine

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/netio"
)

// Fetch: v4-v18
//
// Behavior:
// * Record bytes leave by the file-send path (mmap SEND or splice on
//   uring, sendfile on std) and never enter a Go buffer: the response is
//   framed by hand around segment ranges (fetch_encode.go).
// * Reads stop at the high watermark; whole batches only. The first
//   partition with data returns its first batch even over max.bytes or
//   the partition's max bytes, as Kafka does; later ones stop within the
//   limits.
// * Long polling: with fewer than min.bytes ready, the fetch waits up to
//   max.wait.ms and is woken by appends to the partitions it reads.
// * Errors per partition: UNKNOWN_TOPIC_OR_PARTITION (not in the request's
//   metadata image; UNKNOWN_TOPIC_ID by id, v13+), OFFSET_OUT_OF_RANGE,
//   FENCED/UNKNOWN_LEADER_EPOCH (v9+: the request's CurrentLeaderEpoch older
//   or newer than the image's leader epoch, on a broker that is a replica);
//   a partition in error makes the fetch answer at once.
// * Only the partition's leader in the image serves it (leadership.go), to
//   consumers and replicas alike: a partition led by another broker, or by
//   none (-1), gets NOT_LEADER_OR_FOLLOWER and no records. Reading from a
//   follower (KIP-392) is not served. With NOT_LEADER_OR_FOLLOWER and
//   FENCED_LEADER_EPOCH, v12+ names KIP-951's CurrentLeader (id and epoch)
//   and v16+ adds the leader's endpoint on the request's listener to
//   NodeEndpoints when it is registered, unfenced and on that listener
//   (Kafka fills CurrentLeader from v16 only; the field exists from v12).
//   A partition this node leads but has no log for gets
//   UNKNOWN_TOPIC_OR_PARTITION.
// * Divergence (KIP-595, v12+): a fetch naming the epoch of its last batch
//   (LastFetchedEpoch) that this log ends before the fetch offset gets
//   DivergingEpoch, the epoch and end offset to truncate by, and no
//   records; followers truncate by it (fetcher.go).
// * Fetch sessions (KIP-227, v7+): see fetch_session.go. Incremental
//   responses carry only partitions with something new; unknown sessions
//   get FETCH_SESSION_ID_NOT_FOUND, a wrong epoch
//   INVALID_FETCH_SESSION_EPOCH.
//
// Version notes: v4 isolation level and last stable offset; v5 log start
// offset; v7 sessions; v9 current leader epoch; v11 rack and preferred
// read replica; v12 flexible, CurrentLeader; v13 topic ids; v16
// NodeEndpoints.

func init() { register(api{key: 1, min: 4, max: 18, handle: handleFetch}) }

type fetchState struct {
	b       *Broker
	r       *request
	req     *kmsg.FetchRequest
	targets []fetchTarget
	session *fetchSession // nil: sessionless
	incr    bool          // an incremental fetch: leave out partitions with nothing new
	replica int32         // a follower's broker id (replication.go); -1: a consumer
	done    atomic.Bool

	mu      sync.Mutex // waiter handles and the timer
	waiting []parkedWaiter
	timer   netio.Timer
}

type parkedWaiter struct {
	p  *partition
	id uint64
}

func handleFetch(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.FetchRequest)
	fs := &fetchState{b: b, r: r, req: req, replica: fetchReplica(req)}
	session, targets, code := b.sessionTargets(r.image, req)
	if code != 0 {
		fs.respond(code, nil)
		return nil, nil
	}
	fs.session, fs.targets = session, targets
	fs.incr = session != nil && req.SessionEpoch > 0
	topics, ready, urgent := fs.read()
	if urgent || req.MaxWaitMillis <= 0 || ready >= int64(max(req.MinBytes, 1)) {
		fs.respond(0, topics)
		return nil, nil
	}
	releaseTopics(topics)
	fs.park(time.Duration(req.MaxWaitMillis) * time.Millisecond)
	fs.recheck() // an append between the read and park woke no one
	return nil, nil
}

// read builds the response's partitions from the logs as they are now:
// ready counts record bytes; urgent says a partition is in error.
func (fs *fetchState) read() (topics []fetchTopicOut, ready int64, urgent bool) {
	req := fs.req
	var seen []replicaPosition // a follower's positions, for the leader's replicas
	budget := int64(req.MaxBytes)
	if budget <= 0 {
		budget = 1 << 62
	}
	for i := range fs.targets {
		tg := &fs.targets[i]
		out := fetchPartitionOut{partition: tg.part, hw: -1, lastStable: -1, logStart: -1}
		epoch := int32(noEpoch)
		if req.Version >= 9 {
			epoch = tg.leaderEp
		}
		p, code, cur := fs.b.leadership(fs.r, tg.topic, tg.part, epoch)
		switch {
		case req.Version >= 13 && tg.topic == "":
			out.errCode = kerr.UnknownTopicID.Code
		case code != 0:
			out.errCode = code
			if req.Version >= 12 && tellsLeader(code) {
				out.tellLeader, out.leader = true, cur
			}
		case p == nil:
			out.errCode = kerr.UnknownTopicOrPartition.Code
		default:
			if fs.readPartition(p, tg, &out, &budget, ready > 0) && fs.replica >= 0 {
				seen = append(seen, replicaPosition{p, tg.offset, tg.leaderEp})
			}
		}
		if out.errCode != 0 {
			urgent = true
		}
		ready += out.slice.Len
		if fs.incr && out.errCode == 0 && out.diverging == nil && out.slice.Len == 0 &&
			out.hw == tg.sentHW && out.logStart == tg.sentLogStart {
			continue // nothing new for the client
		}
		if n := len(topics); n == 0 || topics[n-1].name != tg.topic || topics[n-1].id != tg.topicID {
			topics = append(topics, fetchTopicOut{name: tg.topic, id: tg.topicID})
		}
		t := &topics[len(topics)-1]
		t.parts = append(t.parts, out)
	}
	if len(seen) > 0 {
		fs.b.followerFetched(fs.replica, seen)
	}
	return topics, ready, urgent
}

// readPartition reads p for one target of the fetch; counted says the
// fetch offset is a position in this log (a follower's tells the leader's
// replica how far it has come, replication.go).
func (fs *fetchState) readPartition(p *partition, tg *fetchTarget,
	out *fetchPartitionOut, budget *int64, haveData bool) (counted bool) {
	hw := p.log.HighWatermark()
	out.hw, out.lastStable, out.logStart = hw, hw, p.log.LogStartOffset()
	if d, ok := diverged(p, tg); ok {
		out.diverging = &d // no records, and the position is not one in this log
		return false
	}
	upTo := hw
	if fs.replica >= 0 {
		upTo = p.log.LogEndOffset() // a follower reads to the log end
	}
	limit := min(int64(tg.maxBytes), *budget)
	if limit <= 0 && haveData {
		return true
	}
	s, err := p.log.Read(tg.offset, max(limit, 1), upTo)
	if err != nil {
		switch {
		case errors.Is(err, logstore.ErrOffsetOutOfRange):
			out.errCode = kerr.OffsetOutOfRange.Code
		case errors.Is(err, logstore.ErrClosed):
			out.errCode = kerr.UnknownTopicOrPartition.Code // deleted under the read
		default:
			out.errCode = kerr.KafkaStorageError.Code
			fs.b.errs.Error("fetch read failed", "topic", p.topic, "partition", p.index, "err", err)
		}
		return true
	}
	if s.Len > limit && haveData {
		s.Release() // only the first partition with data may exceed the limits
		return true
	}
	out.slice = s
	*budget -= s.Len
	return true
}

// diverged is KIP-595's check of a fetch that names the epoch of its last
// batch: when this log ends that epoch before the fetch offset, or knows
// only older epochs, the fetcher's log diverged from it, and the answer
// is the epoch and end offset it must truncate by. A log with no epochs
// cannot tell (Kafka would send the field's defaults, which say nothing);
// the offset range check decides.
func diverged(p *partition, tg *fetchTarget) (epochEnd, bool) {
	if tg.lastFetched < 0 {
		return epochEnd{}, false
	}
	epoch, end := p.log.EndOffsetForEpoch(tg.lastFetched)
	if epoch < 0 || (epoch >= tg.lastFetched && end >= tg.offset) {
		return epochEnd{}, false
	}
	return epochEnd{epoch, end}, true
}

// park waits for appends to the partitions read, or for max.wait.ms.
func (fs *fetchState) park(wait time.Duration) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, tg := range fs.targets {
		if p := fs.b.lookupPartition(tg.topic, tg.part); p != nil {
			fs.waiting = append(fs.waiting, parkedWaiter{p, p.addWaiter(fs.onAppend)})
		}
	}
	// The timeout fires on the connection's shard, where the fetch was
	// read and where its answer leaves (no timer goroutine, no hop).
	fs.timer = fs.b.shards.AfterFunc(fs.r.conn.Shard(), wait, fs.onTimeout)
}

// onAppend runs when an append hits a partition the fetch reads. The
// append used up the fetch's wake-ups, so they are parked again before the
// re-read: an append racing the read then wakes it again rather than
// going unseen.
func (fs *fetchState) onAppend() {
	if fs.done.Load() {
		return
	}
	fs.mu.Lock()
	if !fs.done.Load() {
		for i, w := range fs.waiting {
			w.p.removeWaiter(w.id)
			fs.waiting[i].id = w.p.addWaiter(fs.onAppend)
		}
	}
	fs.mu.Unlock()
	fs.recheck()
}

// recheck answers the fetch if it has reached min.bytes (or hit an error).
func (fs *fetchState) recheck() {
	if fs.done.Load() {
		return
	}
	topics, ready, urgent := fs.read()
	if (urgent || ready >= int64(max(fs.req.MinBytes, 1))) && fs.finish() {
		fs.respond(0, topics)
		return
	}
	releaseTopics(topics)
}

func (fs *fetchState) onTimeout() {
	if fs.finish() {
		topics, _, _ := fs.read()
		fs.respond(0, topics)
	}
}

// finish marks the fetch answered (once) and drops its parked wake-ups.
func (fs *fetchState) finish() bool {
	if !fs.done.CompareAndSwap(false, true) {
		return false
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, w := range fs.waiting {
		w.p.removeWaiter(w.id)
	}
	fs.waiting = nil
	if fs.timer != nil {
		fs.timer.Stop()
	}
	return true
}

func (fs *fetchState) respond(errCode int16, topics []fetchTopicOut) {
	var sessionID int32
	if fs.session != nil && errCode == 0 {
		sessionID = fs.session.id
		fs.session.remember(topics)
	}
	var nodes []nodeEndpoint
	if fs.req.Version >= 16 {
		nodes = nodeEndpoints(fs.r.image, fs.r.listener, namedLeaders(topics))
	}
	resp, err := encodeFetch(fs.req.Version, fs.r.correlationID, errCode, sessionID, topics, nodes, &fs.b.segFiles)
	if err != nil {
		fs.b.log.Error("fetch response failed; closing connection", "err", err)
		fs.r.conn.Close()
		return
	}
	fs.r.conn.Respond(fs.r.seq, resp)
}

// namedLeaders are the leaders the partitions of topics name in
// CurrentLeader, for NodeEndpoints.
func namedLeaders(topics []fetchTopicOut) []int32 {
	var ids []int32
	for _, t := range topics {
		for _, p := range t.parts {
			if p.tellLeader {
				ids = append(ids, p.leader.id)
			}
		}
	}
	return ids
}

func releaseTopics(topics []fetchTopicOut) {
	for _, t := range topics {
		for i := range t.parts {
			t.parts[i].slice.Release()
		}
	}
}
