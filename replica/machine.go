package replica

import (
	"fmt"
	"slices"
	"time"
)

// Role is what this broker is for the partition.
type Role int8

const (
	// Idle: no assignment from the metadata image yet. Nothing is
	// accepted and the high watermark stays where the log left it.
	Idle Role = iota
	Leader
	Follower
)

func (r Role) String() string {
	switch r {
	case Leader:
		return "leader"
	case Follower:
		return "follower"
	}
	return "idle"
}

// Config is fixed for the life of a Machine.
type Config struct {
	// ID is this broker's node id.
	ID int32
	// LagTimeMax is replica.lag.time.max.ms: a follower in the ISR that
	// has not caught up with the leader's log end for longer is proposed
	// for removal.
	LagTimeMax time.Duration
}

// Log is where the local log stands when the machine is made.
type Log struct {
	Start         int64 // log start offset
	End           int64 // log end offset (the next offset to append)
	HighWatermark int64 // the checkpointed one; clamped to [Start, End]
}

// Machine is one partition replica's state machine. It is not safe for
// concurrent use: one goroutine (the partition's owner shard) drives it.
type Machine struct {
	cfg Config

	role           Role
	leader         int32 // -1: none known
	leaderEpoch    int32 // -1: none yet
	partitionEpoch int32 // -1: none yet
	replicas       []int32
	isr            []int32 // committed, as the metadata image has it

	// On a leader: the ISR change proposed and not yet committed (nil:
	// none), whether Ready handed it out, and where its epoch began.
	pending          *Proposal
	pendingSent      bool
	leaderEpochStart int64
	followers        []follower // every replica but this one, in replica order

	// On a follower in a new leader epoch: the leader has not yet said
	// whether the log diverged from its own (KIP-101/279/595).
	truncating bool

	logStart, logEnd, hw int64
	now                  time.Time // the latest time an input carried

	waits       []wait // acks=all produces, by offset
	released    []Release
	publishedHW int64 // the high watermark the last Advance took
}

// New makes the machine of one partition replica, Idle until the metadata
// image says who leads.
func New(cfg Config, l Log) *Machine {
	if l.Start < 0 || l.End < l.Start {
		panic(fmt.Sprintf("replica: log start %d, end %d", l.Start, l.End))
	}
	// publishedHW is the log's own value: if clamping changed it, the
	// first Ready publishes the clamped one.
	hw := min(max(l.HighWatermark, l.Start), l.End)
	return &Machine{cfg: cfg, leader: -1, leaderEpoch: -1, partitionEpoch: -1,
		logStart: l.Start, logEnd: l.End, hw: hw, publishedHW: l.HighWatermark}
}

// Status is a snapshot of the machine's state, for the engine's answers
// (DescribeLogDirs, Metadata checks) and for tests.
type Status struct {
	Role           Role
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
	ISR            []int32 // committed
	Pending        []int32 // the proposed ISR in flight, nil if none
	LogStart       int64
	LogEnd         int64
	HighWatermark  int64
	Truncating     bool
}

// Status returns a copy of the machine's state.
func (m *Machine) Status() Status {
	s := Status{Role: m.role, Leader: m.leader, LeaderEpoch: m.leaderEpoch,
		PartitionEpoch: m.partitionEpoch, ISR: slices.Clone(m.isr),
		LogStart: m.logStart, LogEnd: m.logEnd, HighWatermark: m.hw, Truncating: m.truncating}
	if m.pending != nil {
		s.Pending = slices.Clone(m.pending.ISR)
	}
	return s
}

// Role is the replica's role, Status's without the copy.
func (m *Machine) Role() Role { return m.role }

// HighWatermark is the current high watermark (published or not yet).
func (m *Machine) HighWatermark() int64 { return m.hw }

// observe keeps the latest time an input carried; time never goes back
// for the machine even if the caller's clock does.
func (m *Machine) observe(now time.Time) {
	if now.After(m.now) {
		m.now = now
	}
}

// LogEnd feeds the local log end after an append: durable for acks=all
// semantics, or just written, as the engine chooses (today: written). On a
// leader the log end only grows; on a follower it may fall (truncation).
func (m *Machine) LogEnd(end int64) {
	if end < m.logStart {
		panic(fmt.Sprintf("replica: log end %d below log start %d", end, m.logStart))
	}
	if m.role == Leader && end < m.logEnd {
		panic(fmt.Sprintf("replica: leader's log end went back from %d to %d", m.logEnd, end))
	}
	m.logEnd = end
	switch m.role {
	case Leader:
		m.maybeAdvanceHW()
	default:
		m.hw = min(m.hw, end)
	}
}

// LogStart feeds the local log start offset after it moved (DeleteRecords,
// retention, a follower's full truncation). The high watermark is never
// below it.
func (m *Machine) LogStart(start int64) {
	if start < 0 {
		panic(fmt.Sprintf("replica: log start %d", start))
	}
	m.logStart = start
	m.logEnd = max(m.logEnd, start)
	m.hw = max(m.hw, start)
	m.releaseWaits()
}

// Tick passes the time: on a leader, followers in the ISR that have not
// caught up within LagTimeMax are proposed for removal (Kafka's ISR
// expiration task, which the engine may run every LagTimeMax/2).
func (m *Machine) Tick(now time.Time) {
	m.observe(now)
	if m.role != Leader {
		return
	}
	m.maybeShrinkISR()
	m.maybeAdvanceHW()
}
