package quorum

import (
	"net"
	"testing"
	"time"
)

// tcpCluster is a cluster whose nodes talk over TCP on 127.0.0.1, each
// listening on a port of its own (kept across restarts).
func tcpCluster(t *testing.T, n int, tweak func(*Config)) *cluster {
	c := makeCluster(t, n, tweak)
	peers := map[int32]string{}
	lns := map[int32]net.Listener{}
	for _, id := range c.voters {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		peers[id], lns[id] = ln.Addr().String(), ln
	}
	c.transport = func(id int32) Transport {
		cfg := TCPConfig{Node: id, Peers: peers, Listener: lns[id], Listen: peers[id], DialTimeout: time.Second}
		lns[id] = nil // a restart listens again
		tr, err := ListenTCP(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	c.startAll()
	return c
}

// TestTCP: three nodes over the TCP transport elect a leader and commit;
// the leader stops and a new one takes over; it restarts and catches up.
func TestTCP(t *testing.T) {
	c := tcpCluster(t, 3, nil)
	leader, took := c.waitLeader(maxElection)
	t.Logf("node %d elected in %v", leader, took)
	for i := range 20 {
		c.mustPropose(topic(i))
	}
	c.waitConverged(5 * time.Second)
	c.stop(leader)
	next, took := c.waitLeader(maxElection)
	t.Logf("node %d stopped; node %d leads after %v", leader, next, took)
	for i := 20; i < 30; i++ {
		c.mustPropose(topic(i))
	}
	c.start(leader)
	if img := c.waitConverged(10 * time.Second); len(img) != 30 {
		t.Fatalf("%d records, want 30", len(img))
	}
	c.compareLogs()
}
