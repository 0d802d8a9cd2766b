package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ProduceSpec is one produce workload.
type ProduceSpec struct {
	Topic         string
	Partitions    int
	Replication   int16 // -1: the broker's default
	Recreate      bool  // delete an existing topic of that name first
	Producers     int   // clients, each with its own connections
	RecordSize    int   // value bytes
	Payload       string
	Keys          string
	Acks          string
	BatchMaxBytes int
	Linger        time.Duration
	Compression   string
	Level         int
	Idempotent    bool
	Rate          float64 // records/s over all producers; 0 = as fast as possible
	Duration      time.Duration
	Warmup        time.Duration // run this long first, unmeasured (not with Records)
	Records       int64         // when > 0, stop after this many instead of Duration
	MaxBuffered   int           // records a producer may have in flight
}

// Label names the workload's parameters in one short line.
func (s ProduceSpec) Label() string {
	l := fmt.Sprintf("%s %s batch=%s %s acks=%s", size(s.RecordSize), s.Payload, size(s.BatchMaxBytes),
		s.Compression, s.Acks)
	if s.Keys != "none" && s.Keys != "" {
		l += " keys=" + s.Keys
	}
	if s.Idempotent {
		l += " idempotent"
	}
	if s.Producers > 1 {
		l += fmt.Sprintf(" producers=%d", s.Producers)
	}
	return l
}

func (s ProduceSpec) check() error {
	switch {
	case s.Topic == "":
		return errors.New("--topic is empty")
	case s.Partitions < 1:
		return errors.New("--partitions must be at least 1")
	case s.Producers < 1:
		return errors.New("--producers must be at least 1")
	case s.RecordSize < 0:
		return errors.New("--record-size must not be negative")
	case s.BatchMaxBytes < 1024:
		return errors.New("--batch-max-bytes must be at least 1024")
	case s.Duration <= 0 && s.Records <= 0:
		return errors.New("give a --duration or a --records count")
	case s.Records > 0 && s.Records < int64(s.Producers):
		return errors.New("--records must be at least --producers (each sends one record first)")
	case s.Rate < 0:
		return errors.New("--rate must not be negative")
	case s.Warmup < 0:
		return errors.New("--warmup must not be negative")
	case s.Idempotent && s.Acks != "all" && s.Acks != "-1":
		return errors.New("--idempotent needs --acks all, as in Kafka")
	}
	if _, err := codec(s.Compression, s.Level); err != nil {
		return err
	}
	_, err := acks(s.Acks)
	return err
}

// producerOpts turns the spec into franz-go options tuned for throughput.
func (s ProduceSpec) producerOpts(t Target) ([]kgo.Opt, error) {
	c, err := codec(s.Compression, s.Level)
	if err != nil {
		return nil, err
	}
	a, err := acks(s.Acks)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(t.Bootstrap...),
		kgo.ClientID("weir-bench"),
		kgo.DefaultProduceTopic(s.Topic),
		kgo.ProducerBatchMaxBytes(int32(s.BatchMaxBytes)),
		kgo.ProducerLinger(s.Linger),
		kgo.ProducerBatchCompression(c),
		kgo.RequiredAcks(a),
		kgo.MaxBufferedRecords(s.MaxBuffered),
		kgo.ProduceRequestTimeout(30 * time.Second),
		kgo.RecordDeliveryTimeout(60 * time.Second),
	}
	if !s.Idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	return opts, nil
}

// produceRun is the shared state of one produce run's producers.
type produceRun struct {
	sums    *sums
	lat     *latencyRecorder
	wire    atomic.Int64
	records atomic.Int64
	bytes   atomic.Int64
	errs    atomic.Int64
	lastAck atomic.Int64 // unix nanos of the latest acknowledgement
	// measureFrom (unix nanos) ends the warm-up: records handed to the
	// client before it count only in the delivery sums. 0 measures all.
	measureFrom atomic.Int64
	allBytes    atomic.Int64 // key and value bytes acknowledged, warm-up included

	errMu    sync.Mutex
	firstErr error
}

// OnProduceBatchWritten counts record-batch bytes as they leave, after
// compression (a franz-go hook).
func (r *produceRun) OnProduceBatchWritten(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.ProduceBatchMetrics) {
	r.wire.Add(int64(m.CompressedBytes))
}

// acked is every record's promise. The record's Timestamp was set when it
// was handed to the client, so it measures the produce latency without a
// closure per record.
func (r *produceRun) acked(rec *kgo.Record, err error) {
	now := time.Now()
	if err != nil {
		if r.errs.Add(1) == 1 {
			r.errMu.Lock()
			r.firstErr = err
			r.errMu.Unlock()
		}
		return
	}
	n := int64(len(rec.Key) + len(rec.Value))
	r.sums.add(rec.Partition, n, recordChecksum(rec.Key, rec.Value))
	r.allBytes.Add(n)
	if rec.Timestamp.UnixNano() < r.measureFrom.Load() {
		return
	}
	r.lat.record(now.Sub(rec.Timestamp))
	r.records.Add(1)
	r.bytes.Add(n)
	r.lastAck.Store(now.UnixNano())
}

// wireOf scales measured key and value bytes to record-batch bytes on the
// wire by the whole run's compression ratio: the hook sees batches as
// they leave, which does not split along the warm-up's edge.
func (r *produceRun) wireOf(bytes int64) int64 {
	all := r.allBytes.Load()
	if all == 0 {
		return 0
	}
	return int64(float64(bytes) * float64(r.wire.Load()) / float64(all))
}

// startMeasuring ends the warm-up at time at: from then on records count,
// and the CPU meter starts. It returns the meter, set once at has passed.
func (r *produceRun) startMeasuring(at time.Time, pids []int) func() *cpuMeter {
	if at.After(time.Now()) {
		r.measureFrom.Store(at.UnixNano())
	}
	return meterFrom(at, pids)
}

// meterFrom starts metering the CPU of pids at time at. It returns the
// meter, set once at has passed (or started when asked before).
func meterFrom(at time.Time, pids []int) func() *cpuMeter {
	if !at.After(time.Now()) {
		m := startCPU(pids...)
		return func() *cpuMeter { return m }
	}
	var m atomic.Pointer[cpuMeter]
	timer := time.AfterFunc(time.Until(at), func() { m.Store(startCPU(pids...)) })
	return func() *cpuMeter {
		if meter := m.Load(); meter != nil {
			return meter
		}
		timer.Stop() // the run ended within its warm-up
		return startCPU(pids...)
	}
}

// Produce runs the workload against t: it creates the topic if needed
// (afresh with Recreate), runs the producers, waits for every record's
// answer and reports.
func Produce(ctx context.Context, t Target, s ProduceSpec, p *progress) (*Result, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := createTopic(ctx, t, s.Topic, s.Partitions, s.Replication, s.Recreate); err != nil {
		return nil, err
	}
	return produceInto(ctx, t, s, p)
}

// prepare makes what a run's producers share: the values, the keys, the
// client options and the run's counters (hooked into the clients).
func (s ProduceSpec) prepare(t Target) (*payloads, *keys, []kgo.Opt, *produceRun, error) {
	pool, err := newPayloads(s.Payload, s.RecordSize, 1)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	k, err := parseKeys(s.Keys, 1)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	opts, err := s.producerOpts(t)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	run := &produceRun{sums: newSums(), lat: newLatencyRecorder()}
	return pool, k, append(opts, kgo.WithHooks(run)), run, nil
}

// produceInto runs the producers against an existing topic.
func produceInto(ctx context.Context, t Target, s ProduceSpec, p *progress) (*Result, error) {
	pool, k, opts, run, err := s.prepare(t)
	if err != nil {
		return nil, err
	}
	clients := make([]*kgo.Client, s.Producers)
	for i := range clients {
		if clients[i], err = kgo.NewClient(opts...); err != nil {
			return nil, err
		}
		defer clients[i].Close()
	}
	warmup := s.Warmup
	if s.Records > 0 {
		warmup = 0 // a counted run measures every record
	}
	if warmup > 0 {
		run.measureFrom.Store(math.MaxInt64) // until startMeasuring
	}
	// One record per client before the clock starts: it connects, loads
	// the topic's metadata and fails the run early when the broker refuses.
	// It counts in the delivery sums (and, in a counted run, as a record).
	for _, cl := range clients {
		if err := warmUp(ctx, cl, run, pool.values[0]); err != nil {
			return nil, err
		}
	}
	p.start(s.Warmup+s.Duration, s.Records, &run.records, &run.bytes)
	defer p.stop()

	start := time.Now().Add(warmup)
	meter := run.startMeasuring(start, t.pids())
	deadline := start.Add(s.Duration)
	var wg sync.WaitGroup
	for i, cl := range clients {
		quota := int64(-1)
		if s.Records > 0 {
			quota = s.Records/int64(s.Producers) - 1 // less the warm-up record
			if i == 0 {
				quota += s.Records % int64(s.Producers)
			}
		}
		wg.Add(1)
		go func(i int, cl *kgo.Client, keys *keys) {
			defer wg.Done()
			produceLoop(ctx, cl, run, pool, keys, i, quota, deadline, s.Rate/float64(s.Producers))
		}(i, cl, k.clone(uint64(i)+1))
	}
	wg.Wait()
	for _, cl := range clients {
		if err := cl.Flush(ctx); err != nil {
			return nil, fmt.Errorf("flush: %w", err)
		}
	}
	end := time.Unix(0, run.lastAck.Load())
	if end.Before(start) {
		end = time.Now()
	}
	res := &Result{
		Scenario: "produce", Target: t.Name, Label: s.Label(), TargetRate: s.Rate,
		Records: run.records.Load(), Bytes: run.bytes.Load(), WireBytes: run.wireOf(run.bytes.Load()),
		Elapsed: end.Sub(start), Errors: run.errs.Load(),
		Latency: run.lat.summary(), Partitions: run.sums.list(),
	}
	if run.firstErr != nil {
		res.FirstErr = run.firstErr.Error()
	}
	res.finishCPU(meter())
	return res, nil
}

// warmUp produces one record synchronously through the run's promise.
func warmUp(ctx context.Context, cl *kgo.Client, run *produceRun, value []byte) error {
	rec := &kgo.Record{Value: value, Timestamp: time.Now()}
	res := cl.ProduceSync(ctx, rec)
	run.acked(rec, res.FirstErr())
	if err := res.FirstErr(); err != nil {
		return fmt.Errorf("first record: %w", err)
	}
	return nil
}

// produceLoop hands records to one client until the deadline or its quota,
// paced to rate records/s when rate > 0. Produce blocks while the client's
// buffer is full, which is what bounds a max-rate run.
func produceLoop(ctx context.Context, cl *kgo.Client, run *produceRun, pool *payloads, k *keys,
	seed int, quota int64, deadline time.Time, rate float64) {
	start := time.Now()
	n := len(pool.values)
	for i := int64(0); quota < 0 || i < quota; i++ {
		now := time.Now()
		if ctx.Err() != nil || (quota < 0 && now.After(deadline)) {
			return
		}
		if rate > 0 {
			due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			if wait := due.Sub(now); wait > 0 {
				time.Sleep(wait)
				now = time.Now()
			}
		}
		key, _ := k.next()
		rec := &kgo.Record{Key: key, Value: pool.values[(int(i)+seed*7919)%n], Timestamp: now}
		cl.Produce(ctx, rec, run.acked)
	}
}
