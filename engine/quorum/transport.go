package quorum

import (
	pb "go.etcd.io/raft/v3/raftpb"
)

// Transport carries Raft messages between the quorum's nodes. Open
// attaches the node to it; the node then calls Send from its goroutine
// with the messages of each Ready, after persisting what they depend on.
// Implementations: Network (in memory, for tests, with faults), TCP (a
// length-prefixed stream per peer, or the engine's framing over the
// controller listener: engine/raftnet.go).
type Transport interface {
	// Send queues msgs for the nodes named in their To fields and returns
	// at once: it must not block on a slow or dead peer. A message it
	// cannot deliver is dropped (Raft resends what matters), and it
	// reports the peer unreachable. After sending a MsgSnap, or failing
	// to, it calls ReportSnapshot. msgs and what they hold must not be
	// modified: encode or copy them before Send returns.
	Send(msgs []*pb.Message)
	// Attach names the node that messages addressed to it go to (Step)
	// and that delivery failures of its own messages are reported to.
	Attach(r Receiver)
}

// Receiver is the side of a Node that a transport uses.
type Receiver interface {
	// Step hands the node a message from a peer. It does not block: a
	// node too busy to queue it drops it and returns an error.
	Step(m *pb.Message) error
	// ReportUnreachable says a message to node could not be sent.
	ReportUnreachable(node int32)
	// ReportSnapshot says whether a MsgSnap to node was sent.
	ReportSnapshot(node int32, ok bool)
}

// RaftID is the etcd raft id of Kafka node id node. etcd raft reserves 0
// for "none", and Kafka numbers nodes from 0, so ids are shifted by one;
// everything this package exports speaks Kafka node ids.
func RaftID(node int32) uint64 {
	if node < 0 {
		panic("quorum: negative node id")
	}
	return uint64(node) + 1
}

// NodeID is the Kafka node id of etcd raft id id: raft's "none" (0) is
// Kafka's "no node" (-1).
func NodeID(id uint64) int32 { return int32(id) - 1 }
