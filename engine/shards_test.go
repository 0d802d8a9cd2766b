package engine

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/weirmq/weir/netio"
)

// runtimeFake is a netio.Runtime with n shards that runs work inline and
// records where syncs go.
type runtimeFake struct {
	backend    string
	shards     int
	mu         sync.Mutex
	syncShards []int
}

func (r *runtimeFake) Backend() string { return r.backend }
func (r *runtimeFake) Shards() int     { return r.shards }
func (r *runtimeFake) Listen(netio.ListenConfig, netio.Handler) (netio.Server, error) {
	return nil, netio.ErrClosed
}
func (r *runtimeFake) Run(_ int, fn func()) { fn() }
func (r *runtimeFake) AfterFunc(_ int, d time.Duration, fn func()) netio.Timer {
	return time.AfterFunc(d, fn)
}
func (r *runtimeFake) Sync(shard int, fds []int, dirFd int, done func(error)) {
	r.mu.Lock()
	r.syncShards = append(r.syncShards, shard)
	r.mu.Unlock()
	done(nil)
}
func (r *runtimeFake) Stats() netio.Stats { return netio.Stats{} }
func (r *runtimeFake) Close() error       { return nil }

func TestShardRuntimeOwner(t *testing.T) {
	rt := shardRuntime{rt: &runtimeFake{shards: 5, backend: netio.IOStd}}
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
		backend string
		want    bool
	}{
		{netio.IOUring, true}, // every listener's handlers run on the loops
		{netio.IOStd, false},  // std handlers run on goroutines
	} {
		rt := shardRuntime{rt: &runtimeFake{shards: 2, backend: tc.backend}}
		if got := rt.OnLoop(); got != tc.want {
			t.Errorf("%s: OnLoop %v, want %v", tc.backend, got, tc.want)
		}
	}
}

func TestShardRuntimeSyncSpreadsByDescriptor(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fake := &runtimeFake{shards: 3}
	rt := shardRuntime{rt: fake}
	var got error = os.ErrInvalid
	rt.Sync([]*os.File{f}, nil, func(err error) { got = err })
	if got != nil {
		t.Fatalf("Sync: %v", got)
	}
	if want := int(f.Fd()) % 3; len(fake.syncShards) != 1 || fake.syncShards[0] != want {
		t.Fatalf("synced on shards %v, want [%d]", fake.syncShards, want)
	}
}

// TestShardRuntimeRunFromForeignGoroutines posts work to every shard of a
// real runtime from goroutines that are no shard's: each runs once, in
// posting order per shard, and syncs go through the runtime's rings.
func TestShardRuntimeRunFromForeignGoroutines(t *testing.T) {
	for _, backend := range backendsForTest(t) {
		t.Run(backend, func(t *testing.T) {
			nrt, err := netio.NewRuntime(netio.Config{IO: backend, Shards: 3, Logger: discardLogger()})
			if err != nil {
				t.Fatal(err)
			}
			defer nrt.Close()
			rt := shardRuntime{rt: nrt}
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
			before := nrt.Stats().Syncs
			errc := make(chan error, 1)
			go rt.Sync([]*os.File{f}, nil, func(err error) { errc <- err })
			select {
			case err := <-errc:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("sync never completed")
			}
			if nrt.Stats().Syncs == before {
				t.Fatal("the sync did not go through the runtime")
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

// TestShardRuntimeAfterFunc runs timers on a real runtime's shards: a
// timer fires once its time has passed, a stopped one never.
func TestShardRuntimeAfterFunc(t *testing.T) {
	for _, backend := range backendsForTest(t) {
		t.Run(backend, func(t *testing.T) {
			nrt, err := netio.NewRuntime(netio.Config{IO: backend, Shards: 2, Logger: discardLogger()})
			if err != nil {
				t.Fatal(err)
			}
			defer nrt.Close()
			rt := shardRuntime{rt: nrt}
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
