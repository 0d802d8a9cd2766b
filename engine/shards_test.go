package engine

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/weirmq/weir/netio"
)

// shardsFake is a netio.Server with n shards that records what reaches it.
type shardsFake struct {
	fakeServer
	backend    string
	shards     int
	mu         sync.Mutex
	syncShards []int
}

func (s *shardsFake) Shards() int     { return s.shards }
func (s *shardsFake) Backend() string { return s.backend }
func (s *shardsFake) Sync(shard int, fds []int, dirFd int, done func(error)) {
	s.mu.Lock()
	s.syncShards = append(s.syncShards, shard)
	s.mu.Unlock()
	done(nil)
}

func TestShardRuntimeOwner(t *testing.T) {
	var rt shardRuntime
	if rt.Ready() || rt.Shards() != 0 || rt.Backend() != "" || rt.OnLoop("PLAINTEXT") {
		t.Fatal("a runtime without loops claims some")
	}
	if !rt.attach(&shardsFake{shards: 5, backend: netio.IOStd}, "PLAINTEXT") {
		t.Fatal("first attach refused")
	}
	if rt.attach(&shardsFake{shards: 2}, "OTHER") || rt.Shards() != 5 {
		t.Fatal("a second attach replaced the host")
	}
	seen := map[int]bool{}
	for i := int32(0); i < 200; i++ {
		h := partitionHash("topic", i)
		o := rt.Owner(h)
		if o < 0 || o >= 5 {
			t.Fatalf("partition %d: owner %d out of [0, 5)", i, o)
		}
		if rt.Owner(h) != o || rt.Owner(partitionHash("topic", i)) != o {
			t.Fatalf("partition %d: owner not stable", i)
		}
		seen[o] = true
	}
	if len(seen) != 5 {
		t.Fatalf("200 partitions on %d of 5 shards", len(seen))
	}
	// The extremes of the hash stay in range (no sign trouble).
	for _, h := range []uint32{0, 1, 1<<31 - 1, 1 << 31, 1<<32 - 1} {
		if o := rt.Owner(h); o < 0 || o >= 5 {
			t.Fatalf("hash %#x: owner %d", h, o)
		}
	}
}

func TestShardRuntimeOnLoop(t *testing.T) {
	for _, tc := range []struct {
		backend, listener string
		want              bool
	}{
		{netio.IOUring, "PLAINTEXT", true},
		{netio.IOUring, "CONTROLLER", false}, // not the host's listener
		{netio.IOStd, "PLAINTEXT", false},    // std handlers run on goroutines
	} {
		var rt shardRuntime
		rt.attach(&shardsFake{shards: 2, backend: tc.backend}, "PLAINTEXT")
		if got := rt.OnLoop(tc.listener); got != tc.want {
			t.Errorf("%s on %s: OnLoop %v, want %v", tc.listener, tc.backend, got, tc.want)
		}
	}
}

func TestHostListener(t *testing.T) {
	for _, tc := range []struct {
		listeners, controllers []string
		want                   int
	}{
		{[]string{"PLAINTEXT"}, nil, 0},
		{[]string{"CONTROLLER", "PLAINTEXT", "SSL"}, []string{"CONTROLLER"}, 1},
		{[]string{"CONTROLLER"}, []string{"CONTROLLER"}, 0}, // only controllers: the first
	} {
		if got := hostListener(tc.listeners, tc.controllers); got != tc.want {
			t.Errorf("%v with controllers %v: host %d, want %d", tc.listeners, tc.controllers, got, tc.want)
		}
	}
}

func TestShardRuntimeSyncSpreadsByDescriptor(t *testing.T) {
	var rt shardRuntime
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if rt.Sync([]*os.File{f}, nil, func(error) { t.Error("done called without loops") }) {
		t.Fatal("Sync without loops did not leave the sync to the caller")
	}
	srv := &shardsFake{shards: 3}
	rt.attach(srv, "PLAINTEXT")
	var got error = os.ErrInvalid
	if !rt.Sync([]*os.File{f}, nil, func(err error) { got = err }) || got != nil {
		t.Fatalf("Sync: %v", got)
	}
	if want := int(f.Fd()) % 3; len(srv.syncShards) != 1 || srv.syncShards[0] != want {
		t.Fatalf("synced on shards %v, want [%d]", srv.syncShards, want)
	}
}

type nopHandler struct{}

func (nopHandler) ServeFrame(netio.Conn, uint64, []byte) error { return nil }
func (nopHandler) ConnClosed(netio.Conn)                       {}

// TestShardRuntimeRunFromForeignGoroutines posts work to every shard of a
// real server from goroutines that are no shard's: each runs once, in
// posting order per shard, and syncs go through the server's rings.
func TestShardRuntimeRunFromForeignGoroutines(t *testing.T) {
	for _, backend := range backendsForTest(t) {
		t.Run(backend, func(t *testing.T) {
			srv, err := netio.Listen(netio.Config{Addr: "127.0.0.1:0", IO: backend, Shards: 3, Logger: discardLogger()}, nopHandler{})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			var rt shardRuntime
			rt.attach(srv, "PLAINTEXT")
			if rt.Shards() != 3 || rt.Backend() != backend {
				t.Fatalf("%d shards on %q", rt.Shards(), rt.Backend())
			}
			const posters, each = 4, 200
			var mu sync.Mutex
			last := map[[2]int]int{} // (shard, poster) -> last sequence run
			var wg sync.WaitGroup
			wg.Add(posters * each * 3)
			for p := 0; p < posters; p++ {
				go func() {
					for i := 0; i < each; i++ {
						for shard := 0; shard < 3; shard++ {
							rt.Run(shard, func() {
								mu.Lock()
								k := [2]int{shard, p}
								if prev, ok := last[k]; ok && prev != i-1 {
									t.Errorf("shard %d, poster %d: %d ran after %d", shard, p, i, prev)
								} else if !ok && i != 0 {
									t.Errorf("shard %d, poster %d: %d ran first", shard, p, i)
								}
								last[k] = i
								mu.Unlock()
								wg.Done()
							})
						}
					}
				}()
			}
			waitGroupTimeout(t, &wg, 10*time.Second)

			f, err := os.Create(filepath.Join(t.TempDir(), "f"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			before := srv.Stats().Syncs
			errc := make(chan error, 1)
			go func() {
				if !rt.Sync([]*os.File{f}, nil, func(err error) { errc <- err }) {
					errc <- os.ErrInvalid
				}
			}()
			select {
			case err := <-errc:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("sync never completed")
			}
			if srv.Stats().Syncs == before {
				t.Fatal("the sync did not go through the server")
			}
		})
	}
}

func waitGroupTimeout(t *testing.T, wg *sync.WaitGroup, d time.Duration) {
	t.Helper()
	c := make(chan struct{})
	go func() { wg.Wait(); close(c) }()
	select {
	case <-c:
	case <-time.After(d):
		t.Fatal("posted work did not run")
	}
}

// TestShardRuntimeAfterFunc runs timers on a real server's shards: a
// timer fires once its time has passed, a stopped one never.
func TestShardRuntimeAfterFunc(t *testing.T) {
	for _, backend := range backendsForTest(t) {
		t.Run(backend, func(t *testing.T) {
			srv, err := netio.Listen(netio.Config{Addr: "127.0.0.1:0", IO: backend, Shards: 2, Logger: discardLogger()}, nopHandler{})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			var rt shardRuntime
			rt.attach(srv, "PLAINTEXT")
			fired := make(chan time.Time, 2)
			start := time.Now()
			rt.AfterFunc(1, 20*time.Millisecond, func() { fired <- time.Now() })
			stopped := rt.AfterFunc(0, 10*time.Millisecond, func() { fired <- time.Time{} })
			if !stopped.Stop() {
				t.Fatal("Stop of a pending timer returned false")
			}
			select {
			case at := <-fired:
				if at.IsZero() {
					t.Fatal("a stopped timer fired")
				}
				if el := at.Sub(start); el < 20*time.Millisecond {
					t.Fatalf("fired after %v, before its 20ms", el)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("timer never fired")
			}
			select {
			case <-fired:
				t.Fatal("a stopped timer fired")
			case <-time.After(30 * time.Millisecond):
			}
		})
	}
}
