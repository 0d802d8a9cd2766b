package main

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// e2eRecords is how many records each codec's round trip produces
// (WEIR_E2E_RECORDS overrides it, e.g. for a quick local run).
func e2eRecords() int {
	if n, err := strconv.Atoi(os.Getenv("WEIR_E2E_RECORDS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

func createTopic(t *testing.T, addr, topic string, partitions int32) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seedList(addr)...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic %s: %v %v", topic, err, resp.Err)
	}
}

// produced remembers where each acknowledged record went.
type produced struct {
	mu    sync.Mutex
	parts map[int32][]string // partition -> values in offset order
	offs  map[int32][]int64
}

func (p *produced) add(r *kgo.Record) {
	p.mu.Lock()
	p.parts[r.Partition] = append(p.parts[r.Partition], string(r.Value))
	p.offs[r.Partition] = append(p.offs[r.Partition], r.Offset)
	p.mu.Unlock()
}

// consumeAll reads every partition of topic from the start until it has
// want records, and returns the values per partition in offset order.
func consumeAll(t *testing.T, addr, topic string, want int) map[int32][]string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(64<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[int32][]string{}
	n := 0
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	next := map[int32]int64{}
	for n < want {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", n, want, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != next[r.Partition] {
				t.Fatalf("partition %d: offset %d after %d", r.Partition, r.Offset, next[r.Partition]-1)
			}
			next[r.Partition] = r.Offset + 1
			got[r.Partition] = append(got[r.Partition], string(r.Value))
			n++
		})
	}
	return got
}

// TestEndToEndCodecs: franz-go produces a million records with each codec
// into 8 partitions and reads them back, in order, byte for byte.
func TestEndToEndCodecs(t *testing.T) {
	n := e2eRecords()
	codecs := []struct {
		name  string
		codec kgo.CompressionCodec
	}{
		{"none", kgo.NoCompression()}, {"gzip", kgo.GzipCompression()}, {"snappy", kgo.SnappyCompression()},
		{"lz4", kgo.Lz4Compression()}, {"zstd", kgo.ZstdCompression()},
	}
	backends(t, func(t *testing.T, io string) {
		b := startBroker(t, brokerOpts{io: io})
		for _, c := range codecs {
			t.Run(c.name, func(t *testing.T) {
				topic := "e2e-" + c.name
				createTopic(t, b.addr, topic, 8)
				cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.DefaultProduceTopic(topic),
					kgo.ProducerBatchCompression(c.codec), kgo.ProducerLinger(5*time.Millisecond))
				if err != nil {
					t.Fatal(err)
				}
				defer cl.Close()
				out := &produced{parts: map[int32][]string{}, offs: map[int32][]int64{}}
				var wg sync.WaitGroup
				var failed error
				var failMu sync.Mutex
				start := time.Now()
				for i := 0; i < n; i++ {
					wg.Add(1)
					r := &kgo.Record{Key: []byte(strconv.Itoa(i % 1000)), Value: []byte(fmt.Sprintf("%s-%09d-payload", c.name, i))}
					cl.Produce(context.Background(), r, func(r *kgo.Record, err error) {
						defer wg.Done()
						if err != nil {
							failMu.Lock()
							failed = err
							failMu.Unlock()
							return
						}
						out.add(r)
					})
				}
				wg.Wait()
				if failed != nil {
					t.Fatalf("produce: %v", failed)
				}
				t.Logf("%s/%s: produced %d records in %v", io, c.name, n, time.Since(start))
				got := consumeAll(t, b.addr, topic, n)
				for p, vals := range out.parts {
					// Callbacks for one partition run in offset order; check it.
					for i := 1; i < len(out.offs[p]); i++ {
						if out.offs[p][i] <= out.offs[p][i-1] {
							t.Fatalf("partition %d: acknowledged offsets out of order", p)
						}
					}
					if len(got[p]) != len(vals) {
						t.Fatalf("partition %d: consumed %d records, produced %d", p, len(got[p]), len(vals))
					}
					for i := range vals {
						if got[p][i] != vals[i] {
							t.Fatalf("partition %d record %d: %q, want %q", p, i, got[p][i], vals[i])
						}
					}
				}
			})
		}
	})
}

// TestAcks: acks 0, 1 and all each deliver every record.
func TestAcks(t *testing.T) {
	backends(t, func(t *testing.T, io string) {
		b := startBroker(t, brokerOpts{io: io})
		for _, a := range []struct {
			name string
			acks kgo.Acks
		}{{"0", kgo.NoAck()}, {"1", kgo.LeaderAck()}, {"all", kgo.AllISRAcks()}} {
			t.Run(a.name, func(t *testing.T) {
				topic := "acks-" + a.name
				createTopic(t, b.addr, topic, 3)
				opts := []kgo.Opt{kgo.SeedBrokers(b.addr), kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(a.acks)}
				if a.name != "all" {
					opts = append(opts, kgo.DisableIdempotentWrite())
				}
				cl, err := kgo.NewClient(opts...)
				if err != nil {
					t.Fatal(err)
				}
				defer cl.Close()
				const n = 5000
				for i := 0; i < n; i++ {
					cl.Produce(context.Background(), &kgo.Record{Value: []byte(strconv.Itoa(i))}, nil)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := cl.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				got := consumeAll(t, b.addr, topic, n)
				seen := map[string]bool{}
				for _, vals := range got {
					for _, v := range vals {
						if seen[v] {
							t.Fatalf("record %s twice", v)
						}
						seen[v] = true
					}
				}
			})
		}
	})
}

// TestCrashKeepsAcknowledgedRecords: a producer with acks=1 runs while the
// broker is SIGKILLed at random moments and restarted on the same log
// dir; every acknowledged record is then found once, at the offset it was
// acknowledged with.
func TestCrashKeepsAcknowledgedRecords(t *testing.T) {
	backends(t, func(t *testing.T, io string) {
		dir := t.TempDir()
		b := startBroker(t, brokerOpts{io: io, logDir: dir})
		port := b.port
		createTopic(t, b.addr, "crash", 4)
		type ack struct {
			p   int32
			off int64
		}
		acked := map[string]ack{}
		var mu sync.Mutex
		rng := rand.New(rand.NewSource(time.Now().UnixNano()))
		seq := 0
		for round := 0; round < 5; round++ {
			cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.DefaultProduceTopic("crash"),
				kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(),
				kgo.RecordRetries(0), kgo.ProducerLinger(time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					select {
					case <-stop:
						return
					default:
					}
					seq++
					v := fmt.Sprintf("r%d-%d", round, seq)
					cl.Produce(context.Background(), &kgo.Record{Value: []byte(v)}, func(r *kgo.Record, err error) {
						if err == nil {
							mu.Lock()
							acked[v] = ack{r.Partition, r.Offset}
							mu.Unlock()
						}
					})
					if seq%64 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			}()
			time.Sleep(time.Duration(100+rng.Intn(400)) * time.Millisecond)
			if err := syscall.Kill(b.pid(), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-b.done
			close(stop)
			<-done
			cl.Close() // fails what was in flight: not acknowledged
			b = startBroker(t, brokerOpts{io: io, logDir: dir, port: port})
		}
		mu.Lock()
		defer mu.Unlock()
		if len(acked) == 0 {
			t.Fatal("nothing was acknowledged")
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.ConsumeTopics("crash"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		adm := kadm.NewClient(cl)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		ends, err := adm.ListEndOffsets(ctx, "crash")
		if err != nil {
			t.Fatal(err)
		}
		total := int64(0)
		ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
		found := map[string][]ack{}
		for n := int64(0); n < total; {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("read %d of %d records", n, total)
			}
			fs.EachRecord(func(r *kgo.Record) {
				found[string(r.Value)] = append(found[string(r.Value)], ack{r.Partition, r.Offset})
				n++
			})
		}
		for v, a := range acked {
			f := found[v]
			if len(f) != 1 || f[0] != a {
				t.Fatalf("acknowledged %s at %v, found at %v", v, a, f)
			}
		}
		t.Logf("%s: %d acknowledged records over 5 SIGKILLs, %d records in the log, all acknowledged ones in place", io, len(acked), total)
	})
}
