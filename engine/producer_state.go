package engine

import (
	"math"
	"slices"
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

// rebuildProducers recovers a partition's idempotence state at open and
// after a truncation, so producers keep their sequences across restarts
// and crashes, as Kafka does: from the log's newest producer snapshot
// (written at each segment roll and at a clean close, see
// saveProducerSnapshot) and the batch headers from the start of its
// segment, so the time it takes follows one segment, not the log's size.
// Without a usable snapshot it reads every batch header from the log start
// (a 61-byte read per batch). A producer known only from a snapshot taken
// at a roll remembers its newest batch only (Kafka keeps no more): a retry
// of an older one of its last five is then out of order rather than a
// duplicate.
func rebuildProducers(l *logstore.Log) (producers, error) {
	ps := producers{}
	from := l.LogStartOffset()
	snapAt, entries, haveSnap := l.LatestProducerSnapshot()
	if haveSnap {
		// From the start of the snapshot's segment, not the snapshot
		// itself: a snapshot keeps each producer's newest batch only, and
		// the headers before it in its segment give the producers that
		// wrote there their last five again (a clean shutdown's snapshot
		// sits mid-segment, with retries of those batches likely next).
		from = l.SegmentBaseOf(snapAt)
	}
	err := l.ScanBatches(from, func(b logstore.Batch) error {
		ps.recordBatch(b)
		return nil
	})
	if haveSnap {
		// A producer the scan saw is known better from it: its batches
		// since from include the one the snapshot holds.
		ps.load(slices.DeleteFunc(entries, func(e logstore.ProducerSnapshotEntry) bool {
			return ps[e.ProducerID] != nil
		}))
	}
	ps.expire(time.Now())
	return ps, err
}

// snapshot copies ps for a snapshot file: each producer's newest batch,
// Kafka's entry. It runs on the owner shard, so it stays a plain copy;
// encoding and writing are the log's, off the loop.
func (ps producers) snapshot() []logstore.ProducerSnapshotEntry {
	out := make([]logstore.ProducerSnapshotEntry, 0, len(ps))
	for pid, e := range ps {
		if e.n == 0 {
			continue
		}
		b := e.batches[(e.next+producerWindow-1)%producerWindow]
		out = append(out, logstore.ProducerSnapshotEntry{
			ProducerID: pid, Epoch: e.epoch, LastSequence: b.lastSeq, LastOffset: b.lastOffset,
			OffsetDelta: int32(b.lastOffset - b.firstOffset), Timestamp: e.lastTs,
			CoordinatorEpoch: -1, CurrentTxnFirstOffset: -1,
		})
	}
	return out
}

// load puts a snapshot's entries in ps, each with its one batch. Entries
// without a batch (Kafka writes them for a producer whose only records
// are transaction markers) are skipped: such a producer starts afresh.
func (ps producers) load(entries []logstore.ProducerSnapshotEntry) {
	for _, s := range entries {
		if s.ProducerID < 0 || s.LastOffset < 0 || s.OffsetDelta < 0 || int64(s.OffsetDelta) > s.LastOffset {
			continue
		}
		e := &producerEntry{epoch: s.Epoch, n: 1, next: 1, lastTs: s.Timestamp}
		e.batches[0] = seqBatch{
			firstSeq: decSeq(s.LastSequence, s.OffsetDelta), lastSeq: s.LastSequence,
			firstOffset: s.LastOffset - int64(s.OffsetDelta), lastOffset: s.LastOffset,
		}
		ps[s.ProducerID] = e
	}
}

// saveProducerSnapshot hands the log the producer state of every batch
// below offset, to be written as a `.snapshot` file off the loop: when an
// append rolls a segment (before the append's own batches are recorded)
// and at a clean close. Under writeMu.
func (p *partition) saveProducerSnapshot(offset int64) {
	p.log.SaveProducerSnapshot(offset, p.producers.snapshot())
}

// saveProducerSnapshots snapshots every hosted partition's producer state
// at its log end, on its owner, before the logs close (Kafka does at a
// clean shutdown), so the next start reads no batch headers; the logs'
// Close waits for the files. The listeners and fetchers are stopped: no
// append comes after.
func (b *Broker) saveProducerSnapshots() {
	byOwner := map[int][]*partition{}
	for _, p := range b.parts.Load().byName {
		byOwner[b.owner(p)] = append(byOwner[b.owner(p)], p)
	}
	done := make(chan struct{})
	onOwners(b, byOwner, -1, func(p *partition, _ *fanIn) {
		p.writeMu.Lock()
		defer p.writeMu.Unlock()
		p.saveProducerSnapshot(p.log.LogEndOffset())
	}, func() { close(done) })
	<-done
}

// incSeq adds d to sequence s, wrapping from MaxInt32 to 0 as Kafka's
// producer sequences do.
func incSeq(s, d int32) int32 {
	if s > math.MaxInt32-d {
		return d - (math.MaxInt32 - s) - 1
	}
	return s + d
}

// decSeq subtracts d (>= 0) from sequence s, the inverse of incSeq.
func decSeq(s, d int32) int32 {
	if s < d {
		return math.MaxInt32 - (d - s) + 1
	}
	return s - d
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
