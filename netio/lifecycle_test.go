package netio

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
					if u, ok := srv.Runtime().(*uringRuntime); ok {
						for _, sh := range u.shards {
							for _, uc := range sh.conns {
								t.Logf("shard %d conn %d inflight %d closing %v recvArmed %v", sh.id, uc.id, uc.inflight, uc.closing, uc.recvArmed)
							}
							t.Logf("shard %d stopping %v listeners %d conns %d dead %v", sh.id, sh.stopping, len(sh.accs), len(sh.conns), sh.dead)
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

// TestRecvBuffersRunDry: with two receive buffers per shard and many busy
// connections the buffer ring runs dry again and again; every byte must
// still arrive, in order.
func TestRecvBuffersRunDry(t *testing.T) {
	for _, bc := range backends(t) {
		if bc.io != IOUring || bc.fileSend != FileSendMmap {
			continue
		}
		h := &testHandler{}
		srv := startServer(t, bc, h, func(c *Config) { c.RecvBuffers, c.RecvBufferBytes = 2, 4096 })
		const conns, reqs = 16, 200
		cs := make([]*client, conns)
		for i := range cs {
			cs[i] = dial(t, srv)
		}
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var out []byte
				for j := 0; j < reqs; j++ {
					out = append(out, frame([]byte(fmt.Sprintf("echo:%d-%d-%s", i, j, strings.Repeat("z", j*10))))...)
				}
				if _, err := c.nc.Write(out); err != nil {
					t.Error(err)
					return
				}
				for j := 0; j < reqs; j++ {
					want := fmt.Sprintf("%d-%d-%s", i, j, strings.Repeat("z", j*10))
					if got, err := c.recv(); err != nil || string(got) != want {
						t.Errorf("conn %d request %d: got %.30q (%v)", i, j, got, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		stopServer(t, srv, h, conns)
		var dry uint64
		for _, sh := range srv.Runtime().(*uringRuntime).shards {
			dry += sh.dryRuns
		}
		if dry == 0 {
			t.Fatal("the buffer ring never ran dry: the test did not exercise re-arming")
		}
		t.Logf("buffer ring ran dry %d times", dry)
	}
}

// TestRunOnShard: work posted to a shard runs there, in posting order, on
// both backends; after Close it is dropped.
func TestRunOnShard(t *testing.T) {
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			h := &testHandler{}
			srv := startServer(t, bc, h, nil)
			const n = 1000
			for shard := 0; shard < srv.Runtime().Shards(); shard++ {
				var got []int // touched only on the shard
				done := make(chan []int)
				for i := 0; i < n; i++ {
					srv.Runtime().Run(shard, func() { got = append(got, i) })
				}
				srv.Runtime().Run(shard, func() { done <- got })
				select {
				case g := <-done:
					for i, v := range g {
						if v != i {
							t.Fatalf("shard %d ran %d at position %d", shard, v, i)
						}
					}
					if len(g) != n {
						t.Fatalf("shard %d ran %d of %d", shard, len(g), n)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("shard %d did not run the work", shard)
				}
			}
			stopServer(t, srv, h, 0)
			srv.Runtime().Run(0, func() { t.Error("ran after Close") })
			time.Sleep(10 * time.Millisecond)
		})
	}
}

// TestSync: files posted for syncing come back done, on both backends,
// many at once (group commit on uring); after Close a Sync fails cleanly.
func TestSync(t *testing.T) {
	dir := t.TempDir()
	var fds []int
	for i := 0; i < 8; i++ {
		f, err := os.Create(filepath.Join(dir, fmt.Sprint("f", i)))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.Write([]byte("data"))
		fds = append(fds, int(f.Fd()))
	}
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			h := &testHandler{}
			srv := startServer(t, bc, h, nil)
			errs := make(chan error, 64)
			for i := 0; i < 32; i++ {
				srv.Runtime().Sync(i%srv.Runtime().Shards(), fds[i%8:i%8+1], int(d.Fd()), func(err error) { errs <- err })
			}
			srv.Runtime().Sync(0, []int{-5}, -1, func(err error) { errs <- err })
			failed := 0
			for i := 0; i < 33; i++ {
				select {
				case err := <-errs:
					if err != nil {
						failed++
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("%d syncs never completed", 33-i)
				}
			}
			if failed != 1 {
				t.Fatalf("%d syncs failed, want only the one on a bad fd", failed)
			}
			stopServer(t, srv, h, 0)
			srv.Runtime().Sync(0, fds[:1], -1, func(err error) { errs <- err })
			if err := <-errs; !errors.Is(err, ErrClosed) {
				t.Fatalf("sync after close: %v, want ErrClosed", err)
			}
		})
	}
}
