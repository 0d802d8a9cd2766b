package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
)

// AllocateProducerIds: v0
//
// Behavior:
// * Served on controller listeners only (the spec's "listeners":
//   ["controller"]): a cluster's brokers ask the active controller for
//   blocks of producer ids (KIP-730), as Kafka's do.
// * The controller checks the broker's registration and epoch
//   (STALE_BROKER_EPOCH otherwise), commits a ProducerIdsRecord that
//   moves the next free id past a block of 1000, and answers the block.
// * Not the active controller: NOT_CONTROLLER; a log that cannot be
//   written: KAFKA_STORAGE_ERROR.

func init() {
	register(api{key: 67, min: 0, max: 0, handle: handleAllocateProducerIDs, only: controllerListener})
}

func handleAllocateProducerIDs(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.AllocateProducerIDsRequest)
	go func() { r.respond(b.allocateProducerIDsFor(req)) }()
	return nil, nil
}

func (b *Broker) allocateProducerIDsFor(req *kmsg.AllocateProducerIDsRequest) *kmsg.AllocateProducerIDsResponse {
	resp := req.ResponseKind().(*kmsg.AllocateProducerIDsResponse)
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	if b.ctl.proposer == nil {
		resp.ErrorCode = kerrNotController.Code
		return resp
	}
	im := b.ctlImage()
	if br, ok := im.Broker(req.BrokerID); !ok || br.Epoch != req.BrokerEpoch {
		resp.ErrorCode = kerr.StaleBrokerEpoch.Code
		return resp
	}
	start := im.NextProducerID()
	if _, err := b.commitProducerIDsLocked(req.BrokerID, req.BrokerEpoch, start+producerIDBlock); err != nil {
		var nc *controller.NotControllerError
		if errors.As(err, &nc) {
			resp.ErrorCode = kerrNotController.Code
		} else {
			resp.ErrorCode = b.commitErr(err).Code
		}
		return resp
	}
	resp.ProducerIDStart, resp.ProducerIDLen = start, producerIDBlock
	return resp
}

// allocateProducerIDs asks the active controller for a block of producer
// ids, trying for up to the request timeout while the controller
// changes or this broker is not registered yet.
func (b *Broker) allocateProducerIDs() (start, end int64, err error) {
	cl := b.cluster
	deadline := time.Now().Add(b.peerTimeout() * 3)
	for {
		req := kmsg.NewPtrAllocateProducerIDsRequest()
		req.BrokerID, req.BrokerEpoch = b.nodeID, cl.registeredEpoch()
		var resp kmsg.Response
		resp, err = b.askController(req, time.Until(deadline), func() kmsg.Response { return b.allocateProducerIDsFor(req) })
		if err == nil {
			r := resp.(*kmsg.AllocateProducerIDsResponse)
			if r.ErrorCode == 0 {
				return r.ProducerIDStart, r.ProducerIDStart + int64(r.ProducerIDLen), nil
			}
			err = kerr.ErrorForCode(r.ErrorCode) // not registered yet, a new controller: ask again
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("from the controller: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
