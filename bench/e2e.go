package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// sendTimeBytes is the prefix of an e2e record's value: the time the
// record was due to be sent, in unix nanoseconds. Kafka's record
// timestamps have millisecond resolution, too coarse for a sub-5 ms
// target, so the benchmark carries its own.
const sendTimeBytes = 8

// E2E produces at a fixed rate while a consumer reads the same topic, and
// measures each record's latency from the time it was due to be sent to
// the time it was consumed. Measuring from the due time, not the actual
// send, keeps a stalled producer from hiding the stall (coordinated
// omission). Every acknowledged record must arrive.
func E2E(ctx context.Context, t Target, s ProduceSpec, p *progress) (*Result, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if s.Rate <= 0 {
		return nil, errors.New("e2e needs a fixed --rate")
	}
	if s.RecordSize < sendTimeBytes {
		return nil, fmt.Errorf("e2e needs --record-size of at least %d", sendTimeBytes)
	}
	if err := createTopic(ctx, t, s.Topic, s.Partitions, s.Replication, s.Recreate); err != nil {
		return nil, err
	}
	// The consumer starts at the end, where this run's records will go.
	_, end, err := endOffsets(ctx, t, s.Topic)
	if err != nil {
		return nil, err
	}
	pool, k, opts, run, err := s.prepare(t)
	if err != nil {
		return nil, err
	}
	producer, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer producer.Close()

	from := map[int32]kgo.Offset{}
	for part, off := range end {
		from[part] = kgo.NewOffset().At(off)
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(t.Bootstrap...), kgo.ClientID("weir-bench"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.Topic: from}),
		kgo.FetchMaxWait(500*time.Millisecond), kgo.WithPools(&recordPool{}))
	if err != nil {
		return nil, err
	}
	defer consumer.Close()

	e2e := newLatencyRecorder()
	got := newSums()
	var consumed, consumedBytes int64
	var mu sync.Mutex
	consumeCtx, stopConsumer := context.WithCancel(ctx)
	defer stopConsumer()
	consumerDone := make(chan struct{})
	go func() {
		defer close(consumerDone)
		for {
			fs := consumer.PollFetches(consumeCtx)
			if consumeCtx.Err() != nil {
				return
			}
			now := time.Now()
			fs.EachRecord(func(r *kgo.Record) {
				// Warm-up records carry due times before measureFrom.
				if due := int64(binary.BigEndian.Uint64(r.Value)); due >= run.measureFrom.Load() && due != 0 {
					e2e.record(now.Sub(time.Unix(0, due)))
				}
				n := int64(len(r.Key) + len(r.Value))
				got.add(r.Partition, n, recordChecksum(r.Key, r.Value))
				mu.Lock()
				consumed++
				consumedBytes += n
				mu.Unlock()
				r.Recycle()
			})
		}
	}()

	// Warm up before the clock starts: records with due time 0, one per
	// partition's worth, until the consumer has seen them all, so that
	// connecting and loading metadata (hundreds of ms) are not measured as
	// the first records' latency. They count in the delivery sums.
	run.measureFrom.Store(math.MaxInt64) // until startMeasuring
	warm := make([]byte, s.RecordSize)
	copy(warm[sendTimeBytes:], pool.values[0][sendTimeBytes:])
	for i := 0; i < s.Partitions; i++ {
		if err := warmUp(ctx, producer, run, warm); err != nil {
			return nil, err
		}
	}
	for wait := time.Now().Add(15 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		c := consumed
		mu.Unlock()
		if c >= int64(s.Partitions) {
			break
		}
		if time.Now().After(wait) {
			return nil, fmt.Errorf("the consumer saw %d of %d warm-up records in 15s", c, s.Partitions)
		}
	}
	run.lat = newLatencyRecorder() // the warm-up's latencies are not the run's

	p.start(s.Warmup+s.Duration, s.Records, &run.records, &run.bytes)
	began := time.Now()
	warmup := s.Warmup
	if s.Records > 0 {
		warmup = 0
	}
	measured := began.Add(warmup)
	meter := run.startMeasuring(measured, t.pids())
	deadline := measured.Add(s.Duration)
	var sent int64 // in the measured window
	for i := int64(0); s.Records <= 0 || i < s.Records; i++ {
		due := began.Add(time.Duration(float64(i) / s.Rate * float64(time.Second)))
		if s.Records <= 0 && due.After(deadline) || ctx.Err() != nil {
			break
		}
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		value := make([]byte, s.RecordSize)
		copy(value, pool.values[int(i)%len(pool.values)])
		binary.BigEndian.PutUint64(value, uint64(due.UnixNano()))
		key, _ := k.next()
		producer.Produce(ctx, &kgo.Record{Key: key, Value: value, Timestamp: due}, run.acked)
		if !due.Before(measured) {
			sent++
		}
	}
	window := time.Since(measured)
	if err := producer.Flush(ctx); err != nil {
		return nil, err
	}
	p.stop()
	// Count what was sent in the measured window from the due times, as
	// the consumer does (franz-go keeps record timestamps to the ms).
	produced := sent - run.errs.Load()
	var acked int64 // with the warm-up
	for _, ps := range run.sums.list() {
		acked += ps.Records
	}
	// Wait (bounded) for the consumer to catch up with every acknowledged record.
	for wait := time.Now().Add(15 * time.Second); time.Now().Before(wait); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		c := consumed
		mu.Unlock()
		if c >= acked {
			break
		}
	}
	elapsed := time.Since(measured)
	stopConsumer()
	<-consumerDone

	res := &Result{
		Scenario: "e2e", Target: t.Name, Label: s.Label(), TargetRate: s.Rate,
		Records: produced, Bytes: run.bytes.Load(), WireBytes: run.wireOf(run.bytes.Load()),
		Elapsed: elapsed, Errors: run.errs.Load(),
		Latency: run.lat.summary(), E2E: e2e.summary(), Partitions: run.sums.list(),
	}
	if run.firstErr != nil {
		res.FirstErr = run.firstErr.Error()
	}
	res.finishCPU(meter())
	// The rate was fixed, so report the achieved rate over the send window.
	res.RecordsPerSec = float64(produced) / window.Seconds()
	res.MBPerSec = float64(res.Bytes) / window.Seconds() / 1e6
	if err := compareSums(res.Partitions, got.list()); err != nil {
		return res, err
	}
	res.Verified = fmt.Sprintf("%d records produced = consumed (count and checksum per partition)", acked)
	return res, nil
}
