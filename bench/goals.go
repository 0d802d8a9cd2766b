package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Goal is one performance target of the issue, measured within one compare
// run (medians over its rounds) so that every side saw the same host and
// client.
type Goal struct {
	Name     string `json:"name"`
	Target   string `json:"target"` // the broker measured
	Measured string `json:"measured"`
	// Ratio is the figure compared with Want: a ratio, cpu-s/GB or ms.
	Ratio   float64 `json:"ratio"`
	Want    string  `json:"want"`
	Met     bool    `json:"met"`
	Missing string  `json:"missing,omitempty"` // why it could not be evaluated
}

// verdict is the goal's "met" cell in a report: yes, no, or why it could
// not be told.
func (g Goal) verdict() string {
	switch {
	case g.Missing != "":
		return "? " + g.Missing
	case g.Met:
		return "yes"
	}
	return "no"
}

// The targets, as the issue sets them.
const (
	goalProduceCPU     = 0.6  // cpu-s/GB, 1 KiB, acks=1
	goalIdemCPU        = 0.8  // cpu-s/GB, 1 KiB, acks=all idempotent
	goalIdemVsAcks1    = 0.9  // MB/s, acks=all idempotent / acks=1, same broker
	goalIdemVsKlite    = 1.5  // MB/s, acks=all idempotent, Weir / klite
	goalConsumeCPU     = 0.3  // cpu-s/GB
	goalE2E20KP50      = 1.5  // ms
	goalE2E20KP99      = 3    // ms
	goalE2E20KP999     = 10   // ms
	goalE2EHalfP99     = 50   // ms, at 50% of the max produce rate
	goalPingPong1      = 1.0  // round trips/s, uring / std, 1 connection
	goalPingPong16     = 1.2  // round trips/s, uring / std, 16 connections
	goalLz4CPUVsKfake  = 0.33 // cpu-s/GB, 100 B lz4 produce, Weir / kfake
	kliteName          = "klite"
	uringName, stdName = "weir-uring", "weir-std"
)

// newGoal is a goal that wants a figure op ("<", "<=", ">=") limit, in
// unit ("x" for a ratio).
func newGoal(name, target, op string, limit float64, unit string) goalCheck {
	l := strconv.FormatFloat(limit, 'f', -1, 64)
	if unit == "x" && limit == float64(int64(limit)) {
		l = strconv.FormatFloat(limit, 'f', 1, 64) // 1.0x
	}
	want := op + " " + l
	if unit == "x" {
		want += unit
	} else if unit != "" {
		want += " " + unit
	}
	return goalCheck{Goal{Name: name, Target: target, Want: want}, op, limit}
}

type goalCheck struct {
	Goal
	op    string
	limit float64
}

// measured sets the figure and tells whether it meets the limit.
func (g goalCheck) measured(v float64, measured string) Goal {
	g.Ratio, g.Measured = v, measured
	switch g.op {
	case "<":
		g.Met = v < g.limit
	case "<=":
		g.Met = v <= g.limit
	case ">=":
		g.Met = v >= g.limit
	}
	return g.Goal
}

// missing says why the goal could not be evaluated.
func (g goalCheck) missing(why string) Goal {
	g.Missing = why
	return g.Goal
}

// cpu is a goal on a run's broker cpu-s/GB.
func (g goalCheck) cpu(r *Result) Goal {
	if r.BrokerCPUPerGB < 0 {
		return g.missing("broker CPU unknown")
	}
	return g.measured(r.BrokerCPUPerGB, fmt.Sprintf("%.2f cpu-s/GB at %.0f MB/s", r.BrokerCPUPerGB, r.MBPerSec))
}

// weirTargets are the run's Weir brokers, by their names.
func weirTargets(targets []string) []string {
	var weirs []string
	for _, t := range targets {
		if strings.HasPrefix(t, "weir-") {
			weirs = append(weirs, t)
		}
	}
	return weirs
}

// medians is scenario's figures on target, each the median of the run's
// rounds on its own: a round's slow tail or dear CPU counts as one round
// of three, whichever round had the median MB/s. Labels and the rest come
// from the first round; nil when there is none.
func (c *Comparison) medians(scenario, target string) *Result {
	var rs []*Result
	for _, r := range c.Results {
		if r.Scenario == scenario && r.Target == target {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return nil
	}
	// A figure some round lacks (its broker's CPU unknown, no latency
	// recorded) is -1: unknown, not the median of the rest.
	med := func(figure func(*Result) (float64, bool)) float64 {
		var vs []float64
		for _, r := range rs {
			v, ok := figure(r)
			if !ok {
				return -1
			}
			vs = append(vs, v)
		}
		slices.Sort(vs)
		return vs[(len(vs)-1)/2]
	}
	m := *rs[0]
	m.MBPerSec = med(func(r *Result) (float64, bool) { return r.MBPerSec, true })
	m.RecordsPerSec = med(func(r *Result) (float64, bool) { return r.RecordsPerSec, true })
	m.TargetRate = med(func(r *Result) (float64, bool) { return r.TargetRate, true })
	m.BrokerCPUPerGB = med(func(r *Result) (float64, bool) { return r.BrokerCPUPerGB, r.BrokerCPUPerGB >= 0 })
	if m.E2E != nil && med(func(r *Result) (float64, bool) { return 0, r.E2E != nil }) == 0 {
		e := *m.E2E
		e.P50 = med(func(r *Result) (float64, bool) { return latency(r.E2E, func(l *Latency) float64 { return l.P50 }) })
		e.P99 = med(func(r *Result) (float64, bool) { return latency(r.E2E, func(l *Latency) float64 { return l.P99 }) })
		e.P999 = med(func(r *Result) (float64, bool) { return latency(r.E2E, func(l *Latency) float64 { return l.P999 }) })
		m.E2E = &e
	} else {
		m.E2E = nil
	}
	return &m
}

// latency is a percentile of l, if l was recorded.
func latency(l *Latency, percentile func(*Latency) float64) (float64, bool) {
	if l == nil {
		return 0, false
	}
	return percentile(l), true
}

// evaluateGoals checks each Weir target of the run against the issue's
// targets, every one the run measured, each figure the median of the
// rounds (medians). A goal against klite is listed as not evaluated when
// no peer is named klite.
func evaluateGoals(c *Comparison) []Goal {
	var goals []Goal
	add := func(g Goal) { goals = append(goals, g) }
	for _, w := range weirTargets(c.Targets) {
		acks1, idem := c.medians(scProduce1K, w), c.medians(scProduce1KIdem, w)
		if acks1 != nil {
			add(newGoal("produce 1 KiB, acks=1: broker cpu-s/GB", w, "<=", goalProduceCPU, "").cpu(acks1))
		}
		if idem != nil {
			add(newGoal("produce 1 KiB, acks=all idempotent: broker cpu-s/GB", w, "<=", goalIdemCPU, "").cpu(idem))
		}
		if idem != nil && acks1 != nil && acks1.MBPerSec > 0 {
			add(newGoal("produce 1 KiB: acks=all idempotent MB/s ÷ acks=1 MB/s (same broker)", w, ">=",
				goalIdemVsAcks1, "x").measured(idem.MBPerSec/acks1.MBPerSec,
				fmt.Sprintf("%.0f vs %.0f MB/s", idem.MBPerSec, acks1.MBPerSec)))
		}
		if idem != nil {
			g := newGoal("produce 1 KiB, acks=all idempotent: Weir MB/s ÷ klite MB/s", w, ">=", goalIdemVsKlite, "x")
			k := c.medians(scProduce1KIdem, kliteName)
			switch {
			case !slices.Contains(c.Targets, kliteName):
				add(g.missing("no klite peer"))
			case k == nil || k.MBPerSec <= 0:
				add(g.missing("no klite run"))
			default:
				add(g.measured(idem.MBPerSec/k.MBPerSec, fmt.Sprintf("%.0f vs %.0f MB/s", idem.MBPerSec, k.MBPerSec)))
			}
		}
		if r := c.medians(scConsume1K, w); r != nil {
			add(newGoal("consume 1 KiB: broker cpu-s/GB", w, "<=", goalConsumeCPU, "").cpu(r))
		}
		if r := c.medians(scE2E20K, w); r != nil {
			name := "e2e 1 KiB at 20,000 rec/s, acks=all idempotent, linger 1 ms: "
			if r.E2E == nil {
				add(newGoal(name+"p50", w, "<", goalE2E20KP50, "ms").missing("no latency recorded"))
			} else {
				at := fmt.Sprintf(" at %s rec/s", count(r.RecordsPerSec))
				add(newGoal(name+"p50", w, "<", goalE2E20KP50, "ms").measured(r.E2E.P50, ms(r.E2E.P50)+" ms"+at))
				add(newGoal(name+"p99", w, "<", goalE2E20KP99, "ms").measured(r.E2E.P99, ms(r.E2E.P99)+" ms"+at))
				add(newGoal(name+"p99.9", w, "<", goalE2E20KP999, "ms").measured(r.E2E.P999, ms(r.E2E.P999)+" ms"+at))
			}
		}
		if r := c.medians(scE2E, w); r != nil {
			g := newGoal("e2e 1 KiB at 50% of max produce rate, acks=1, linger 1 ms: p99", w, "<", goalE2EHalfP99, "ms")
			if r.E2E == nil {
				add(g.missing("no latency recorded"))
			} else {
				add(g.measured(r.E2E.P99, fmt.Sprintf("%s ms at %s rec/s", ms(r.E2E.P99), count(r.TargetRate))))
			}
		}
		r, k := c.medians(scProduce100, w), c.medians(scProduce100, "kfake")
		if r != nil && k != nil {
			g := newGoal("produce 100 B lz4: Weir broker cpu-s/GB ÷ kfake broker cpu-s/GB", w, "<=", goalLz4CPUVsKfake, "x")
			if r.BrokerCPUPerGB >= 0 && k.BrokerCPUPerGB > 0 {
				add(g.measured(r.BrokerCPUPerGB/k.BrokerCPUPerGB,
					fmt.Sprintf("%.2f vs %.2f cpu-s/GB", r.BrokerCPUPerGB, k.BrokerCPUPerGB)))
			} else {
				add(g.missing("broker CPU unknown"))
			}
		}
	}
	u, s := c.medians(scConsume1K, uringName), c.medians(scConsume1K, stdName)
	if u != nil && s != nil {
		g := newGoal("consume 1 KiB: broker cpu-s/GB, uring ÷ std", uringName, "<=", 1, "x")
		if u.BrokerCPUPerGB >= 0 && s.BrokerCPUPerGB > 0 {
			add(g.measured(u.BrokerCPUPerGB/s.BrokerCPUPerGB,
				fmt.Sprintf("%.2f vs %.2f cpu-s/GB", u.BrokerCPUPerGB, s.BrokerCPUPerGB)))
		} else {
			add(g.missing("broker CPU unknown"))
		}
	}
	for _, pp := range []struct {
		scenario string
		want     float64
	}{{scPingPong1, goalPingPong1}, {scPingPong16, goalPingPong16}} {
		u, s := c.medians(pp.scenario, uringName), c.medians(pp.scenario, stdName)
		if u != nil && s != nil && s.RecordsPerSec > 0 {
			add(newGoal(pp.scenario+": round trips/s, uring ÷ std", uringName, ">=", pp.want, "x").measured(
				u.RecordsPerSec/s.RecordsPerSec, fmt.Sprintf("%s vs %s /s", count(u.RecordsPerSec), count(s.RecordsPerSec))))
		}
	}
	return goals
}

// HostRatio is a figure set against the host's loopback TCP or against
// another broker's, kept for information: the client and the brokers share
// the host's cores, so such a ratio tells as much about the host as about
// the broker.
type HostRatio struct {
	Name     string  `json:"name"`
	Target   string  `json:"target"`
	Measured string  `json:"measured"`
	Ratio    float64 `json:"ratio"`
}

// hostRatios are the run's information ratios: throughput against
// loopback TCP, uring against std, Weir against kfake.
func hostRatios(c *Comparison) []HostRatio {
	var ratios []HostRatio
	ratio := func(name, target string, a, b float64, unit string) {
		if b > 0 {
			ratios = append(ratios, HostRatio{Name: name, Target: target, Ratio: a / b,
				Measured: fmt.Sprintf("%s vs %s %s", count(a), count(b), unit)})
		}
	}
	loop := 0.0
	if c.Limits != nil {
		loop = c.Limits.LoopbackTCP
	}
	for _, w := range weirTargets(c.Targets) {
		if r := c.medians(scProduce1K, w); r != nil {
			ratio("produce 1 KiB, acks=1: MB/s ÷ loopback TCP MB/s", w, r.MBPerSec, loop, "MB/s")
		}
		if r := c.medians(scConsume1K, w); r != nil {
			ratio("consume 1 KiB: MB/s ÷ loopback TCP MB/s", w, r.MBPerSec, loop, "MB/s")
		}
		if r, k := c.medians(scProduce100, w), c.medians(scProduce100, "kfake"); r != nil && k != nil {
			ratio("produce 100 B lz4: records/s ÷ kfake's", w, r.RecordsPerSec, k.RecordsPerSec, "rec/s")
		}
	}
	for _, sc := range []string{scProduce1K, scProduce1KIdem, scConsume1K} {
		if u, s := c.medians(sc, uringName), c.medians(sc, stdName); u != nil && s != nil {
			ratio(sc+": MB/s, uring ÷ std", uringName, u.MBPerSec, s.MBPerSec, "MB/s")
		}
	}
	return ratios
}
