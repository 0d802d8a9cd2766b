package netio

import (
	"strings"
	"testing"
	"time"
)

// TestCloseRacesPeerClose: a client that hangs up just as the server shuts
// down must not leave a shard waiting for a completion that never comes.
func TestCloseRacesPeerClose(t *testing.T) {
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			for i := 0; i < 100; i++ {
				h := &testHandler{}
				srv := startServer(t, bc, h, nil)
				c := dial(t, srv)
				c.send("echo:x")
				c.expect([]byte("x"))
				c.nc.Close()
				if i%3 == 1 {
					time.Sleep(time.Duration(i%50) * time.Microsecond)
				}
				done := make(chan struct{})
				go func() { srv.Close(); close(done) }()
				select {
				case <-done:
				case <-time.After(5 * time.Second):
					if u, ok := srv.(*uringServer); ok {
						for _, sh := range u.shards {
							for _, uc := range sh.conns {
								t.Logf("shard %d conn %d inflight %d closing %v recvArmed %v", sh.id, uc.id, uc.inflight, uc.closing, uc.recvArmed)
							}
							t.Logf("shard %d stopping %v acceptArmed %v conns %d dead %v", sh.id, sh.stopping, sh.acceptArmed, len(sh.conns), sh.dead)
						}
					}
					t.Fatalf("iteration %d: Close did not return within 5s", i)
				}
			}
		})
	}
}

// TestSecondServerOnOnePortFails: SO_REUSEPORT must not let a second
// server join the first one's port.
func TestSecondServerOnOnePortFails(t *testing.T) {
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			h := &testHandler{}
			srv := startServer(t, bc, h, nil)
			defer srv.Close()
			_, err := Listen(Config{Addr: srv.Addr().String(), IO: bc.io}, h)
			if err == nil || !strings.Contains(err.Error(), "address already in use") {
				t.Fatalf("second Listen on %s: err %v, want address already in use", srv.Addr(), err)
			}
		})
	}
}
