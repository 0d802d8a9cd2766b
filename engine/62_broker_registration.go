package engine

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore/metalog"
)

// BrokerRegistration: v0-4
//
// Behavior:
// * Served on controller listeners only (the spec's "listeners":
//   ["controller"]); on a broker listener the connection is closed, as
//   Kafka's SocketServer closes it for an API the listener does not
//   enable. ApiVersions lists it only on controller listeners.
// * Decided by controller.PlanRegistration, as Kafka's
//   ClusterControlManager.registerBroker: INCONSISTENT_CLUSTER_ID,
//   DUPLICATE_BROKER_REGISTRATION (the id's other incarnation still has a
//   live session), BROKER_ID_NOT_REGISTERED (a ZooKeeper broker in
//   migration), UNSUPPORTED_VERSION (a finalized feature level out of the
//   broker's range). The response has no message field.
// * An accepted registration is committed to the metadata log (its
//   RegisterBrokerRecord, on a control-plane goroutine) and answered
//   with the broker epoch: the record's offset for a new incarnation,
//   unchanged for the same one. A new broker is fenced until its
//   heartbeat finds it caught up; a fenced broker is in no Metadata
//   response and leads nothing.
// * A log that cannot be written: KAFKA_STORAGE_ERROR; once closing,
//   NOT_CONTROLLER.
//
// Version notes:
// * v1: IsMigratingZkBroker
// * v2: LogDirs
// * v3: PreviousBrokerEpoch
// * v4: features at level 0 are sent too

func init() {
	register(api{key: 62, min: 0, max: 4, handle: handleBrokerRegistration, only: controllerListener})
}

func handleBrokerRegistration(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.BrokerRegistrationRequest)
	go func() { r.respond(b.registerBroker(req, time.Now())) }()
	return nil, nil
}

func (b *Broker) registerBroker(req *kmsg.BrokerRegistrationRequest, now time.Time) *kmsg.BrokerRegistrationResponse {
	resp := req.ResponseKind().(*kmsg.BrokerRegistrationResponse)
	reg := controller.Registration{BrokerID: req.BrokerID, ClusterID: req.ClusterID, IncarnationID: req.IncarnationID,
		Rack: req.Rack, IsMigratingZkBroker: req.IsMigratingZkBroker, PreviousBrokerEpoch: req.PreviousBrokerEpoch}
	for _, l := range req.Listeners {
		reg.Listeners = append(reg.Listeners, metadata.BrokerEndpoint{Name: l.Name, Host: l.Host, Port: l.Port,
			SecurityProtocol: l.SecurityProtocol})
	}
	for _, f := range req.Features {
		reg.Features = append(reg.Features, metadata.BrokerFeature{Name: f.Name,
			MinSupportedVersion: f.MinSupportedVersion, MaxSupportedVersion: f.MaxSupportedVersion})
	}
	for _, d := range req.LogDirs {
		reg.LogDirs = append(reg.LogDirs, metalog.UUID(d))
	}
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	if b.ctl.proposer == nil {
		resp.ErrorCode = kerrNotController.Code
		return resp
	}
	plan, refused := controller.PlanRegistration(b.ctlImage(), b.ctl.sessions, reg, b.ctl.proposer.NextOffset(), now)
	if refused == nil {
		im, err := b.commitLocked(plan.Records)
		if err != nil {
			refused = b.commitErr(err)
		} else {
			b.ctl.sessions.Set(req.BrokerID, plan.Session)
			b.publishLocked(im)
			b.log.Info("registered a broker", "broker", req.BrokerID, "epoch", plan.Epoch,
				"incarnation", UUID(req.IncarnationID).String())
		}
	}
	if refused != nil {
		resp.ErrorCode = refused.Code
		return resp
	}
	resp.BrokerEpoch = plan.Epoch
	return resp
}

// kerrNotController answers controller requests before the controller is
// open.
var kerrNotController = kerr.NotController
