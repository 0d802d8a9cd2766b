package engine

import (
	"context"
	"fmt"
	"hash/crc32"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/logstore"
)

// startCleanerBroker runs a broker whose log cleaner looks every 100 ms
// and whose retention check (which used to compact) practically never runs.
func startCleanerBroker(t *testing.T, kv ...string) (*Broker, *rawClient) {
	t.Helper()
	args := append([]string{"listeners=PLAINTEXT://127.0.0.1:0", "log.cleaner.backoff.ms=100",
		"log.retention.check.interval.ms=3600000"}, smallLogs...)
	b := newTestBroker(t, append(args, kv...)...)
	b.opts.IO, b.opts.Shards = "std", 2
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	return b, dialRaw(t, b.Servers()[0].Addr().String())
}

// produceOneKey appends n one-record batches of key "k", values v0...
func produceOneKey(t *testing.T, c *rawClient, topic string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		batch := makeKeyedBatch(t, 0, []byte("k"))
		batch = setFirstValue(t, batch, fmt.Sprintf("v%d", i))
		resp := send(t, c, produceReq(9, -1, topic, map[int32][]byte{0: batch})).(*kmsg.ProduceResponse)
		if sp := partitionResult(t, resp, 0); sp.ErrorCode != 0 || sp.BaseOffset != int64(i) {
			t.Fatalf("produce %d: %+v", i, sp)
		}
	}
}

// setFirstValue re-encodes a one-record batch with another value.
func setFirstValue(t *testing.T, batch []byte, v string) []byte {
	t.Helper()
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(batch); err != nil {
		t.Fatal(err)
	}
	r := kmsg.Record{Key: []byte("k"), Value: []byte(v)}
	r.Length = int32(len(r.AppendTo(nil)) - 1)
	rb.Records = r.AppendTo(nil)
	rb.Length = 0
	raw := rb.AppendTo(nil)
	rb.Length = int32(len(raw) - 12)
	raw = rb.AppendTo(nil)
	rb.CRC = int32(crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return rb.AppendTo(nil)
}

// readAll reads partition 0 of topic over the wire, from the start to the
// record at last.
func readAll(t *testing.T, addr, topic string, last int64) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.FetchMaxWait(100*time.Millisecond), kgo.SoftwareNameAndVersion("weir-engine-test", "1.0"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for ctx.Err() == nil && (len(recs) == 0 || recs[len(recs)-1].Offset < last) {
		fs := cl.PollFetches(ctx)
		fs.EachError(func(_ string, _ int32, err error) {
			if ctx.Err() == nil {
				t.Logf("fetch %s: %v", topic, err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	if len(recs) == 0 || recs[len(recs)-1].Offset != last {
		t.Fatalf("%s: read %d records, not up to offset %d", topic, len(recs), last)
	}
	return recs
}

// waitRecords waits up to d for topic to hold fewer than below records,
// and answers how many it holds then.
func waitRecords(t *testing.T, addr, topic string, last int64, below int, d time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		n := len(readAll(t, addr, topic, last))
		if n < below || time.Now().After(deadline) {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The cleaner compacts on its own cadence: 300 records of one key over
// ~1 KiB segments shrink to the last value below the active segment plus
// the active segment's records, within a few backoff periods. A topic with
// min.compaction.lag.ms of a minute keeps all its records meanwhile.
func TestLogCleanerCompactsOnItsCadence(t *testing.T) {
	b, c := startCleanerBroker(t)
	addr := b.Servers()[0].Addr().String()
	createTopic(t, b, "compacted", 1, "cleanup.policy=compact", "segment.bytes=1024")
	createTopic(t, b, "lagged", 1, "cleanup.policy=compact", "segment.bytes=1024", "min.compaction.lag.ms=60000")
	produceOneKey(t, c, "compacted", 300)
	produceOneKey(t, c, "lagged", 300)
	start := time.Now()
	n := waitRecords(t, addr, "compacted", 299, 30, 5*time.Second)
	if n >= 30 {
		t.Fatalf("compacted topic holds %d of 300 records after %v", n, time.Since(start))
	}
	t.Logf("compacted to %d records in %v", n, time.Since(start).Round(time.Millisecond))
	recs := readAll(t, addr, "compacted", 299)
	_, l := b.findLog(logstore.TopicPartition{Topic: "compacted", Partition: 0})
	segs := l.SegmentCount()
	if segs < 2 {
		t.Fatalf("%d segments: nothing rolled", segs)
	}
	// Below the active segment one record (the last there) is left; the
	// active segment is whole, up to v299.
	var prev int64 = -1
	below := 0
	for _, r := range recs {
		if r.Offset != prev+1 {
			below++ // a gap: what compaction removed
		}
		prev = r.Offset
	}
	if below != 1 || string(recs[len(recs)-1].Value) != "v299" {
		t.Errorf("records after compaction: %d gaps, last %q", below, recs[len(recs)-1].Value)
	}
	// Ten more backoff periods: the lagged topic is untouched.
	time.Sleep(time.Second)
	if n := len(readAll(t, addr, "lagged", 299)); n != 300 {
		t.Errorf("min.compaction.lag.ms=60000: %d of 300 records left after 1s", n)
	}
}

// max.compaction.lag.ms makes the cleaner compact a log whose dirty ratio
// never qualifies (min.cleanable.dirty.ratio=1); without it such a log is
// left alone. log.cleaner.enable=false compacts nothing.
func TestLogCleanerMaxCompactionLagAndDisable(t *testing.T) {
	b, c := startCleanerBroker(t)
	addr := b.Servers()[0].Addr().String()
	createTopic(t, b, "forced", 1, "cleanup.policy=compact", "segment.bytes=1024",
		"min.cleanable.dirty.ratio=1", "max.compaction.lag.ms=1")
	createTopic(t, b, "ratio-only", 1, "cleanup.policy=compact", "segment.bytes=1024",
		"min.cleanable.dirty.ratio=1")
	produceOneKey(t, c, "forced", 300)
	produceOneKey(t, c, "ratio-only", 300)
	if n := waitRecords(t, addr, "forced", 299, 30, 5*time.Second); n >= 30 {
		t.Fatalf("max.compaction.lag.ms=1: %d of 300 records left", n)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(readAll(t, addr, "ratio-only", 299)); n != 300 {
		t.Errorf("ratio 1 without max.compaction.lag.ms: %d of 300 records left", n)
	}

	off, c2 := startCleanerBroker(t, "log.cleaner.enable=false")
	if off.cleaner != nil {
		t.Fatal("a cleaner runs with log.cleaner.enable=false")
	}
	createTopic(t, off, "compacted", 1, "cleanup.policy=compact", "segment.bytes=1024")
	produceOneKey(t, c2, "compacted", 300)
	time.Sleep(time.Second)
	if n := len(readAll(t, off.Servers()[0].Addr().String(), "compacted", 299)); n != 300 {
		t.Errorf("log.cleaner.enable=false: %d of 300 records left", n)
	}
}

// The cleaner's keys are described with Kafka's defaults and docs, and
// validated.
func TestLogCleanerKeys(t *testing.T) {
	b := newTopicBroker(t)
	_, m := describe(t, b, kmsg.ConfigResourceTypeBroker, "1")
	for name, want := range map[string]string{
		"log.cleaner.enable": "true", "log.cleaner.threads": "1", "log.cleaner.backoff.ms": "15000",
		"log.cleaner.min.compaction.lag.ms": "0", "log.cleaner.max.compaction.lag.ms": "9223372036854775807",
		"log.cleaner.min.cleanable.ratio": "0.5", "log.cleaner.delete.retention.ms": "86400000",
	} {
		e, ok := m[name]
		if !ok || msgOf(e.Value) != want || e.Source != kmsg.ConfigSourceDefaultConfig ||
			e.Documentation == nil || *e.Documentation == "" {
			t.Errorf("%s: %+v, want default %s with a doc", name, e, want)
		}
	}
	createTopic(t, b, "c", 1, "cleanup.policy=compact")
	_, topic := describe(t, b, kmsg.ConfigResourceTypeTopic, "c")
	for name, want := range map[string]string{
		"min.compaction.lag.ms": "0", "max.compaction.lag.ms": "9223372036854775807",
		"min.cleanable.dirty.ratio": "0.5", "delete.retention.ms": "86400000",
	} {
		if e := topic[name]; msgOf(e.Value) != want || e.Documentation == nil {
			t.Errorf("topic %s: %+v, want %s", name, e, want)
		}
	}
	for _, kv := range []string{"log.cleaner.threads=-1", "log.cleaner.backoff.ms=-1",
		"log.cleaner.enable=maybe", "log.cleaner.max.compaction.lag.ms=0", "log.cleaner.min.cleanable.ratio=1.5"} {
		k, v, _ := cut(kv)
		if err := config.New(config.Kafka).Set(k, v, config.SourceFlag); err == nil {
			t.Errorf("%s accepted", kv)
		}
	}
	lc := b.topicConfigOf(b.brokerConfig(), map[string]string{
		"min.compaction.lag.ms": "5", "max.compaction.lag.ms": "7"}).log
	if lc.MinCompactionLagMs != 5 || lc.MaxCompactionLagMs != 7 {
		t.Errorf("log config %+v", lc)
	}
}
