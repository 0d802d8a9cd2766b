// Package replica will hold one partition replica's state machine:
// leader/follower role, LEO and high watermark, ISR, leader epochs and
// truncation, and the purgatory for acks=all.
//
// Like etcd's raft it does no I/O: the engine feeds it events and carries
// out what it decides. It may import logstore's types and nothing above.
//
// Not built yet: the replication issue delivers it.
package replica
