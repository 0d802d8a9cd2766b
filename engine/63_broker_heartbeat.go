package engine

import (
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
)

// BrokerHeartbeat: v0-1
//
// Behavior:
// * Served on controller listeners only, as BrokerRegistration.
// * Decided by controller.PlanHeartbeat, as Kafka's
//   ReplicationControlManager.processBrokerHeartbeat: a broker not
//   registered, or not with that epoch, gets STALE_BROKER_EPOCH; else its
//   session is renewed and its state moves: a fenced broker that has
//   applied its registration (CurrentMetadataOffset at or past its
//   record) and does not want fencing is unfenced and leads the
//   partitions left without a leader; WantFence fences; WantShutDown
//   puts a leader in controlled shutdown (it leaves every ISR, its
//   partitions get new leaders) and answers ShouldShutDown once it leads
//   nothing and every active broker has applied that change.
// * The records of a state change are committed (on a control-plane
//   goroutine) before the answer: IsCaughtUp, IsFenced, ShouldShutDown.
// * A broker not heard from for broker.session.timeout.ms is fenced by
//   this node's controller (brokers.go): it leaves every ISR, its
//   partitions get new leaders from their ISR with the leader epoch
//   bumped, or -1 when no ISR member is left and unclean election is off.
//
// Version notes:
// * v1: OfflineLogDirs (tagged; JBOD, not used before metadata.version
//   3.7-IV2)

func init() {
	register(api{key: 63, min: 0, max: 1, handle: handleBrokerHeartbeat, only: controllerListener})
}

func handleBrokerHeartbeat(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.BrokerHeartbeatRequest)
	go func() { r.respond(b.brokerHeartbeat(req, time.Now())) }()
	return nil, nil
}

func (b *Broker) brokerHeartbeat(req *kmsg.BrokerHeartbeatRequest, now time.Time) *kmsg.BrokerHeartbeatResponse {
	resp := req.ResponseKind().(*kmsg.BrokerHeartbeatResponse)
	hb := controller.Heartbeat{BrokerID: req.BrokerID, BrokerEpoch: req.BrokerEpoch,
		CurrentMetadataOffset: req.CurrentMetadataOffset, WantFence: req.WantFence, WantShutDown: req.WantShutdown}
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	if b.ctl.proposer == nil {
		resp.ErrorCode = kerrNotController.Code
		return resp
	}
	plan, refused := controller.PlanHeartbeat(b.ctlImage(), b.effective.Load(), b.ctl.sessions, hb,
		b.ctl.proposer.NextOffset(), now)
	if refused == nil && len(plan.Records) > 0 {
		im, err := b.commitLocked(plan.Records)
		if err != nil {
			refused = b.commitErr(err)
		} else {
			b.publishLocked(im)
		}
	}
	if refused != nil {
		resp.ErrorCode = refused.Code
		return resp
	}
	b.ctl.sessions.Set(req.BrokerID, plan.Session)
	if len(plan.Records) > 0 {
		b.log.Info("broker state changed by its heartbeat", "broker", req.BrokerID, "fenced", plan.Reply.IsFenced,
			"controlled_shutdown", plan.Reply.InControlledShutdown, "shut_down", plan.Reply.ShouldShutDown)
	}
	resp.IsCaughtUp, resp.IsFenced, resp.ShouldShutdown = plan.Reply.IsCaughtUp, plan.Reply.IsFenced,
		plan.Reply.ShouldShutDown
	return resp
}
