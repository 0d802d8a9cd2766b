package engine

import (
	"github.com/weirmq/weir/engine/controller"
)

// alterConfigs plans the alterations (controller.PlanAlterations), then
// commits the valid ones as one change (unless validateOnly) and
// publishes it: changed topic values reach the topics' logs, changed
// broker values every topic that inherits them. It answers per
// alteration, nil for success.
func (b *Broker) alterConfigs(alts []controller.Alteration, validateOnly bool) []*controller.Refusal {
	b.ctl.mu.Lock()
	defer b.ctl.mu.Unlock()
	im := b.ctlImage()
	self := b.nodeID
	if b.cluster != nil {
		// The active controller takes any broker's alterations: each
		// broker forwards its own (clients send a broker's configs to it).
		self = -1
	}
	recs, results, planned := controller.PlanAlterations(im, b.brokerConfigOf(im), self, alts)
	if validateOnly || len(recs) == 0 {
		return results
	}
	next, err := b.commitLocked(recs)
	if err != nil {
		r := b.commitErr(err)
		for _, i := range planned {
			results[i] = r
		}
		return results
	}
	b.publishLocked(next)
	return results
}
