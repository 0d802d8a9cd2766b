package quorum

import (
	"os"
	"slices"
	"testing"
	"time"
)

// TestMeasure measures, with the default ticks (100 ms, election 10,
// heartbeat 1) and fsync on, the time from stopping the leader to a new
// leader named by both others (20 elections), and the commit latency of
// sequential changes on 3 nodes, in memory and over TCP. It takes about a
// minute, so it runs only with WEIR_QUORUM_MEASURE=1.
func TestMeasure(t *testing.T) {
	if os.Getenv("WEIR_QUORUM_MEASURE") == "" {
		t.Skip("set WEIR_QUORUM_MEASURE=1 to measure elections and commit latency")
	}
	defaults := func(cfg *Config) {
		cfg.Tick, cfg.ElectionTicks, cfg.HeartbeatTicks = DefaultTick, DefaultElectionTicks, DefaultHeartbeatTicks
	}
	c := newCluster(t, 3, defaults)
	var elections []time.Duration
	for range 20 {
		leader, _ := c.waitLeader(10 * time.Second)
		c.mustPropose(topic(len(elections)))
		c.waitConverged(10 * time.Second)
		var rest []int32
		for _, id := range c.voters {
			if id != leader {
				rest = append(rest, id)
			}
		}
		start := time.Now()
		c.stop(leader)
		waitLeaderWithin(t, c, rest, 10*time.Second)
		elections = append(elections, time.Since(start))
		c.start(leader)
	}
	t.Logf("election after the leader stops, 20 runs: %s", summary(elections))

	for name, c := range map[string]*cluster{"memory": c, "tcp": tcpCluster(t, 3, defaults)} {
		c.waitLeader(10 * time.Second)
		c.waitConverged(10 * time.Second)
		leader, _ := c.waitLeader(time.Second)
		var lat []time.Duration
		for i := range 300 {
			start := time.Now()
			if _, err := c.propose(leader, topic(1000+i)); err != nil {
				t.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		t.Logf("commit latency, %s transport, 300 sequential changes: %s", name, summary(lat))
	}
}

func summary(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	p := func(q float64) time.Duration { return s[int(q*float64(len(s)-1))] }
	return "min " + s[0].Round(10*time.Microsecond).String() +
		", median " + p(0.5).Round(10*time.Microsecond).String() +
		", p90 " + p(0.9).Round(10*time.Microsecond).String() +
		", max " + s[len(s)-1].Round(10*time.Microsecond).String()
}
