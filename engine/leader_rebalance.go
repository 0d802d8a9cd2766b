package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/weirmq/weir/engine/controller"
)

// The automatic preferred-leader rebalance (Kafka's
// auto.leader.rebalance.enable, on by default): with it on, a ticker
// started by Start runs every leader.imbalance.check.interval.seconds
// (300) and, under the control plane's mutex, gives partitions back to
// their preferred leaders for the brokers whose leader imbalance is above
// leader.imbalance.per.broker.percentage (controller.PlanLeaderRebalance),
// so that leadership that moved away while a broker was fenced or
// shutting down comes back once it is in the ISR again. The three keys
// are read-only in Kafka and read at Start here.

// rebalanceLeadersLocked plans and commits the rebalance, one change of up
// to controller.MaxElectionsPerRebalance elections at a time, until
// nothing is left to move, and publishes each. b.ctl.mu must be held.
func (b *Broker) rebalanceLeadersLocked() error {
	for {
		recs := controller.PlanLeaderRebalance(b.ctlImage(), b.effective.Load(),
			controller.MaxElectionsPerRebalance)
		if len(recs) == 0 {
			return nil
		}
		im, err := b.commitLocked(recs)
		if err != nil {
			return fmt.Errorf("rebalancing leaders: %w", err)
		}
		b.publishLocked(im)
		b.log.Info("moved leadership back to preferred replicas", "partitions", len(recs))
	}
}

// startLeaderRebalance starts the rebalance ticker when
// auto.leader.rebalance.enable is on; stopLeaderRebalance stops it and
// waits for a rebalance in progress.
func (b *Broker) startLeaderRebalance() {
	c := b.opts.Config
	if !c.Bool("auto.leader.rebalance.enable") || b.rebalance.stop != nil {
		return
	}
	b.rebalance.stop, b.rebalance.done = make(chan struct{}), make(chan struct{})
	t := time.NewTicker(time.Duration(c.Long("leader.imbalance.check.interval.seconds")) * time.Second)
	go func() {
		defer close(b.rebalance.done)
		defer t.Stop()
		for {
			select {
			case <-b.rebalance.stop:
				return
			case <-t.C:
				b.rebalanceTick()
			}
		}
	}()
}

func (b *Broker) rebalanceTick() {
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	if b.ctl.proposer == nil {
		return
	}
	// Only the active controller rebalances: on a quorum follower the
	// proposal is refused, and that is no error.
	var notController *controller.NotControllerError
	if err := b.rebalanceLeadersLocked(); err != nil && !errors.As(err, &notController) {
		b.errs.Error("cannot rebalance partition leaders", "err", err)
	}
}

func (b *Broker) stopLeaderRebalance() {
	if b.rebalance.stop == nil {
		return
	}
	close(b.rebalance.stop)
	<-b.rebalance.done
	b.rebalance.stop = nil
}
