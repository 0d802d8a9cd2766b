package controller

import (
	"maps"
	"slices"
	"time"

	"github.com/weirmq/weir/engine/metadata"
)

// Sessions are the active controller's record of broker heartbeats
// (Kafka's BrokerHeartbeatManager): soft state, not in the metadata log.
// A controller that becomes active starts every registered broker's
// session afresh (Load), so no broker is fenced for heartbeats sent to
// another controller. Sessions do no I/O and read no clock: times come
// from the caller. The caller serializes their use with its proposals
// (the engine's control-plane mutex) and sets a plan's Session only once
// its records are committed.
type Sessions struct {
	timeout time.Duration
	byID    map[int32]Session
}

// Session is one broker's heartbeat state.
type Session struct {
	LastContact time.Time
	// MetadataOffset is the last metadata offset the broker said it has
	// applied (-1 before its first heartbeat).
	MetadataOffset int64
	// RegisteredOffset is the metadata log offset of its latest
	// RegisterBrokerRecord: a broker is caught up once it has applied it.
	RegisteredOffset int64
	// ShutdownOffset is -1, or the offset of the last record of the change
	// that put the broker in controlled shutdown: it may stop once every
	// active broker has applied that far.
	ShutdownOffset int64
}

// NewSessions keeps sessions that expire timeout (broker.session.timeout.ms)
// after their last heartbeat.
func NewSessions(timeout time.Duration) *Sessions {
	return &Sessions{timeout: timeout, byID: map[int32]Session{}}
}

// Timeout is the session timeout.
func (s *Sessions) Timeout() time.Duration { return s.timeout }

// Get is broker id's session.
func (s *Sessions) Get(id int32) (Session, bool) {
	v, ok := s.byID[id]
	return v, ok
}

// Set records broker id's session, as a plan computed it.
func (s *Sessions) Set(id int32, v Session) { s.byID[id] = v }

// Remove drops broker id's session: a broker known not to run (its
// registration may be replaced at once).
func (s *Sessions) Remove(id int32) { delete(s.byID, id) }

// Load starts a session at now for every broker of im (with its epoch as
// the registration offset, the best known after a replay), and drops the
// sessions of brokers im does not have: what a newly active controller
// does.
func (s *Sessions) Load(im *metadata.Image, now time.Time) {
	ids := map[int32]bool{}
	for _, b := range im.Brokers() {
		ids[b.NodeID] = true
		if _, ok := s.byID[b.NodeID]; !ok {
			s.byID[b.NodeID] = Session{LastContact: now, MetadataOffset: -1, RegisteredOffset: b.Epoch,
				ShutdownOffset: -1}
		}
	}
	for _, id := range slices.Collect(maps.Keys(s.byID)) {
		if !ids[id] {
			delete(s.byID, id)
		}
	}
}

// valid is Kafka's hasValidSession: an unfenced broker heard from within
// the timeout.
func (s *Sessions) valid(b *metadata.Broker, now time.Time) bool {
	v, ok := s.byID[b.NodeID]
	return ok && !b.Fenced && !now.After(v.LastContact.Add(s.timeout))
}

// lowestActiveOffset is the lowest metadata offset among the active
// brokers (unfenced, not shutting down), or MaxInt64 when there is none.
func (s *Sessions) lowestActiveOffset(im *metadata.Image) int64 {
	low := int64(1<<63 - 1)
	for _, b := range im.Brokers() {
		v, ok := s.byID[b.NodeID]
		if ok && !b.Fenced && v.ShutdownOffset < 0 {
			low = min(low, v.MetadataOffset)
		}
	}
	return low
}
