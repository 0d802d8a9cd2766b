package engine

import (
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/valyala/bytebufferpool"

	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/netio"
	"github.com/weirmq/weir/replica"
)

// Produce: v0-v13 advertised, v3-v13 served
//
// Behavior:
// * Each partition's batch is appended by the partition's owner shard; the
//   request is split across owners and answered once every part is done.
// * acks 0, 1 and -1 (all = 1 on one node: the leader is the whole ISR);
//   any other value gets INVALID_REQUIRED_ACKS. acks=0 is answered with
//   nothing, and an error on any partition closes the connection so the
//   client refreshes its metadata, as Kafka does.
// * v3+ carries exactly one magic-2 batch per partition, else
//   INVALID_RECORD; damage to the batch's framing or CRC, or records that
//   do not decompress, get CORRUPT_MESSAGE, a batch over max.message.bytes
//   MESSAGE_TOO_LARGE, per partition: the other partitions of the request
//   are unaffected.
// * Every batch's records are decoded, compressed or not, and checked as
//   Kafka's LogValidator does (logstore/validate.go): a record count that
//   disagrees with the records, bytes after the last record, bad record
//   framing or offset deltas other than 0..n-1 get INVALID_RECORD.
// * A batch refused for particular records (keyless records on a topic
//   whose cleanup.policy compacts: INVALID_RECORD; CreateTime timestamps
//   outside message.timestamp.before/after.max.ms, or a LogAppendTime
//   batch from the client: INVALID_TIMESTAMP) is refused whole, as Kafka's
//   LogValidator answers, and v8+ lists each record at fault in
//   RecordErrors (its index in the batch, and a message), with Kafka's
//   summary as the ErrorMessage; LogStartOffset is the log's.
// * Idempotent producers: a retried batch (one of the producer's last five
//   on the partition) gets the offset it got the first time; a gap gets
//   OUT_OF_ORDER_SEQUENCE_NUMBER, an old epoch INVALID_PRODUCER_EPOCH.
// * v0-v2 (magic 0 and 1 message sets) are advertised but refused with
//   UNSUPPORTED_VERSION per partition, as Kafka 4 does (KAFKA-18659):
//   librdkafka 2.0 compresses (gzip, snappy, lz4) only when the advertised
//   range starts at v0.
// * Unknown topics or partitions (not in the request's metadata image) get
//   UNKNOWN_TOPIC_OR_PARTITION (v13: by topic id, UNKNOWN_TOPIC_ID).
//   Transactional produce is not served yet:
//   TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
// * Only the partition's leader in the image appends (leadership.go): a
//   partition led by another broker, or by none (-1), gets
//   NOT_LEADER_OR_FOLLOWER and nothing is appended, as Kafka answers for a
//   follower or a partition it does not host; v10+ adds KIP-951's
//   CurrentLeader (leader id and epoch) to the partition and the leader's
//   endpoint on the request's listener to NodeEndpoints (the Brokers
//   tagged field), when it is registered, unfenced and on that listener.
//   The checks above (version, transactions, acks) come first, as in
//   Kafka. A partition this node leads but has no log for gets
//   UNKNOWN_TOPIC_OR_PARTITION.
//
// Version notes:
// * v3: transactional id; v5: log start offset; v8: record errors and
//   error message; v9: flexible; v10: CurrentLeader and NodeEndpoints
//   (KIP-951); v13: topic ids.

func init() { register(api{key: 0, min: 0, max: 13, handle: handleProduce}) }

// produceMinServed is the oldest Produce version whose batches (magic 2)
// Weir stores.
const produceMinServed = 3

// produceJob is one partition's part of a produce request.
type produceJob struct {
	p       *partition
	payload []byte                     // the batch
	buf     *bytebufferpool.ByteBuffer // holds payload when copied out of the frame
	out     *kmsg.ProduceResponseTopicPartition
}

func handleProduce(b *Broker, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	acksOK := req.Acks == 0 || req.Acks == 1 || req.Acks == -1
	byOwner := map[int][]produceJob{}
	// On the uring backend this runs on the connection's shard loop, the
	// same thread that owns some of the partitions: those are accepted
	// here and now, without a hop, and queued for their partitions'
	// drains (appender.go), which write after this returns.
	here := -1
	if b.appendsInline(r) {
		here = r.conn.Shard()
	}
	offload := b.offloadsAppends()
	// Batches written after this returns (queued, or for other shards)
	// need the frame past this call: keep it when netio can (a large,
	// gathered frame), else copy each batch.
	var releaseFrame func()
	keepTried, kept := false, false
	var leaders []int32 // named in CurrentLeader, for NodeEndpoints
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := &resp.Topics[i]
		*st = kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		name := rt.Topic
		if req.Version >= 13 {
			name = topicNameByID(r.image, rt.TopicID)
		}
		st.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			sp := &st.Partitions[j]
			*sp = kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = -1, -1, -1
			p, code, cur := b.leadership(r, name, rp.Partition, noEpoch)
			switch {
			case req.Version >= 13 && name == "":
				sp.ErrorCode = kerr.UnknownTopicID.Code
			case code == kerr.UnknownTopicOrPartition.Code:
				sp.ErrorCode = code
			case req.Version < produceMinServed:
				sp.ErrorCode = kerr.UnsupportedVersion.Code
			case req.TransactionID != nil:
				sp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
			case !acksOK:
				sp.ErrorCode = kerr.InvalidRequiredAcks.Code
			case code != 0:
				// Led elsewhere: nothing is appended.
				sp.ErrorCode = code
				if req.Version >= 10 {
					sp.CurrentLeader.LeaderID, sp.CurrentLeader.LeaderEpoch = cur.id, cur.epoch
					leaders = append(leaders, cur.id)
				}
			case p == nil:
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case b.owner(p) == here && !offload:
				byOwner[here] = append(byOwner[here], produceJob{p: p, payload: rp.Records, out: sp})
			default:
				if !keepTried {
					keepTried = true
					releaseFrame, kept = r.conn.KeepFrame()
				}
				job := produceJob{p: p, payload: rp.Records, out: sp}
				if !kept {
					job.buf = bytebufferpool.Get()
					job.buf.B = append(job.buf.B[:0], rp.Records...)
					job.payload = job.buf.B
				}
				byOwner[b.owner(p)] = append(byOwner[b.owner(p)], job)
			}
		}
	}
	for _, n := range nodeEndpoints(r.image, r.listener, leaders) {
		nb := kmsg.NewProduceResponseBroker()
		nb.NodeID, nb.Host, nb.Port, nb.Rack = n.id, n.host, n.port, n.rack
		resp.Brokers = append(resp.Brokers, nb)
	}
	// acks=all waits for the ISR at most the request's timeout.
	timeout := time.Duration(max(req.TimeoutMillis, 0)) * time.Millisecond
	finish := func() {
		if releaseFrame != nil {
			releaseFrame() // every append is done with the frame
		}
		b.finishProduce(r, req.Acks, resp)
	}
	onOwners(b, byOwner, here, func(j produceJob, f *fanIn) {
		wait := b.appendOnOwner(j, req.Version, req.Acks, timeout, offload)
		if wait == nil {
			j.release()
			return
		}
		f.hold()
		wait(func() {
			j.release()
			f.release()
		})
	}, finish)
	return nil, nil
}

// release returns the job's copy of its batch, once the append is done.
func (j produceJob) release() {
	if j.buf != nil {
		bytebufferpool.Put(j.buf)
	}
}

// appendsInline says whether r's handler runs on one of the shard
// runtime's loops, so partitions that shard owns can be appended without a hop: true
// on the uring backend (handlers run on the connection's shard loop), false
// on std (handlers run on connection goroutines, owners on workers).
func (b *Broker) appendsInline(r *request) bool {
	return b.shards.OnLoop()
}

// appendOnOwner appends one partition's batch through the partition's
// write path; it runs on the owner shard. It returns a wait when the
// answer comes later: the append itself when offload (the partition's
// drain writes it), a sync the append started (flush.messages) when
// the producer wants an answer, acks=all's wait for the ISR. Call it with
// the function to run then.
func (b *Broker) appendOnOwner(j produceJob, version int16, acks int16, timeout time.Duration,
	offload bool) (wait func(func())) {
	p, out, payload := j.p, j.out, j.payload
	first, ok := firstBatch(payload)
	if ok && first.Size() != int64(len(payload)) {
		out.ErrorCode = kerr.InvalidRecord.Code
		b.setProduceMessage(out, version, "produce v3+ carries exactly one record batch per partition")
		return nil
	}
	// acks=all with fewer in the ISR than min.insync.replicas: refused
	// before anything is written (Kafka's appendRecordsToLeader).
	if code := p.rep.Accept(acks, int(p.minInsync.Load())); code != replica.None {
		out.ErrorCode = int16(code)
		return nil
	}
	if offload {
		return func(then func()) {
			b.submitAppend(p, appendJob{payload: payload, durable: acks != 0,
				then: func(res appendResult, err error) {
					if w := b.answerAppend(p, out, version, acks, timeout, res, err); w != nil {
						w(then)
						return
					}
					then()
				}})
		}
	}
	res, err := p.append(payload, originClient, acks != 0)
	return b.answerAppend(p, out, version, acks, timeout, res, err)
}

// answerAppend answers a partition's append in out, on the owner shard, and
// returns the wait for its durability or replication, if any.
func (b *Broker) answerAppend(p *partition, out *kmsg.ProduceResponseTopicPartition, version int16, acks int16,
	timeout time.Duration, res appendResult, err error) (wait func(func())) {
	if err != nil {
		b.produceError(p, out, version, err)
		return nil
	}
	if acks == -1 && res.LeaderEpoch != p.leaderEpoch {
		// Leadership moved between the drain's write and this
		// answer: the new leader decides what the ISR holds.
		out.ErrorCode = kerr.NotLeaderForPartition.Code
		return nil
	}
	out.BaseOffset, out.LogAppendTime, out.LogStartOffset = res.FirstOffset, res.LogAppendTime, res.LogStartOffset
	var replicated func(then func())
	if acks == -1 && !b.ackBeforeReplication {
		replicated = b.waitReplicated(p, res.LastOffset, timeout, &out.ErrorCode)
	}
	if res.Durable == nil {
		return replicated
	}
	return func(then func()) {
		res.Durable(func(err error) {
			if err != nil {
				out.ErrorCode = kerr.KafkaStorageError.Code
			}
			if replicated != nil {
				replicated(then)
				return
			}
			then()
		})
	}
}

// produceError answers a partition whose append failed. Apart from
// appendOnOwner so that its errors.As targets are not allocated for every
// batch that succeeds.
func (b *Broker) produceError(p *partition, out *kmsg.ProduceResponseTopicPartition, version int16, err error) {
	var seqErr *kerr.Error
	var recErr *logstore.RecordsError
	switch {
	case errors.As(err, &seqErr):
		// Refused by the producer state (sequence, epoch).
		out.ErrorCode = seqErr.Code
		out.LogStartOffset = p.log.LogStartOffset()
	case errors.As(err, &recErr):
		// Kafka's RecordValidationException: the batch is refused whole,
		// the records at fault named (v8+) so the client fails those.
		out.ErrorCode = appendErrorCode(err)
		out.LogStartOffset = p.log.LogStartOffset()
		b.setProduceMessage(out, version, recErr.Error())
		if version >= 8 {
			for _, re := range recErr.Records {
				e := kmsg.NewProduceResponseTopicPartitionErrorRecord()
				e.RelativeOffset, e.ErrorMessage = re.Index, kmsg.StringPtr(re.Message)
				out.ErrorRecords = append(out.ErrorRecords, e)
			}
		}
	default:
		out.ErrorCode = appendErrorCode(err)
		b.setProduceMessage(out, version, err.Error())
		if out.ErrorCode == kerr.KafkaStorageError.Code {
			b.errs.Error("append failed", "topic", p.topic, "partition", p.index, "err", err)
		}
	}
}

func (b *Broker) setProduceMessage(out *kmsg.ProduceResponseTopicPartition, version int16, msg string) {
	if version >= 8 {
		out.ErrorMessage = &msg
	}
}

// appendErrorCode maps a logstore error to the partition's Kafka error.
func appendErrorCode(err error) int16 {
	switch {
	case errors.Is(err, logstore.ErrAppendTooLarge):
		return kerr.RecordListTooLarge.Code
	case errors.Is(err, logstore.ErrTooLarge):
		return kerr.MessageTooLarge.Code
	case errors.Is(err, logstore.ErrCorrupt):
		return kerr.CorruptMessage.Code
	case errors.Is(err, logstore.ErrInvalidRecord):
		return kerr.InvalidRecord.Code
	case errors.Is(err, logstore.ErrInvalidTimestamp):
		return kerr.InvalidTimestamp.Code
	case errors.Is(err, logstore.ErrClosed):
		return kerr.UnknownTopicOrPartition.Code // deleted under the append
	}
	return kerr.KafkaStorageError.Code
}

// finishProduce answers once every partition is done. acks=0 gets no
// bytes; an error there closes the connection instead.
func (b *Broker) finishProduce(r *request, acks int16, resp *kmsg.ProduceResponse) {
	if acks != 0 {
		r.respond(resp)
		return
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				r.conn.Close()
				return
			}
		}
	}
	r.conn.Respond(r.seq, netio.Response{})
}
