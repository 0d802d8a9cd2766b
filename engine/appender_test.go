package engine

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/netio"
)

// stuckIO is pwrite(2), except that writes to files under a path holding
// stuck wait until release is closed, telling entered first.
type stuckIO struct {
	logstore.PwriteIO
	stuck   string
	entered chan struct{}
	release chan struct{}
}

func (s *stuckIO) WriteAt(f *os.File, p []byte, off int64) error {
	if strings.Contains(f.Name(), s.stuck) {
		select {
		case s.entered <- struct{}{}:
		default:
		}
		<-s.release
	}
	return s.PwriteIO.WriteAt(f, p, off)
}

// TestShardServesWhileAWriteIsStuck: on the uring backend a leader's
// append leaves the shard loop, so a write stuck in the kernel holds up
// its own produce and nothing else on the shard: another partition's
// produce and another connection's requests are answered meanwhile, and
// the stuck produce is answered once the write completes.
func TestShardServesWhileAWriteIsStuck(t *testing.T) {
	io := &stuckIO{stuck: "stuck-0", entered: make(chan struct{}, 1), release: make(chan struct{})}
	b := newTestBroker(t, "listeners=PLAINTEXT://127.0.0.1:0")
	b.opts.IO, b.opts.Shards, b.opts.FileIO = netio.IOUring, 1, io // one loop serves everything
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	addTestPartitions(t, b, "stuck", 1)
	addTestPartitions(t, b, "free", 1)
	addr := b.Servers()[0].Addr().String()
	released := false
	defer func() {
		if !released {
			close(io.release)
		}
	}()

	stuckConn := dialRaw(t, addr)
	answered := make(chan *kmsg.ProduceResponse, 1)
	go func() {
		resp, err := stuckConn.request(produceReq(9, 1, "stuck", map[int32][]byte{0: makeBatch(-1, -1, -1, "slow")}))
		if err != nil {
			answered <- nil
			return
		}
		answered <- resp.(*kmsg.ProduceResponse)
	}()
	select {
	case <-io.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the produce to stuck-0 never reached its write")
	}

	other := dialRaw(t, addr)
	for i := range 3 {
		r := partitionResult(t, send(t, other, produceReq(9, 1, "free", map[int32][]byte{0: makeBatch(-1, -1, -1, "x")})).(*kmsg.ProduceResponse), 0)
		if r.ErrorCode != 0 || r.BaseOffset != int64(i) {
			t.Fatalf("produce %d to free-0 while stuck-0's write waits: %+v", i, r)
		}
	}
	if v := send(t, other, kmsg.NewPtrApiVersionsRequest()).(*kmsg.ApiVersionsResponse); v.ErrorCode != 0 {
		t.Fatalf("ApiVersions while a write waits: error %d", v.ErrorCode)
	}
	select {
	case <-answered:
		t.Fatal("the stuck produce was answered before its write completed")
	default:
	}

	close(io.release)
	released = true
	select {
	case resp := <-answered:
		if resp == nil {
			t.Fatal("the stuck produce's connection failed")
		}
		if r := partitionResult(t, resp, 0); r.ErrorCode != 0 || r.BaseOffset != 0 {
			t.Fatalf("stuck produce once its write completed: %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck produce was not answered after its write completed")
	}
	f := send(t, other, fetchReq(12, "stuck", 0, 0, 0)).(*kmsg.FetchResponse)
	if fp := f.Topics[0].Partitions[0]; fp.ErrorCode != 0 || fp.HighWatermark != 1 {
		t.Fatalf("stuck-0 after the write: error %d, high watermark %d", fp.ErrorCode, fp.HighWatermark)
	}
}

// TestAppendsBoundedByIOThreads: with num.io.threads=1 one write stuck in
// the kernel holds the only slot: another partition's append waits for
// it (as Kafka's handler threads would), while the shard goes on
// answering other requests.
func TestAppendsBoundedByIOThreads(t *testing.T) {
	io := &stuckIO{stuck: "stuck-0", entered: make(chan struct{}, 1), release: make(chan struct{})}
	b := newTestBroker(t, "listeners=PLAINTEXT://127.0.0.1:0", "num.io.threads=1")
	b.opts.IO, b.opts.Shards, b.opts.FileIO = netio.IOUring, 1, io
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	addTestPartitions(t, b, "stuck", 1)
	addTestPartitions(t, b, "free", 1)
	addr := b.Servers()[0].Addr().String()
	var once sync.Once
	release := func() { once.Do(func() { close(io.release) }) }
	defer release()

	produce := func(topic string) chan *kmsg.ProduceResponse {
		c := dialRaw(t, addr)
		out := make(chan *kmsg.ProduceResponse, 1)
		go func() {
			resp, err := c.request(produceReq(9, 1, topic, map[int32][]byte{0: makeBatch(-1, -1, -1, "v")}))
			if err != nil {
				out <- nil
				return
			}
			out <- resp.(*kmsg.ProduceResponse)
		}()
		return out
	}
	stuck := produce("stuck")
	select {
	case <-io.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the produce to stuck-0 never reached its write")
	}
	free := produce("free")
	other := dialRaw(t, addr)
	if v := send(t, other, kmsg.NewPtrApiVersionsRequest()).(*kmsg.ApiVersionsResponse); v.ErrorCode != 0 {
		t.Fatalf("ApiVersions while the only slot is held: error %d", v.ErrorCode)
	}
	select {
	case <-free:
		t.Fatal("free-0 was written while num.io.threads=1 and the one slot was held")
	case <-time.After(300 * time.Millisecond):
	}
	release()
	for name, ch := range map[string]chan *kmsg.ProduceResponse{"stuck-0": stuck, "free-0": free} {
		select {
		case resp := <-ch:
			if resp == nil {
				t.Fatalf("%s: connection failed", name)
			}
			if r := partitionResult(t, resp, 0); r.ErrorCode != 0 || r.BaseOffset != 0 {
				t.Fatalf("%s after the slot freed: %+v", name, r)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s not answered after the slot freed", name)
		}
	}
}
