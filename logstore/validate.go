package logstore

import (
	"errors"
	"fmt"
)

// The records of a client batch are checked before it is appended, as
// Kafka's LogValidator checks them on the leader (validateMessagesAndAssign
// Offsets: assignOffsetsNonCompressed, validateMessagesAndAssignOffsets
// Compressed, validateRecord). ValidateBatch has checked the header; here
// every record is decoded, compressed or not, with the one decoder
// (a Decoder from the pool, one per append: its buffers are reused,
// decompression capped at DefaultDecompressedLimit):
//
//	rule                                     error (Kafka's exception)            code
//	records do not decompress                ErrCorrupt (KafkaException)          CORRUPT_MESSAGE
//	record framing, fewer or more records    ErrInvalidRecord                     INVALID_RECORD
//	  than counted, bytes after the last       (InvalidRecordException)
//	offset delta of record i is not i        ErrInvalidRecord (Kafka rewrites)    INVALID_RECORD
//	compacted topic, record without a key    *RecordsError                        INVALID_RECORD
//	CreateTime record outside before/after   *RecordsError (Timestamp)            INVALID_TIMESTAMP
//	  max.ms of now (-1: no timestamp)
//	LogAppendTime batch from a client        *RecordsError (Timestamp)            INVALID_TIMESTAMP
//	  (unless a CreateTime topic's check
//	  above accepted the record)
//
// Where Kafka differs: it answers UNKNOWN_SERVER_ERROR for records that do
// not decompress (its record iterator throws a plain KafkaException), and
// it rebuilds a compressed batch whose offset deltas are not 0..n-1 (and
// keeps an uncompressed one as sent); Weir stores batches as they come, so
// it refuses them. Record errors are collected over the whole batch; a
// batch-level error stops the walk and wins, as Kafka's exceptions do.
//
// The records' largest timestamp is returned: for CreateTime topics Append
// writes it into the batch's max timestamp, as Kafka's setMaxTimestamp
// does, so the time index and retention never trust the client's header.

// recordRules are the topic settings the records of a client batch are
// held to, and the broker's clock.
type recordRules struct {
	tp            TopicPartition
	compacted     bool  // cleanup.policy holds compact: every record needs a key
	logAppendTime bool  // message.timestamp.type=LogAppendTime
	beforeMaxMs   int64 // message.timestamp.before.max.ms
	afterMaxMs    int64 // message.timestamp.after.max.ms
	nowMs         int64
}

func (l *Log) recordRules(nowMs int64) recordRules {
	return recordRules{
		tp: TopicPartition{l.topic, l.partition}, compacted: l.cfg.compacts(),
		logAppendTime: l.cfg.LogAppendTime, beforeMaxMs: l.cfg.TimestampBeforeMaxMs,
		afterMaxMs: l.cfg.TimestampAfterMaxMs, nowMs: nowMs,
	}
}

// recordCheck is one batch's walk over its records.
type recordCheck struct {
	rules recordRules // a copy: escape analysis would send a pointer to the heap with bad
	batch Batch
	maxTs int64
	bad   *RecordsError // nil until a record is at fault
}

// checkRecords decodes the records of b (a client batch ValidateBatch
// accepted) with d and holds them to rules. It answers the records' largest
// timestamp (-1 when none has one). Errors are described above; nothing
// is allocated unless a record is at fault.
func checkRecords(d *Decoder, b Batch, rules *recordRules) (maxTs int64, err error) {
	c := recordCheck{rules: *rules, batch: b, maxTs: -1}
	err = d.ForEachRecord(b, c.record)
	switch {
	case err != nil:
		return 0, decodeError(err)
	case c.bad != nil:
		return 0, c.bad
	}
	return c.maxTs, nil
}

// decodeError is what a client append answers for the decoder's err: bad
// framing is ErrInvalidRecord, the rest as it is.
func decodeError(err error) error {
	var fe *framingError
	if errors.As(err, &fe) {
		return fmt.Errorf("%w: record framing: %s", ErrInvalidRecord, fe.detail)
	}
	return err
}

// record checks one record; an error is the batch's and stops the walk.
func (c *recordCheck) record(r Record) error {
	if r.OffsetDelta != r.Index {
		return fmt.Errorf("%w: record %d has offset delta %d: a client batch's run 0 to %d",
			ErrInvalidRecord, r.Index, r.OffsetDelta, c.batch.RecordCount()-1)
	}
	c.maxTs = max(c.maxTs, r.Timestamp)
	if c.rules.compacted && r.Key == nil {
		c.fail(r.Index, "Compacted topic cannot accept message without key in topic partition "+
			c.rules.tp.String(), false)
		return nil // Kafka reports a record's key or its timestamp, not both
	}
	if msg := c.rules.timestampError(c.batch, r); msg != "" {
		c.fail(r.Index, msg, true)
	}
	return nil
}

func (c *recordCheck) fail(index int32, msg string, timestamp bool) {
	if c.bad == nil {
		c.bad = &RecordsError{}
	}
	c.bad.Records = append(c.bad.Records, RecordError{Index: index, Message: msg})
	c.bad.Timestamp = c.bad.Timestamp || timestamp
}

// timestampError is Kafka's validateTimestamp: "" when r's timestamp
// passes, else the record error's message (Kafka's words).
func (rr *recordRules) timestampError(b Batch, r Record) string {
	if !rr.logAppendTime && r.Timestamp != -1 {
		// Wrapping arithmetic, as Kafka's longs: the defaults (MaxInt64)
		// accept every timestamp.
		diff := rr.nowMs - r.Timestamp
		if diff > rr.beforeMaxMs || -diff > rr.afterMaxMs {
			return fmt.Sprintf("Timestamp %d of message with offset %d is out of range. "+
				"The timestamp should be within [%d, %d]", r.Timestamp, r.Offset,
				rr.nowMs-rr.beforeMaxMs, rr.nowMs+rr.afterMaxMs)
		}
		return ""
	}
	if b.IsLogAppendTime() {
		return fmt.Sprintf("Invalid timestamp type in message DefaultRecord(offset=%d, timestamp=%d, "+
			"key=%d bytes, value=%d bytes). Producer should not set timestamp type to LogAppendTime.",
			r.Offset, r.Timestamp, len(r.Key), len(r.Value))
	}
	return ""
}
