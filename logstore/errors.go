package logstore

import (
	"errors"
	"fmt"
	"strings"
)

// The errors logstore returns are wrapped with the values involved
// (fmt.Errorf("...: %w", ErrX)); match them with errors.Is. The comment on
// each names the Kafka error code the engine answers with.
var (
	// ErrCorrupt: a batch in an append fails its framing or CRC-32C check,
	// or its records cannot be decoded: framing, compression, or more than
	// the decoder's limit once decompressed (ForEachRecord). A client
	// append answers CORRUPT_MESSAGE for the batch's framing, its CRC and
	// records that cannot be decompressed; the records' own framing is
	// ErrInvalidRecord there, as in Kafka.
	ErrCorrupt = errors.New("corrupt record batch")
	// ErrInvalidRecord: a well-formed batch breaks a rule: magic below 2, an
	// unknown codec, a record count that disagrees with the offset delta or
	// with the records the batch holds, bytes after the last record, offset
	// deltas other than 0, 1, 2..., a control batch from a client, a
	// producer id without a sequence, a keyless record on a compacted log
	// (a *RecordsError) (INVALID_RECORD).
	ErrInvalidRecord = errors.New("invalid record batch")
	// ErrInvalidTimestamp: a client batch with a record whose timestamp is
	// outside message.timestamp.before.max.ms / after.max.ms of the
	// broker's clock, or a LogAppendTime batch from a client (always a
	// *RecordsError) (INVALID_TIMESTAMP).
	ErrInvalidTimestamp = errors.New("invalid record timestamp")
	// ErrTooLarge: a batch over max.message.bytes, or an append over
	// segment.bytes (MESSAGE_TOO_LARGE; RECORD_LIST_TOO_LARGE for the latter
	// if the engine wants to tell them apart: see ErrAppendTooLarge).
	ErrTooLarge = errors.New("record batch too large")
	// ErrAppendTooLarge wraps ErrTooLarge for an append bigger than a
	// segment (RECORD_LIST_TOO_LARGE).
	ErrAppendTooLarge = errors.New("append larger than a segment")
	// ErrOffsetOutOfRange: a read, DeleteRecords or timestamp lookup outside
	// [log start, log end] (OFFSET_OUT_OF_RANGE).
	ErrOffsetOutOfRange = errors.New("offset out of range")
	// ErrOffsetsOutOfOrder: a follower append whose offsets do not increase
	// from the log end (the replica fetcher must truncate first).
	ErrOffsetsOutOfOrder = errors.New("offsets out of order")
	// ErrStorage: the disk failed or holds bytes that are not a valid log;
	// the log refuses further appends (KAFKA_STORAGE_ERROR).
	ErrStorage = errors.New("log storage error")
	// ErrNoSpace wraps ErrStorage for an append refused because the disk
	// is full (ENOSPC, EDQUOT): nothing was written, the log stays usable,
	// and the same append succeeds once space is free again.
	ErrNoSpace = fmt.Errorf("%w: no space left on device", ErrStorage)
	// ErrClosed: the log was closed.
	ErrClosed = errors.New("log closed")
)

// RecordError is one record a batch was refused for: its index in the
// batch (0 for the first record) and why (Kafka's ProduceResponse
// RecordError).
type RecordError struct {
	Index   int32
	Message string
}

func (e RecordError) String() string {
	return fmt.Sprintf("RecordError(batchIndex=%d, message='%s')", e.Index, e.Message)
}

// RecordsError is a batch refused because of particular records (Kafka's
// RecordValidationException): a keyless record on a compacted topic, a
// timestamp out of range. It wraps ErrInvalidTimestamp when a timestamp is
// among the causes (INVALID_TIMESTAMP), else ErrInvalidRecord
// (INVALID_RECORD); the engine answers Records as the partition's record
// errors (Produce v8+) and Error as its message. Nothing of the batch was
// written.
type RecordsError struct {
	Records []RecordError // ascending by Index
	// Timestamp: at least one record is refused for its timestamp.
	Timestamp bool
}

// Error is Kafka's message for the refusal (LogValidator's
// processRecordErrors): for timestamps a fixed sentence, else naming at
// most the first three records.
func (e *RecordsError) Error() string {
	if e.Timestamp {
		return "One or more records have been rejected due to invalid timestamp"
	}
	shown := e.Records[:min(len(e.Records), 3)]
	parts := make([]string, len(shown))
	for i, r := range shown {
		parts[i] = r.String()
	}
	return fmt.Sprintf("One or more records have been rejected due to %d record errors in total, "+
		"and only showing the first three errors at most: [%s]", len(e.Records), strings.Join(parts, ", "))
}

func (e *RecordsError) Unwrap() error {
	if e.Timestamp {
		return ErrInvalidTimestamp
	}
	return ErrInvalidRecord
}
