package engine

import (
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/logstore"
)

// producerWindow is how many of a producer's latest batches a partition
// remembers, as Kafka does: a client keeps at most five in flight, so a
// retried batch is always one of them.
const producerWindow = 5

// seqBatch is one remembered batch of an idempotent producer.
type seqBatch struct {
	firstSeq, lastSeq       int32
	firstOffset, lastOffset int64
}

// producerEntry is one producer's state on one partition.
type producerEntry struct {
	epoch   int16
	batches [producerWindow]seqBatch // ring, newest at (next-1)
	n, next int
	lastTs  int64 // max timestamp of its newest batch (ms), for expiry
}

// producers is a partition's idempotence state: producer id -> entry. It
// belongs to the partition's owner shard, like its appends.
type producers map[int64]*producerEntry

// producerExpiry is Kafka's producer.id.expiration.ms default: a producer
// silent on a partition for a day is forgotten there, so short-lived
// producers don't pile up. A forgotten producer may continue at any
// sequence (see check).
const producerExpiry = 24 * time.Hour

// expire forgets producers whose newest batch is older than producerExpiry.
func (ps producers) expire(now time.Time) {
	cutoff := now.Add(-producerExpiry).UnixMilli()
	for pid, e := range ps {
		if e.lastTs < cutoff {
			delete(ps, pid)
		}
	}
}

// check decides what to do with an idempotent payload before it is
// appended: a retried batch answers with the offsets it got the first
// time (dup), an out-of-order or stale one with an error code. Payloads
// without a producer id, or too short to read, go to the log, which
// validates them.
func (ps producers) check(payload []byte) (dup seqBatch, isDup bool, code int16) {
	b, ok := firstBatch(payload)
	if !ok || b.ProducerID() < 0 {
		return seqBatch{}, false, 0
	}
	first := b.BaseSequence()
	last := incSeq(first, b.LastOffsetDelta())
	e := ps[b.ProducerID()]
	switch {
	case e == nil:
		// No state for this producer (new, or its batches were all
		// deleted by retention): any sequence starts it, as in Kafka
		// since KIP-360.
	case b.ProducerEpoch() < e.epoch:
		return seqBatch{}, false, kerr.InvalidProducerEpoch.Code
	case b.ProducerEpoch() > e.epoch:
		if first != 0 {
			return seqBatch{}, false, kerr.OutOfOrderSequenceNumber.Code
		}
	default:
		for i := 0; i < e.n; i++ {
			s := e.batches[i]
			if s.firstSeq == first && s.lastSeq == last {
				return s, true, 0
			}
		}
		if newest := e.batches[(e.next+producerWindow-1)%producerWindow]; first != incSeq(newest.lastSeq, 1) {
			return seqBatch{}, false, kerr.OutOfOrderSequenceNumber.Code
		}
	}
	return seqBatch{}, false, 0
}

// record remembers the batches of an appended payload (their base offsets
// now assigned).
func (ps producers) record(payload []byte) {
	for len(payload) >= logstore.BatchHeaderSize {
		b := logstore.Batch(payload)
		size := b.Size()
		if size > int64(len(payload)) {
			return
		}
		ps.recordBatch(b)
		payload = payload[size:]
	}
}

// recordBatch remembers one batch (only its header is read).
func (ps producers) recordBatch(b logstore.Batch) {
	pid := b.ProducerID()
	if pid < 0 || b.IsControl() {
		return
	}
	e := ps[pid]
	if e == nil || b.ProducerEpoch() != e.epoch {
		e = &producerEntry{epoch: b.ProducerEpoch()}
		ps[pid] = e
	}
	e.batches[e.next] = seqBatch{
		firstSeq: b.BaseSequence(), lastSeq: incSeq(b.BaseSequence(), b.LastOffsetDelta()),
		firstOffset: b.BaseOffset(), lastOffset: b.LastOffset(),
	}
	e.next = (e.next + 1) % producerWindow
	e.n = min(e.n+1, producerWindow)
	e.lastTs = max(e.lastTs, b.MaxTimestamp())
}

// rebuildProducers recovers a partition's idempotence state from the batch
// headers in its log, so producers keep their sequences across restarts
// and crashes (Kafka reads a snapshot and the log after it; Weir reads the
// headers, which cost a 61-byte read per batch).
func rebuildProducers(l *logstore.Log) (producers, error) {
	ps := producers{}
	err := l.ScanBatches(l.LogStartOffset(), func(b logstore.Batch) error {
		ps.recordBatch(b)
		return nil
	})
	ps.expire(time.Now())
	return ps, err
}

// incSeq adds d to sequence s, wrapping from MaxInt32 to 0 as Kafka's
// producer sequences do.
func incSeq(s, d int32) int32 {
	if s > math.MaxInt32-d {
		return d - (math.MaxInt32 - s) - 1
	}
	return s + d
}

func firstBatch(payload []byte) (logstore.Batch, bool) {
	if len(payload) < logstore.BatchHeaderSize {
		return nil, false
	}
	b := logstore.Batch(payload)
	if b.Size() > int64(len(payload)) || b.Magic() != 2 {
		return nil, false
	}
	return b, true
}
