package main

import (
	"bytes"
	"fmt"
	"math/rand"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestRandomFramesCrashNothing sends random and mutated requests from 8
// connections at once for two seconds per backend (issue 13: a minute from
// 32 workers crashed nothing): the broker keeps running and answers a
// well-behaved client afterwards.
func TestRandomFramesCrashNothing(t *testing.T) {
	backends(t, func(t *testing.T, io string) {
		b := startBroker(t, brokerOpts{io: io, args: []string{"--socket.request.max.bytes=65536"}})
		seeds := seedRequests()
		seed := time.Now().UnixNano()
		t.Logf("seed %d", seed)
		var wg sync.WaitGroup
		var sent sync.Map
		stop := time.Now().Add(2 * time.Second)
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewSource(seed + int64(w)))
				n := 0
				for time.Now().Before(stop) {
					c, err := net.DialTimeout("tcp", b.addr, 5*time.Second)
					if err != nil {
						t.Errorf("dial: %v", err)
						return
					}
					for i := 0; i < 1+rng.Intn(8); i++ {
						c.SetWriteDeadline(time.Now().Add(time.Second))
						if _, err := c.Write(mutateFrame(rng, seeds[rng.Intn(len(seeds))])); err != nil {
							break
						}
						n++
					}
					c.Close()
				}
				sent.Store(w, n)
			}()
		}
		wg.Wait()
		total := 0
		sent.Range(func(_, v any) bool { total += v.(int); return true })
		t.Logf("%d hostile frames sent", total)
		select {
		case <-b.done:
			t.Fatalf("the broker exited (%d):\n%s", b.code, b.stderr)
		default:
		}
		good, err := dialRaw(b.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer good.conn.Close()
		if _, err := good.do(metadataAll()); err != nil {
			t.Fatalf("a good client after the hostile frames: %v", err)
		}
		if strings.Contains(b.stderr.String(), "panic") {
			t.Fatalf("a panic was logged:\n%s", b.stderr)
		}
	})
}

// seedRequests are valid requests of many APIs, for mutateFrame.
func seedRequests() [][]byte {
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("hostile"))
	var reqs []kmsg.Request
	md := kmsg.NewPtrMetadataRequest()
	md.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("hostile")}}
	md.AllowAutoTopicCreation = true
	reqs = append(reqs, apiVersions(), metadataAll(), md)
	prod := kmsg.NewPtrProduceRequest()
	prod.Version, prod.Acks, prod.TimeoutMillis = 9, 1, 1000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "hostile"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = bytes.Repeat([]byte{1, 2, 3, 4}, 40)
	pt.Partitions = append(pt.Partitions, pp)
	prod.Topics = append(prod.Topics, pt)
	fetch := kmsg.NewPtrFetchRequest()
	fetch.Version, fetch.MaxWaitMillis = 12, 10
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "hostile"
	ft.Partitions = append(ft.Partitions, kmsg.NewFetchRequestTopicPartition())
	fetch.Topics = append(fetch.Topics, ft)
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.ProtocolType, join.SessionTimeoutMillis = "g", "consumer", 6000
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 1}}}
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group = "g"
	create := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "hostile-made", 1, 1
	create.Topics = append(create.Topics, ct)
	desc := kmsg.NewPtrDescribeConfigsRequest()
	desc.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: 2, ResourceName: "hostile"}}
	reqs = append(reqs, prod, fetch, join, commit, create, desc,
		kmsg.NewPtrListOffsetsRequest(), kmsg.NewPtrFindCoordinatorRequest(), kmsg.NewPtrInitProducerIDRequest())
	var out [][]byte
	for i, r := range reqs {
		out = append(out, f.AppendRequest(nil, r, int32(i)))
	}
	return out
}

// mutateFrame returns a damaged copy of a framed request: random bytes,
// flipped bytes, a cut or a stretch, with the size prefix kept right most
// of the time so the damage reaches the decoders behind the framing.
func mutateFrame(rng *rand.Rand, frame []byte) []byte {
	body := append([]byte(nil), frame[4:]...)
	switch rng.Intn(5) {
	case 0:
		body = make([]byte, rng.Intn(200))
		rng.Read(body)
	case 1:
		for i := 0; i < 1+rng.Intn(4); i++ {
			body[rng.Intn(len(body))] = byte(rng.Intn(256))
		}
	case 2:
		body = body[:rng.Intn(len(body))]
	case 3:
		extra := make([]byte, rng.Intn(64))
		rng.Read(extra)
		at := rng.Intn(len(body))
		body = append(body[:at], append(extra, body[at:]...)...)
	case 4:
		// Only the header is kept valid; the body is noise.
		body = append(body[:min(len(body), 8)], make([]byte, rng.Intn(100))...)
		rng.Read(body[min(len(body), 8):])
	}
	size := uint32(len(body))
	if rng.Intn(10) == 0 {
		size = rng.Uint32()
	}
	return append([]byte{byte(size >> 24), byte(size >> 16), byte(size >> 8), byte(size)}, body...)
}

// TestIdleConnectionsAreCheap holds 5,000 idle connections (each served
// one request) and checks what they cost the broker: on io_uring about
// 0.6 KB each (issue 13), bounded here at 4 KiB; on std two goroutines
// each, bounded at 48 KiB.
func TestIdleConnectionsAreCheap(t *testing.T) {
	backends(t, func(t *testing.T, io string) {
		b := startBroker(t, brokerOpts{io: io})
		pid := b.pid()
		const n = 5000
		// A first request warms what every connection's requests share.
		warm, err := dialRaw(b.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer warm.conn.Close()
		if _, err := warm.do(apiVersions()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		before := rssOf(t, pid)
		conns := make([]*rawClient, 0, n)
		defer func() {
			for _, c := range conns {
				c.conn.Close()
			}
		}()
		for i := 0; i < n; i++ {
			c, err := dialRaw(b.addr)
			if err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			conns = append(conns, c)
			if _, err := c.do(apiVersions()); err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
		}
		time.Sleep(200 * time.Millisecond)
		after := rssOf(t, pid)
		per := (after - before) / n
		t.Logf("%s: %d idle connections: RSS %d -> %d KiB, %d bytes each", io, n, before>>10, after>>10, per)
		limit := int64(4 << 10)
		if io == "std" {
			limit = 48 << 10
		}
		if per > limit {
			t.Errorf("%d bytes per idle connection on %s, want <= %d", per, io, limit)
		}
		if _, err := conns[n/2].do(metadataAll()); err != nil {
			t.Fatalf("an idle connection no longer served: %v", err)
		}
	})
}

// rssOf is a process's resident memory in bytes.
func rssOf(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
