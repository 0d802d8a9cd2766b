package bench

import (
	"fmt"
	"strings"
)

// Goal is one performance target of issue 6, measured as a ratio within
// one compare run so that both sides saw the same host and client.
type Goal struct {
	Name     string  `json:"name"`
	Target   string  `json:"target"`
	Measured string  `json:"measured"`
	Ratio    float64 `json:"ratio"`
	Want     string  `json:"want"`
	Met      bool    `json:"met"`
	Missing  string  `json:"missing,omitempty"` // why it could not be evaluated
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

// evaluateGoals checks each Weir target of the run against the goals.
func evaluateGoals(c *Comparison) []Goal {
	var goals []Goal
	var weirs []string
	for _, t := range c.Targets {
		if strings.HasPrefix(t, "weir-") {
			weirs = append(weirs, t)
		}
	}
	loop := 0.0
	if c.Limits != nil {
		loop = c.Limits.LoopbackTCP
	}
	for _, w := range weirs {
		if r := c.median(scProduce1K, w); r != nil && loop > 0 {
			ratio := r.MBPerSec / loop
			goals = append(goals, Goal{Name: "produce, 1 MiB batches, acks=1, vs loopback TCP", Target: w,
				Measured: fmt.Sprintf("%.0f MB/s of %.0f MB/s", r.MBPerSec, loop), Ratio: ratio, Want: ">= 0.50",
				Met: ratio >= 0.5})
		}
		if r := c.median(scConsume1K, w); r != nil && loop > 0 {
			ratio := r.MBPerSec / loop
			goals = append(goals, Goal{Name: "consume vs loopback TCP", Target: w,
				Measured: fmt.Sprintf("%.0f MB/s of %.0f MB/s", r.MBPerSec, loop), Ratio: ratio, Want: ">= 0.80",
				Met: ratio >= 0.8})
		}
		r, k := c.median(scProduce100, w), c.median(scProduce100, "kfake")
		if r != nil && k != nil && k.RecordsPerSec > 0 {
			ratio := r.RecordsPerSec / k.RecordsPerSec
			goals = append(goals, Goal{Name: "100 B records, lz4, records/s vs kfake", Target: w,
				Measured: fmt.Sprintf("%s vs %s rec/s", count(r.RecordsPerSec), count(k.RecordsPerSec)), Ratio: ratio,
				Want: ">= 0.90", Met: ratio >= 0.9})
			g := Goal{Name: "100 B records, lz4, broker CPU s/GB vs kfake", Target: w, Want: "<= 0.33"}
			if r.BrokerCPUPerGB >= 0 && k.BrokerCPUPerGB > 0 {
				g.Ratio = r.BrokerCPUPerGB / k.BrokerCPUPerGB
				g.Measured = fmt.Sprintf("%.2f vs %.2f cpu-s/GB", r.BrokerCPUPerGB, k.BrokerCPUPerGB)
				g.Met = g.Ratio <= 1.0/3
			} else {
				g.Missing = "broker CPU unknown"
			}
			goals = append(goals, g)
		}
		if r := c.median(scE2E, w); r != nil && r.E2E != nil {
			goals = append(goals, Goal{Name: "e2e p99 at 50% of max produce rate, acks=1", Target: w,
				Measured: fmt.Sprintf("p99 %s ms at %s rec/s", ms(r.E2E.P99), count(r.TargetRate)), Ratio: r.E2E.P99 / 5,
				Want: "< 5 ms (ratio < 1)", Met: r.E2E.P99 < 5})
		}
	}
	u, s := c.median(scConsume1K, "weir-uring"), c.median(scConsume1K, "weir-std")
	if u != nil && s != nil && s.MBPerSec > 0 {
		ratio := u.MBPerSec / s.MBPerSec
		goals = append(goals, Goal{Name: "uring vs std, consume MB/s", Target: "weir-uring",
			Measured: fmt.Sprintf("%.0f vs %.0f MB/s", u.MBPerSec, s.MBPerSec), Ratio: ratio, Want: ">= 1.20",
			Met: ratio >= 1.2})
	}
	u, s = c.median(scProduce1K, "weir-uring"), c.median(scProduce1K, "weir-std")
	if u != nil && s != nil && s.MBPerSec > 0 {
		ratio := u.MBPerSec / s.MBPerSec
		g := Goal{Name: "uring vs std, produce MB/s (or less CPU/GB)", Target: "weir-uring",
			Measured: fmt.Sprintf("%.0f vs %.0f MB/s", u.MBPerSec, s.MBPerSec), Ratio: ratio,
			Want: ">= 1.00, or >= 0.95 with less cpu-s/GB", Met: ratio >= 1}
		if u.BrokerCPUPerGB >= 0 && s.BrokerCPUPerGB > 0 {
			g.Measured += fmt.Sprintf("; %.2f vs %.2f cpu-s/GB", u.BrokerCPUPerGB, s.BrokerCPUPerGB)
			g.Met = g.Met || (ratio >= 0.95 && u.BrokerCPUPerGB < s.BrokerCPUPerGB)
		}
		goals = append(goals, g)
	}
	return goals
}
