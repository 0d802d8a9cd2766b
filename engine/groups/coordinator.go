package groups

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// Config is the broker configuration the coordinator reads, asked for
// afresh by each operation that needs it (it can change at run time).
type Config struct {
	MinSessionTimeoutMs int32         // group.min.session.timeout.ms
	MaxSessionTimeoutMs int32         // group.max.session.timeout.ms
	MaxSize             int32         // group.max.size
	InitialDelay        time.Duration // group.initial.rebalance.delay.ms
	OffsetsRetention    time.Duration // offsets.retention.minutes
}

// Log writes records to the __consumer_offsets partitions.
type Log interface {
	// Append writes recs, in order, to partition part as one batch, as
	// its leader since leader epoch epoch (the one it was loaded at): when
	// the append runs and the broker no longer leads the partition, or
	// leads it again since a later Load, nothing is written and done gets
	// NOT_COORDINATOR. done, when
	// not nil, is called once with 0 or the Kafka error code once the
	// append is over; it may be called on any goroutine, including inside
	// Append, and never needs the coordinator's lock to be free.
	Append(part, epoch int32, recs []Record, done func(code int16))
}

// Options are a coordinator's collaborators.
type Options struct {
	Log    Log
	Config func() Config
	// Clock is the time; the coordinator reads no other.
	Clock func() time.Time
	// Wake, when set, is called (under the coordinator's lock, so it must
	// not call back) with a time at which Tick must run: the earliest
	// deadline armed since the last Tick. Spurious Ticks are harmless.
	Wake func(at time.Time)
}

// Coordinator holds the classic groups of the __consumer_offsets
// partitions this broker leads and their committed offsets. One mutex
// guards every group: operations are short and never wait on I/O under it.
type Coordinator struct {
	opts   Options
	mu     sync.Mutex
	groups map[string]*group
	// parts are the partitions led here (Load), loading or loaded; seq
	// numbers their loads.
	parts  map[int32]*partState
	seq    uint64
	closed bool
	// wakeAt is the deadline last handed to Wake (zero: none pending).
	wakeAt time.Time
}

// New returns a coordinator with no group and no partition loaded.
func New(opts Options) *Coordinator {
	return &Coordinator{opts: opts, groups: map[string]*group{}, parts: map[int32]*partState{}}
}

// Close stops the timers: Tick and expiry do nothing afterwards, appends
// answer COORDINATOR_NOT_AVAILABLE, loads in progress are abandoned and
// no other starts.
func (c *Coordinator) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
}

func (c *Coordinator) now() time.Time { return c.opts.Clock() }

// getGroup finds a group; create makes it Empty when absent. c.mu held.
func (c *Coordinator) getGroup(name string, part int32, create bool) *group {
	g := c.groups[name]
	if g == nil && create {
		g = c.newGroup(name, part)
		c.groups[name] = g
	}
	return g
}

// newGroup is an Empty group of partition part, not yet in c.groups.
func (c *Coordinator) newGroup(name string, part int32) *group {
	return &group{c: c, name: name, part: part, members: map[string]*member{},
		pending: map[string]*member{}, static: map[string]string{},
		offsets: map[partitionKey]offsetEntry{}, stateTime: c.now()}
}

// newMemberID is Kafka's member id: the client (or instance) id and a UUID.
func newMemberID(clientID string, instanceID *string) string {
	var u [16]byte
	rand.Read(u[:])
	prefix := clientID
	if instanceID != nil {
		prefix = *instanceID
	}
	return prefix + "-" + hex.EncodeToString(u[:4]) + "-" + hex.EncodeToString(u[4:6]) + "-" +
		hex.EncodeToString(u[6:8]) + "-" + hex.EncodeToString(u[8:10]) + "-" + hex.EncodeToString(u[10:])
}
