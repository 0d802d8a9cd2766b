package engine

import (
	"unicode/utf16"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FindCoordinator: v0-v6
//
// Behavior:
// * Group keys (type 0): the coordinator of group G is the leader of
//   __consumer_offsets partition abs(Java String.hashCode(G)) mod the
//   topic's partition count, as Kafka places it. The topic is created on
//   first use with offsets.topic.num.partitions (50), cleanup.policy
//   compact and offsets.topic.replication.factor, capped at the brokers
//   registered with a warning naming the key (Kafka's default 3 would
//   leave one node without coordinators; Redpanda caps it the same way);
//   while it cannot be created, the answer is COORDINATOR_NOT_AVAILABLE.
// * Transaction keys (type 1): transactions are not served yet:
//   COORDINATOR_NOT_AVAILABLE.
// * v4+: several keys per request, one answer each.
// * The coordinator's address is its endpoint on the listener the request
//   came in on.

func init() { register(api{key: 10, min: 0, max: 6, handle: handleFindCoordinator}) }

const offsetsTopic = "__consumer_offsets"

func handleFindCoordinator(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.FindCoordinatorRequest)
	keys := req.CoordinatorKeys
	if req.Version < 4 {
		keys = []string{req.CoordinatorKey}
	}
	answer := func() {
		resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
		for _, key := range keys {
			c := b.coordinatorFor(r, req.CoordinatorType, key)
			if req.Version < 4 {
				resp.ErrorCode, resp.NodeID, resp.Host, resp.Port = c.ErrorCode, c.NodeID, c.Host, c.Port
				if req.Version >= 1 {
					resp.ErrorMessage = c.ErrorMessage
				}
				break
			}
			resp.Coordinators = append(resp.Coordinators, c)
		}
		r.respond(resp)
	}
	if _, ok := b.image.Load().Topic(offsetsTopic); ok || req.CoordinatorType != 0 {
		answer()
		return nil, nil
	}
	// Creating the offsets topic writes and syncs metadata: off the shard.
	go func() {
		b.autoCreate([]string{offsetsTopic})
		answer()
	}()
	return nil, nil
}

// coordinatorFor answers one key.
func (b *Broker) coordinatorFor(r *request, keyType int8, key string) kmsg.FindCoordinatorResponseCoordinator {
	c := kmsg.NewFindCoordinatorResponseCoordinator()
	c.Key, c.NodeID, c.Port = key, -1, -1
	fail := func(e *kerr.Error) kmsg.FindCoordinatorResponseCoordinator {
		c.ErrorCode = e.Code
		msg := e.Message
		c.ErrorMessage = &msg
		return c
	}
	if keyType != 0 {
		return fail(kerr.CoordinatorNotAvailable)
	}
	im := b.image.Load()
	t, ok := im.Topic(offsetsTopic)
	if !ok || len(t.Partitions) == 0 {
		return fail(kerr.CoordinatorNotAvailable)
	}
	leader := t.Partitions[groupPartition(key, len(t.Partitions))].Leader
	for _, br := range im.Brokers() {
		if ep, ok := br.Endpoints[r.listener]; ok && br.NodeID == leader {
			c.NodeID, c.Host, c.Port = br.NodeID, ep.Host, ep.Port
			return c
		}
	}
	return fail(kerr.CoordinatorNotAvailable)
}

// groupPartition is the __consumer_offsets partition of a group:
// abs(Java String.hashCode(group)) mod n, with Kafka's abs (MinInt32 -> 0).
func groupPartition(group string, n int) int {
	h := javaHash(group)
	if h == -1<<31 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return int(h % int32(n))
}

// javaHash is Java's String.hashCode: s[0]*31^(n-1) + ... over UTF-16 code
// units, in wrapping 32-bit arithmetic.
func javaHash(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}
