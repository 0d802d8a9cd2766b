package engine

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/weirmq/weir/engine/controller"
	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore/metalog"
)

// Broker registration and fencing (KIP-631) on this node.
//
// The local controller is active from Open on: it starts a session for
// every broker the metadata log names (controller.Sessions.Load), except
// this node's previous incarnation, which cannot still run (this process
// holds its log dirs' locks). Then this node registers itself the way a
// Kafka broker does, through the same planning functions a
// BrokerRegistration request goes through: a RegisterBrokerRecord with a
// new incarnation id and epoch (the record's offset), fenced; then a
// heartbeat that finds it caught up unfences it and gives it the
// partitions left without a leader. Its endpoints are its advertised
// broker listeners (not the controller listeners, as in Kafka); Start
// amends the registration with the ports actually bound when they differ
// (port 0). Old metadata logs, which hold no broker records, open as
// they are: the registration is the first.
//
// A ticker (lifeTicker: every broker.heartbeat.interval.ms, at least four
// times per broker.session.timeout.ms) sends this node's own heartbeat
// in-process, which keeps its session alive and would unfence it, then
// fences the brokers whose sessions expired (controller.PlanSessionExpiry),
// one change each. This node is never fenced for missing its own
// heartbeats: the controller and the broker are one process, alive
// together. Other brokers register and heartbeat with API 62 and 63 on
// a controller listener.

// brokerFeatures are the feature ranges this broker supports: the
// metadata.version it writes and reads, and the static quorum's
// kraft.version 0.
var brokerFeatures = []metadata.BrokerFeature{
	{Name: metalog.MetadataVersionFeature, MinSupportedVersion: metalog.MetadataVersion,
		MaxSupportedVersion: metalog.MetadataVersion},
	{Name: "kraft.version", MinSupportedVersion: 0, MaxSupportedVersion: 0},
}

// securityProtocolIDs are Kafka's SecurityProtocol ids.
var securityProtocolIDs = map[string]int16{"PLAINTEXT": 0, "SSL": 1, "SASL_PLAINTEXT": 2, "SASL_SSL": 3}

// advertisedSelf is this node's advertised endpoints by listener (broker
// and controller listeners), with the ports in bound for listeners
// configured with port 0, and the host name for an empty host.
func (b *Broker) advertisedSelf(bound map[string]int) map[string]metadata.Endpoint {
	out := map[string]metadata.Endpoint{}
	for _, a := range b.cfg.Advertised {
		host, port := a.Host, a.Port
		if host == "" {
			// Kafka advertises the canonical host name for an empty host.
			host, _ = os.Hostname()
		}
		if port == 0 {
			port = bound[a.Name]
		}
		out[a.Name] = metadata.Endpoint{Host: host, Port: int32(port), SecurityProtocol: securityProtocolIDs[a.Protocol]}
	}
	return out
}

// selfRegistration is this node's BrokerRegistration: its broker
// listeners (advertised, controller listeners left out), features, rack.
func (b *Broker) selfRegistration(endpoints map[string]metadata.Endpoint) controller.Registration {
	req := controller.Registration{BrokerID: b.nodeID, ClusterID: b.clusterID, IncarnationID: b.incarnation,
		Features: brokerFeatures, Rack: b.cfg.Rack, PreviousBrokerEpoch: -1}
	for _, a := range b.cfg.Advertised {
		if slices.Contains(b.cfg.ControllerListeners, a.Name) {
			continue
		}
		e := endpoints[a.Name]
		req.Listeners = append(req.Listeners, metadata.BrokerEndpoint{Name: a.Name, Host: e.Host,
			Port: uint16(e.Port), SecurityProtocol: e.SecurityProtocol})
	}
	return req
}

// registerSelfLocked registers this node (or amends its registration
// with endpoints that changed), then heartbeats once so that it is
// unfenced, and publishes the image. b.ctl.mu must be held.
func (b *Broker) registerSelfLocked(endpoints map[string]metadata.Endpoint) error {
	im := b.image.Load()
	req := b.selfRegistration(endpoints)
	if cur, ok := im.Broker(b.nodeID); ok && cur.IncarnationID == b.incarnation && sameEndpoints(cur, req) {
		return nil
	}
	plan, refused := controller.PlanRegistration(im, b.ctl.sessions, req, b.ctl.proposer.NextOffset(), time.Now())
	if refused != nil {
		return fmt.Errorf("registering this broker: %s", refused.Message())
	}
	im, err := b.commitLocked(plan.Records)
	if err != nil {
		return fmt.Errorf("registering this broker: %w", err)
	}
	b.ctl.sessions.Set(b.nodeID, plan.Session)
	b.publishLocked(im)
	return b.heartbeatSelfLocked(time.Now())
}

func sameEndpoints(cur *metadata.Broker, req controller.Registration) bool {
	if len(cur.Endpoints) != len(req.Listeners) {
		return false
	}
	for _, l := range req.Listeners {
		if e, ok := cur.Endpoints[l.Name]; !ok || e.Host != l.Host || e.Port != int32(l.Port) {
			return false
		}
	}
	return true
}

// heartbeatSelfLocked is this node's own heartbeat, in-process: it has
// applied everything committed, wants neither fencing nor shutdown. Its
// records (an unfencing, with leadership of leaderless partitions) are
// committed and published. b.ctl.mu must be held.
func (b *Broker) heartbeatSelfLocked(now time.Time) error {
	im := b.image.Load()
	self, ok := im.Broker(b.nodeID)
	if !ok {
		return nil
	}
	next := b.ctl.proposer.NextOffset()
	hb := controller.Heartbeat{BrokerID: b.nodeID, BrokerEpoch: self.Epoch, CurrentMetadataOffset: next - 1}
	plan, refused := controller.PlanHeartbeat(im, b.effective.Load(), b.ctl.sessions, hb, next, now)
	if refused != nil {
		return fmt.Errorf("this broker's heartbeat: %s", refused.Message())
	}
	if len(plan.Records) > 0 {
		im, err := b.commitLocked(plan.Records)
		if err != nil {
			return fmt.Errorf("this broker's heartbeat: %w", err)
		}
		b.publishLocked(im)
	}
	b.ctl.sessions.Set(b.nodeID, plan.Session)
	return nil
}

// fenceExpiredLocked fences every broker whose session expired, one change
// each. b.ctl.mu must be held.
func (b *Broker) fenceExpiredLocked(now time.Time) error {
	for {
		im := b.ctlImage()
		e := controller.PlanSessionExpiry(im, b.effective.Load(), b.ctl.sessions, now)
		if e == nil {
			return nil
		}
		im, err := b.commitLocked(e.Records)
		if err != nil {
			return fmt.Errorf("fencing broker %d: %w", e.BrokerID, err)
		}
		b.ctl.sessions.Set(e.BrokerID, e.Session)
		b.publishLocked(im)
		b.log.Info("fenced a broker whose session expired", "broker", e.BrokerID,
			"session_timeout", b.ctl.sessions.Timeout(), "partition_changes", len(e.Records)-1)
	}
}

// lifeTick is the ticker's period: broker.heartbeat.interval.ms, at least
// four times per session timeout, and not under 10 ms.
func (b *Broker) lifeTick() time.Duration {
	hb := time.Duration(b.opts.Config.Int("broker.heartbeat.interval.ms")) * time.Millisecond
	return max(min(hb, b.ctl.sessions.Timeout()/4), 10*time.Millisecond)
}

// startLife starts the ticker of this node's heartbeat and of session
// expiry; stopLife stops it and waits.
func (b *Broker) startLife() {
	if b.life.stop != nil {
		return
	}
	b.life.stop, b.life.done = make(chan struct{}), make(chan struct{})
	t := time.NewTicker(b.lifeTick())
	go func() {
		defer close(b.life.done)
		defer t.Stop()
		for {
			select {
			case <-b.life.stop:
				return
			case now := <-t.C:
				b.lifeTickOnce(now)
			}
		}
	}()
}

func (b *Broker) lifeTickOnce(now time.Time) {
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	if b.ctl.proposer == nil {
		return
	}
	err := b.heartbeatSelfLocked(now)
	if err == nil {
		err = b.fenceExpiredLocked(now)
	}
	if err != nil {
		b.errs.Error("cannot keep broker sessions", "err", err)
	}
}

func (b *Broker) stopLife() {
	if b.life.stop == nil {
		return
	}
	close(b.life.stop)
	<-b.life.done
	b.life.stop = nil
}
