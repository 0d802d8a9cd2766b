package controller

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore/metalog"
)

// Heartbeat is a BrokerHeartbeat request (API 63, KIP-631).
type Heartbeat struct {
	BrokerID              int32
	BrokerEpoch           int64
	CurrentMetadataOffset int64
	WantFence             bool
	WantShutDown          bool
}

// HeartbeatReply is what the broker is told.
type HeartbeatReply struct {
	IsCaughtUp           bool // it has applied its own registration
	IsFenced             bool
	InControlledShutdown bool
	ShouldShutDown       bool
}

// HeartbeatPlan is an accepted heartbeat: the records of the state change
// it causes (none when the state stays), the reply, and the broker's
// session once they are committed.
type HeartbeatPlan struct {
	Records []metadata.Record
	Reply   HeartbeatReply
	Session Session
}

// brokerState is Kafka's BrokerControlState.
type brokerState int

const (
	stateFenced brokerState = iota
	stateUnfenced
	stateControlledShutdown
	stateShutdownNow
)

// fenced is what a broker in the state is told; fencing it moves its
// leadership off.
func (s brokerState) fenced() bool { return s == stateFenced || s == stateShutdownNow }

// PlanHeartbeat decides a heartbeat as Kafka's ReplicationControlManager
// and BrokerHeartbeatManager do. A broker that is not registered, or not
// with that epoch, gets STALE_BROKER_EPOCH. Then the next state:
//   - fenced: it asks to shut down: shut down now; it does not ask to be
//     fenced and has applied its registration: unfenced (the
//     BrokerRegistrationChangeRecord, and leadership of the partitions
//     left without a leader whose ISR holds it); else fenced;
//   - unfenced: it asks to be fenced: fenced, or shut down now if it also
//     asks to shut down; it asks to shut down: controlled shutdown when it
//     leads partitions (the change record, then it leaves every ISR and
//     its partitions get new leaders), else shut down now;
//   - controlled shutdown: it shuts down once it leads nothing and every
//     active broker has applied the change that began it.
//
// Fencing (shut down now included) removes it from every ISR and moves its
// leadership (leaderChanges), then records the fencing. nextOffset is the
// offset the first record will get (the controlled-shutdown offset is the
// batch's last); now is the heartbeat's time.
func PlanHeartbeat(im *metadata.Image, broker *config.Config, s *Sessions, hb Heartbeat, nextOffset int64,
	now time.Time) (*HeartbeatPlan, *Refusal) {
	b, ok := im.Broker(hb.BrokerID)
	if !ok {
		return nil, Refuse(kerr.StaleBrokerEpoch, "Receive a heartbeat from broker %d before registration", hb.BrokerID)
	}
	if b.Epoch != hb.BrokerEpoch {
		return nil, Refuse(kerr.StaleBrokerEpoch, "Expected broker epoch %d, but got broker epoch %d",
			b.Epoch, hb.BrokerEpoch)
	}
	session, ok := s.Get(hb.BrokerID)
	if !ok {
		session = Session{MetadataOffset: -1, RegisteredOffset: b.Epoch, ShutdownOffset: -1}
	}
	cur := stateUnfenced
	switch {
	case session.ShutdownOffset >= 0:
		cur = stateControlledShutdown
	case b.Fenced:
		cur = stateFenced
	}
	next := nextState(im, s, b, cur, session, hb)
	var recs []metadata.Record
	if next != cur {
		switch next {
		case stateFenced, stateShutdownNow:
			recs = fenceRecords(im, broker, b)
		case stateUnfenced:
			recs = append(recs, metadata.BrokerRegistrationChangeRecord{BrokerID: b.NodeID, BrokerEpoch: b.Epoch,
				Fenced: metalog.UnfenceChange})
			recs = append(recs, leaderChanges(im, broker, noBroker, b.NodeID,
				func(p *metadata.Partition) bool { return p.Leader == noBroker })...)
		case stateControlledShutdown:
			if !b.InControlledShutdown {
				recs = append(recs, metadata.BrokerRegistrationChangeRecord{BrokerID: b.NodeID,
					BrokerEpoch: b.Epoch, InControlledShutdown: metalog.ControlledShutdownIn})
			}
			recs = append(recs, leaderChanges(im, broker, b.NodeID, noBroker, inISR(b.NodeID))...)
		}
	}
	session.LastContact, session.MetadataOffset = now, hb.CurrentMetadataOffset
	switch {
	case next.fenced():
		session.ShutdownOffset = -1
	case next == stateControlledShutdown && session.ShutdownOffset < 0:
		session.ShutdownOffset = nextOffset + int64(len(recs)) - 1
	}
	return &HeartbeatPlan{Records: recs, Session: session, Reply: HeartbeatReply{
		IsCaughtUp:           hb.CurrentMetadataOffset >= session.RegisteredOffset,
		IsFenced:             next.fenced(),
		InControlledShutdown: next == stateControlledShutdown,
		ShouldShutDown:       next == stateShutdownNow,
	}}, nil
}

// nextState is Kafka's BrokerHeartbeatManager.calculateNextBrokerState.
func nextState(im *metadata.Image, s *Sessions, b *metadata.Broker, cur brokerState, session Session,
	hb Heartbeat) brokerState {
	switch cur {
	case stateFenced:
		switch {
		case hb.WantShutDown:
			return stateShutdownNow
		case !hb.WantFence && hb.CurrentMetadataOffset >= session.RegisteredOffset:
			return stateUnfenced
		}
		return stateFenced
	case stateUnfenced:
		switch {
		case hb.WantFence && hb.WantShutDown:
			return stateShutdownNow
		case hb.WantFence:
			return stateFenced
		case hb.WantShutDown && leads(im, b.NodeID):
			return stateControlledShutdown
		case hb.WantShutDown:
			return stateShutdownNow
		}
		return stateUnfenced
	case stateControlledShutdown:
		if leads(im, b.NodeID) {
			return stateControlledShutdown
		}
		if session.ShutdownOffset <= s.lowestActiveOffset(im) {
			return stateShutdownNow
		}
		return stateControlledShutdown
	}
	return stateShutdownNow
}

// fenceRecords are Kafka's handleBrokerFenced: b leaves every ISR and its
// leadership moves, then the fencing is recorded.
func fenceRecords(im *metadata.Image, broker *config.Config, b *metadata.Broker) []metadata.Record {
	recs := leaderChanges(im, broker, b.NodeID, noBroker, inISR(b.NodeID))
	return append(recs, metadata.BrokerRegistrationChangeRecord{BrokerID: b.NodeID, BrokerEpoch: b.Epoch,
		Fenced: metalog.FenceChange})
}

// leads says whether broker id leads a partition of im.
func leads(im *metadata.Image, id int32) bool {
	for _, t := range im.Topics() {
		for i := range t.Partitions {
			if t.Partitions[i].Leader == id {
				return true
			}
		}
	}
	return false
}

func inISR(id int32) func(p *metadata.Partition) bool {
	return func(p *metadata.Partition) bool {
		for _, r := range p.ISR {
			if r == id {
				return true
			}
		}
		return false
	}
}

// Expiry is a broker whose session expired, and the records that fence it.
type Expiry struct {
	BrokerID int32
	Records  []metadata.Record
	Session  Session // its session once fenced
}

// PlanSessionExpiry is Kafka's maybeFenceOneStaleBroker: of the unfenced
// brokers (controlled shutdown included), the one heard from least
// recently, if its session is older than the timeout at now, is fenced
// (fenceRecords). One at a time, so that each fencing is applied before
// the next is planned; nil when none has expired. A broker without a
// session (never heard from since this controller became active) is not
// fenced: Load gives every broker one.
func PlanSessionExpiry(im *metadata.Image, broker *config.Config, s *Sessions, now time.Time) *Expiry {
	var stale *metadata.Broker
	var oldest time.Time
	for i := range im.Brokers() {
		b := &im.Brokers()[i]
		v, ok := s.Get(b.NodeID)
		if b.Fenced || !ok {
			continue
		}
		if stale == nil || v.LastContact.Before(oldest) {
			stale, oldest = b, v.LastContact
		}
	}
	if stale == nil || s.valid(stale, now) {
		return nil
	}
	v, _ := s.Get(stale.NodeID)
	v.ShutdownOffset = -1
	return &Expiry{BrokerID: stale.NodeID, Records: fenceRecords(im, broker, stale), Session: v}
}
