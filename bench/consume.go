package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ConsumeSpec is one consume workload over a topic that already holds
// records: the consumers read from the start up to the end offsets seen
// when the run began.
type ConsumeSpec struct {
	Topic                  string
	Consumers              int
	Group                  string // "" reads partitions directly, as assigned here
	FetchMaxBytes          int
	FetchMaxPartitionBytes int
	FetchMaxWait           time.Duration
	Duration               time.Duration // a bound; the run ends sooner when everything is read
}

// Label names the workload's parameters in one short line.
func (s ConsumeSpec) Label() string {
	l := fmt.Sprintf("fetch=%s partition-fetch=%s", size(s.FetchMaxBytes), size(s.FetchMaxPartitionBytes))
	if s.Group != "" {
		l += " group"
	}
	if s.Consumers > 1 {
		l += fmt.Sprintf(" consumers=%d", s.Consumers)
	}
	return l
}

func (s ConsumeSpec) check() error {
	switch {
	case s.Topic == "":
		return errors.New("--topic is empty")
	case s.Consumers < 1:
		return errors.New("--consumers must be at least 1")
	case s.FetchMaxBytes < 1 || s.FetchMaxPartitionBytes < 1:
		return errors.New("fetch sizes must be positive")
	case s.Duration <= 0:
		return errors.New("--duration must be positive")
	}
	return nil
}

// consumeRun is the shared state of one consume run: per partition, the
// next offset expected, so that a record seen twice (a group rebalance
// re-reads uncommitted records) counts once, and a gap is an error.
type consumeRun struct {
	mu        sync.Mutex
	next, end map[int32]int64
	remaining int64
	sums      *sums
	records   atomic.Int64
	bytes     atomic.Int64
	wire      atomic.Int64
	gaps      int64
	firstGap  string
	done      chan struct{}
	lastRead  time.Time
}

// OnFetchBatchRead counts record-batch bytes as fetched, before
// decompression (a franz-go hook).
func (r *consumeRun) OnFetchBatchRead(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	r.wire.Add(int64(m.CompressedBytes))
}

// take accounts one partition's fetched records.
func (r *consumeRun) take(p kgo.FetchTopicPartition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n, b int64
	for _, rec := range p.Records {
		next, end := r.next[rec.Partition], r.end[rec.Partition]
		switch {
		case rec.Offset >= end, rec.Offset < next:
			continue // past the run's range, or already counted
		case rec.Offset > next:
			// Compacted topics and transaction markers leave holes; a
			// benchmark topic has none, so a hole is lost records.
			r.gaps++
			if r.firstGap == "" {
				r.firstGap = fmt.Sprintf("partition %d: expected offset %d, got %d", rec.Partition, next, rec.Offset)
			}
			r.remaining -= rec.Offset - next
		}
		r.next[rec.Partition] = rec.Offset + 1
		r.remaining--
		size := int64(len(rec.Key) + len(rec.Value))
		n++
		b += size
		r.sums.addLocked(rec.Partition, size, recordChecksum(rec.Key, rec.Value))
	}
	for _, rec := range p.Records {
		rec.Recycle()
	}
	if n > 0 {
		r.records.Add(n)
		r.bytes.Add(b)
		r.lastRead = time.Now()
	}
	if r.remaining <= 0 {
		select {
		case <-r.done:
		default:
			close(r.done)
		}
	}
}

// Consume reads the topic from its start offsets to the end offsets seen
// when the run begins, and reports. It checks offsets as it goes: a record
// missing from the range fails the run.
func Consume(ctx context.Context, t Target, s ConsumeSpec, p *progress) (*Result, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	start, end, err := endOffsets(ctx, t, s.Topic)
	if err != nil {
		return nil, err
	}
	run := &consumeRun{next: start, end: end, sums: newSums(), done: make(chan struct{})}
	for part, e := range end {
		run.remaining += e - start[part]
	}
	if run.remaining == 0 {
		return nil, fmt.Errorf("topic %s is empty on %s: produce to it first", s.Topic, t.Name)
	}
	base := []kgo.Opt{
		kgo.SeedBrokers(t.Bootstrap...),
		kgo.ClientID("weir-bench"),
		kgo.FetchMaxBytes(int32(s.FetchMaxBytes)),
		kgo.FetchMaxPartitionBytes(int32(s.FetchMaxPartitionBytes)),
		kgo.FetchMaxWait(s.FetchMaxWait),
		kgo.WithHooks(run),
		kgo.WithPools(&recordPool{}),
	}
	clients := make([]*kgo.Client, s.Consumers)
	for i := range clients {
		opts := append([]kgo.Opt{}, base...)
		if s.Group != "" {
			opts = append(opts, kgo.ConsumerGroup(s.Group), kgo.ConsumeTopics(s.Topic),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
		} else {
			assigned := map[int32]kgo.Offset{}
			for part, off := range start {
				if int(part)%s.Consumers == i {
					assigned[part] = kgo.NewOffset().At(off)
				}
			}
			if len(assigned) == 0 {
				continue // more consumers than partitions
			}
			opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.Topic: assigned}))
		}
		if clients[i], err = kgo.NewClient(opts...); err != nil {
			return nil, err
		}
		defer clients[i].Close()
	}
	p.start(s.Duration, run.remaining, &run.records, &run.bytes)
	defer p.stop()

	cpu := startCPU(t.pids()...)
	began := time.Now()
	runCtx, cancel := context.WithTimeout(ctx, s.Duration)
	defer cancel()
	var wg sync.WaitGroup
	var fetchErr atomic.Value
	for _, cl := range clients {
		if cl == nil {
			continue
		}
		wg.Add(1)
		go func(cl *kgo.Client) {
			defer wg.Done()
			for {
				fs := cl.PollFetches(runCtx)
				if runCtx.Err() != nil {
					return
				}
				fs.EachError(func(topic string, part int32, err error) {
					fetchErr.CompareAndSwap(nil, fmt.Errorf("fetch %s[%d]: %w", topic, part, err))
				})
				fs.EachPartition(run.take)
				select {
				case <-run.done:
					return
				default:
				}
			}
		}(cl)
	}
	go func() {
		select {
		case <-run.done:
			cancel()
		case <-runCtx.Done():
		}
	}()
	wg.Wait()

	run.mu.Lock()
	elapsed := run.lastRead.Sub(began)
	if run.lastRead.IsZero() {
		elapsed = time.Since(began)
	}
	remaining, gaps, firstGap := run.remaining, run.gaps, run.firstGap
	run.mu.Unlock()
	res := &Result{
		Scenario: "consume", Target: t.Name, Label: s.Label(),
		Records: run.records.Load(), Bytes: run.bytes.Load(), WireBytes: run.wire.Load(),
		Elapsed: elapsed, Errors: gaps, FirstErr: firstGap, Partitions: run.sums.list(),
	}
	res.finishCPU(cpu)
	if remaining > 0 {
		msg := fmt.Sprintf("%d records not read within %v", remaining, s.Duration)
		if e, ok := fetchErr.Load().(error); ok {
			msg += " (" + e.Error() + ")"
		}
		return res, errors.New(msg)
	}
	return res, nil
}
