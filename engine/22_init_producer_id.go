package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// InitProducerId: v0-v5
//
// Behavior:
// * Idempotent producers (no transactional id) get a new producer id with
//   epoch 0 on every call, as Kafka does for them (a client that passes its
//   old id and epoch, KIP-360, gets a fresh id too).
// * Transactions are not served yet: a transactional id gets
//   TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
// * Ids are unique across restarts (blocks reserved on disk first).

func init() { register(api{key: 22, min: 0, max: 5, handle: handleInitProducerID}) }

func handleInitProducerID(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil {
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return resp, nil
	}
	if id, ok := b.producerIDs.allocateReserved(); ok {
		resp.ProducerID, resp.ProducerEpoch = id, 0
		return resp, nil
	}
	// A new block is committed through the controller: off the shard
	// loop, which must never wait on the control plane (in a cluster,
	// the quorum's own messages come in through these loops).
	go func() {
		id, err := b.producerIDs.allocate()
		if err != nil {
			b.log.Error("producer id allocation failed", "err", err)
			resp.ErrorCode = kerr.UnknownServerError.Code
		} else {
			resp.ProducerID, resp.ProducerEpoch = id, 0
		}
		r.respond(resp)
	}()
	return nil, nil
}
