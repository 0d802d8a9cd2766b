package engine

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/metadata"
)

// Fetch sessions (KIP-227). A client that opens a session sends, after its
// first full fetch, only the partitions whose position changed; the broker
// remembers the rest and answers only partitions with something new
// (records, a moved high watermark or log start, an error, a divergence).
// Consumers and followers (fetcher.go) alike.
//
//	session id 0, epoch -1   sessionless full fetch
//	session id 0, epoch 0    full fetch that opens a session
//	session id S, epoch -1   close S, then a sessionless full fetch
//	session id S, epoch 0    close S, then a full fetch that opens a session
//	session id S, epoch N>0  incremental fetch; N must be S's next epoch

// fetchSessionSlots bounds the cached sessions, as Kafka's
// max.incremental.fetch.session.cache.slots (default 1000) does; the
// least recently used one is evicted when a new one needs room.
const fetchSessionSlots = 1000

// fetchTarget is one partition a fetch reads, with what the session last
// told the client about it.
type fetchTarget struct {
	topic    string
	topicID  [16]byte
	part     int32
	offset   int64
	maxBytes int32
	leaderEp int32
	// lastFetched is the epoch of the fetcher's last batch (v12+, -1:
	// none), checked against this log for divergence (KIP-595).
	lastFetched int32

	sentHW, sentLogStart int64 // -1: never sent
}

type fetchSession struct {
	mu       sync.Mutex
	id       int32
	epoch    int32 // the next epoch the client must send
	targets  []fetchTarget
	lastUsed time.Time
}

type fetchSessions struct {
	mu       sync.Mutex
	sessions map[int32]*fetchSession
}

// open makes a session for targets and returns it, evicting the least
// recently used session when the cache is full.
func (fs *fetchSessions) open(targets []fetchTarget) *fetchSession {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.sessions == nil {
		fs.sessions = map[int32]*fetchSession{}
	}
	if len(fs.sessions) >= fetchSessionSlots {
		var oldest *fetchSession
		for _, s := range fs.sessions {
			if oldest == nil || s.lastUsed.Before(oldest.lastUsed) {
				oldest = s
			}
		}
		delete(fs.sessions, oldest.id)
	}
	id := rand.Int32N(1<<31-1) + 1
	for fs.sessions[id] != nil {
		id = rand.Int32N(1<<31-1) + 1
	}
	s := &fetchSession{id: id, epoch: 1, targets: targets, lastUsed: time.Now()}
	fs.sessions[id] = s
	return s
}

func (fs *fetchSessions) get(id int32) *fetchSession {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	s := fs.sessions[id]
	if s != nil {
		s.lastUsed = time.Now()
	}
	return s
}

func (fs *fetchSessions) close(id int32) {
	fs.mu.Lock()
	delete(fs.sessions, id)
	fs.mu.Unlock()
}

// requestTargets lists the partitions a request names.
func requestTargets(im *metadata.Image, req *kmsg.FetchRequest) []fetchTarget {
	var out []fetchTarget
	for i := range req.Topics {
		rt := &req.Topics[i]
		name := rt.Topic
		if req.Version >= 13 {
			name = topicNameByID(im, rt.TopicID)
		}
		for _, rp := range rt.Partitions {
			lastFetched := int32(-1)
			if req.Version >= 12 {
				lastFetched = rp.LastFetchedEpoch
			}
			out = append(out, fetchTarget{topic: name, topicID: rt.TopicID, part: rp.Partition,
				offset: rp.FetchOffset, maxBytes: rp.PartitionMaxBytes, leaderEp: rp.CurrentLeaderEpoch,
				lastFetched: lastFetched, sentHW: -1, sentLogStart: -1})
		}
	}
	return out
}

// sessionTargets resolves a fetch's session: which partitions to read,
// whether the response is incremental, the session id to answer with, or
// an error code for the whole response.
func (b *Broker) sessionTargets(im *metadata.Image, req *kmsg.FetchRequest) (
	s *fetchSession, targets []fetchTarget, code int16) {
	reqTargets := requestTargets(im, req)
	if req.Version < 7 {
		return nil, reqTargets, 0
	}
	switch {
	case req.SessionID == 0 && req.SessionEpoch == -1:
		return nil, reqTargets, 0
	case req.SessionID == 0 && req.SessionEpoch == 0:
		return b.fetchSessions.open(reqTargets), reqTargets, 0
	case req.SessionID == 0:
		return nil, nil, kerr.FetchSessionIDNotFound.Code
	case req.SessionEpoch == -1:
		b.fetchSessions.close(req.SessionID)
		return nil, reqTargets, 0
	case req.SessionEpoch == 0:
		// A full fetch naming a session closes it and opens a new one
		// (what the Java client sends after an error or a reconnect).
		b.fetchSessions.close(req.SessionID)
		return b.fetchSessions.open(reqTargets), reqTargets, 0
	}
	s = b.fetchSessions.get(req.SessionID)
	if s == nil {
		return nil, nil, kerr.FetchSessionIDNotFound.Code
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.SessionEpoch != s.epoch {
		return nil, nil, kerr.InvalidFetchSessionEpoch.Code
	}
	s.epoch++
	s.targets = mergeTargets(s.targets, reqTargets, forgotten(im, req))
	return s, append([]fetchTarget(nil), s.targets...), 0
}

type targetKey struct {
	topic string
	part  int32
}

func forgotten(im *metadata.Image, req *kmsg.FetchRequest) map[targetKey]bool {
	out := map[targetKey]bool{}
	for _, ft := range req.ForgottenTopics {
		name := ft.Topic
		if req.Version >= 13 {
			name = topicNameByID(im, ft.TopicID)
		}
		for _, p := range ft.Partitions {
			out[targetKey{name, p}] = true
		}
	}
	return out
}

// mergeTargets applies an incremental request to a session's partitions:
// named ones are added or updated, forgotten ones dropped.
func mergeTargets(cur, upd []fetchTarget, drop map[targetKey]bool) []fetchTarget {
	idx := map[targetKey]int{}
	out := cur[:0:0]
	for _, t := range cur {
		if !drop[targetKey{t.topic, t.part}] {
			idx[targetKey{t.topic, t.part}] = len(out)
			out = append(out, t)
		}
	}
	for _, u := range upd {
		k := targetKey{u.topic, u.part}
		if i, ok := idx[k]; ok {
			u.sentHW, u.sentLogStart = out[i].sentHW, out[i].sentLogStart
			out[i] = u
			continue
		}
		idx[k] = len(out)
		out = append(out, u)
	}
	return out
}

// remember records what an incremental response told the client, so the
// next one leaves out partitions with nothing new.
func (s *fetchSession) remember(topics []fetchTopicOut) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sent := map[targetKey]fetchPartitionOut{}
	for _, t := range topics {
		for _, p := range t.parts {
			sent[targetKey{t.name, p.partition}] = p
		}
	}
	for i := range s.targets {
		t := &s.targets[i]
		if p, ok := sent[targetKey{t.topic, t.part}]; ok {
			t.sentHW, t.sentLogStart = p.hw, p.logStart
		}
	}
}
