package tools

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// producer hands records to franz-go without waiting for each, and
// collects what every promise says, by line number.
type producer struct {
	cl        *kgo.Client
	topic     string
	partition int32 // -1: the partitioner picks
	timeout   time.Duration
	noAcks    bool // acks=0: the broker answers nothing, offsets are unknown
	lines     int64

	mu        sync.Mutex
	pending   map[int64]bool // lines produced whose promise has not been called
	completed int64          // promises called
	records   int64          // acknowledged
	bytes     int64
	parts     map[int32]*partitionRange
	failures  []lineFailure
}

// lineFailure is one line that did not become an acknowledged record.
type lineFailure struct {
	Line  int64  `json:"line"`
	Error string `json:"error"`
}

// partitionRange is where the acknowledged records of one partition went.
type partitionRange struct {
	Partition   int32 `json:"partition"`
	Records     int64 `json:"records"`
	FirstOffset int64 `json:"first_offset"`
	LastOffset  int64 `json:"last_offset"`
}

func newProducer(cl *kgo.Client, topic string, partition int32, timeout time.Duration) *producer {
	return &producer{cl: cl, topic: topic, partition: partition, timeout: timeout,
		parts: map[int32]*partitionRange{}, pending: map[int64]bool{}}
}

// produceLines turns every line into a record and produces it. A line that
// cannot be a record is a failure of that line; only an input error stops
// the loop.
func (p *producer) produceLines(lr *lineReader, lf *lineFormat) error {
	for {
		line, err := lr.next()
		p.lines = lr.n
		var long *lineTooLongError
		switch {
		case err == io.EOF:
			return nil
		case errors.As(err, &long):
			p.fail(lr.n, err)
			continue
		case err != nil:
			return err
		}
		r, err := lf.record(line)
		if err != nil {
			p.fail(lr.n, err)
			continue
		}
		if p.partition >= 0 {
			r.Partition = p.partition
		}
		n := lr.n
		p.mu.Lock()
		p.pending[n] = true
		p.mu.Unlock()
		p.cl.Produce(context.Background(), r, func(r *kgo.Record, err error) { p.onAck(n, r, err) })
	}
}

func (p *producer) onAck(line int64, r *kgo.Record, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.completed++
	delete(p.pending, line)
	if err != nil {
		if errors.Is(err, kgo.ErrAborting) || errors.Is(err, kgo.ErrRecordTimeout) {
			err = fmt.Errorf("not acknowledged within --request-timeout %v: %w", p.timeout, err)
		}
		p.failures = append(p.failures, lineFailure{line, err.Error()})
		return
	}
	p.records++
	p.bytes += int64(len(r.Key) + len(r.Value))
	pr := p.parts[r.Partition]
	if pr == nil {
		pr = &partitionRange{Partition: r.Partition, FirstOffset: r.Offset, LastOffset: r.Offset}
		p.parts[r.Partition] = pr
	}
	pr.Records++
	pr.FirstOffset = min(pr.FirstOffset, r.Offset)
	pr.LastOffset = max(pr.LastOffset, r.Offset)
}

func (p *producer) fail(line int64, err error) {
	p.mu.Lock()
	p.failures = append(p.failures, lineFailure{line, err.Error()})
	p.mu.Unlock()
}

func (p *producer) completedCount() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.completed
}

// flush waits for every buffered record. It waits as long as records keep
// being acknowledged; once none was for --request-timeout, it aborts the
// rest (their promises fail) instead of waiting forever on a dead broker.
func (p *producer) flush() {
	for {
		before := p.completedCount()
		ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
		err := p.cl.Flush(ctx)
		cancel()
		if err == nil {
			return
		}
		if p.completedCount() == before {
			ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
			p.cl.AbortBufferedRecords(ctx)
			cancel()
			return
		}
	}
}

// produceSummary is what --verbose and --output json print.
type produceSummary struct {
	Topic      string           `json:"topic"`
	Lines      int64            `json:"lines"`
	Records    int64            `json:"records"`
	Bytes      int64            `json:"bytes"`
	Partitions []partitionRange `json:"partitions"`
	Failures   []lineFailure    `json:"failures"`
}

// summary is taken after flush. A line whose promise was not called
// (the abort gave up on a request still in flight) is a failure too: its
// record may or may not have been written, and it was not acknowledged.
func (p *producer) summary() produceSummary {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := produceSummary{Topic: p.topic, Lines: p.lines, Records: p.records, Bytes: p.bytes,
		Partitions: []partitionRange{}, Failures: append([]lineFailure{}, p.failures...)}
	for line := range p.pending {
		s.Failures = append(s.Failures, lineFailure{line, fmt.Sprintf(
			"not acknowledged within --request-timeout %v: still in flight when the tool gave up", p.timeout)})
	}
	for _, pr := range p.parts {
		if p.noAcks {
			pr.FirstOffset, pr.LastOffset = -1, -1
		}
		s.Partitions = append(s.Partitions, *pr)
	}
	sort.Slice(s.Partitions, func(i, j int) bool { return s.Partitions[i].Partition < s.Partitions[j].Partition })
	sort.SliceStable(s.Failures, func(i, j int) bool { return s.Failures[i].Line < s.Failures[j].Line })
	return s
}

// print writes the summary for people.
func (s produceSummary) print(w io.Writer) {
	fmt.Fprintf(w, "%d records (%d bytes of keys and values) written to %s from %d lines\n",
		s.Records, s.Bytes, s.Topic, s.Lines)
	if len(s.Partitions) == 0 {
		return
	}
	t := newTable(w, "PARTITION", "RECORDS", "OFFSETS")
	for _, pr := range s.Partitions {
		offsets := "unknown (acks=0)"
		if pr.FirstOffset >= 0 {
			offsets = fmt.Sprintf("%d-%d", pr.FirstOffset, pr.LastOffset)
		}
		t.row(pr.Partition, pr.Records, offsets)
	}
	t.flush()
}
