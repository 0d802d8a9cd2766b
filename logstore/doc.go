// Package logstore holds partition logs in Kafka's on-disk format:
// segments of record batches (disk reserved in steps), sparse offset and time indexes,
// batch validation and offset assignment, recovery after a crash,
// truncation, retention, and the checkpoint files of a log dir.
//
// It must not import any other Weir package: it knows nothing of sockets,
// shards or Kafka APIs. The engine drives it (appends, maintenance, syncs
// through its ring); netio sends the file ranges Read returns.
//
// # Layout
//
//	<log dir>/
//	  recovery-point-offset-checkpoint   offsets below which each log is durable
//	  log-start-offset-checkpoint        each log's first readable offset
//	  replication-offset-checkpoint      each log's high watermark
//	  .kafka_cleanshutdown               present only after a clean Dir.Close
//	  <topic>-<partition>/
//	    00000000000000000000.log         record batches, concatenated
//	    00000000000000000000.index       sparse offset index
//	    00000000000000000000.timeindex   sparse time index
//	    00000000000000368769.log ...     next segment: named by its base offset
//	    00000000000000368769.snapshot    producer state below that offset
//	    leader-epoch-checkpoint
//	    partition.metadata
//	  <topic>-<partition>.<uuid>-delete/ a deleted log, being removed
//	  <topic>-<partition>.<uuid>-stray/  a log set aside, kept (Dir.StrayLog)
//	  <topic>-<partition>.<uuid>-future/ a log moving here from another log
//	                                     dir of the broker (move.go)
//
// A deleted log's directory is renamed at once (Dir.DeleteLog; the log dir
// fsynced) and removed in the background after file.delete.delay.ms; open
// removes `-delete` leftovers in the background and logs `-stray` ones.
// A log moves between log dirs (AlterReplicaLogDirs) through a future
// log that is filled by copying and switched on the owner (move.go, which
// says what a crash at each step leaves and how FinishMoves settles it).
// These names are Kafka's: `<uuid>` is 32 hex digits, and the topic is cut
// so that the name stays within 255 bytes (never a future's: such a move
// is refused).
//
// A `<offset>.snapshot` file is Kafka's producer-state snapshot (format
// version 1, producer_snapshot.go): for each idempotent producer, its
// newest batch below offset (last sequence, last offset, offset delta,
// max timestamp) and epoch, CRC-32C protected. The engine keeps that
// state and hands a copy to SaveProducerSnapshot when an append rolls a
// segment (at the new base) and before a clean close (at the log end);
// one goroutine per log writes the files (temp file, fsync, rename) and
// removes them, in the order asked, so the owner never waits on disk. A
// truncation removes those past the new end, a moved log start those
// below it but the newest; at most three are kept. At open those past
// the log end are removed, and LatestProducerSnapshot serves the newest
// one that decodes, deleting (and logging) any that does not: a torn
// snapshot costs a longer scan of batch headers, never wrong state. A
// moved log takes its newest snapshot along.
//
// Segment names are the base offset in 20 decimal digits. A deleted
// segment's files are renamed with a `.deleted` suffix at once and unlinked
// when the last reader releases them; open removes leftovers. Compaction
// (compact.go) writes `<base>.log.cleaned` (and indexes), renames them to
// `.swap`, then over the old files; open removes `.cleaned` leftovers and
// renames `.swap` files into place.
//
// # Record batch (.log), magic 2; all integers big-endian
//
// These offsets are part of Kafka's format and must not change.
//
//	offset size field
//	+----+---+----------------------+--------------------------------------------+
//	|  0 | 8 | baseOffset           | rewritten by the leader on append          |
//	|  8 | 4 | batchLength          | bytes after this field: size = 12 + length |
//	| 12 | 4 | partitionLeaderEpoch | rewritten by the leader on append          |
//	| 16 | 1 | magic                | 2                                          |
//	| 17 | 4 | crc                  | CRC-32C (Castagnoli) of bytes 21..end      |
//	| 21 | 2 | attributes           | bits 0-2 codec, 3 LogAppendTime,           |
//	|    |   |                      | 4 transactional, 5 control                 |
//	| 23 | 4 | lastOffsetDelta      | records - 1 (for client batches)           |
//	| 27 | 8 | baseTimestamp        |                                            |
//	| 35 | 8 | maxTimestamp         | rewritten for LogAppendTime (with the crc) |
//	| 43 | 8 | producerId           | -1 without idempotence                     |
//	| 51 | 2 | producerEpoch        |                                            |
//	| 53 | 4 | baseSequence         |                                            |
//	| 57 | 4 | recordCount          |                                            |
//	| 61 | . | records              | as the producer sent them, maybe compressed|
//	+----+---+----------------------+--------------------------------------------+
//
// A segment's .log has disk reserved (fallocate) ahead of the write
// position in steps: nothing before the first append, then 64 KiB,
// doubling while each step fills within a second, up to
// segment.preallocate.step.bytes (64 MiB); what a partition reserved is
// given back when it has not been appended to for a minute (at the next
// Maintain). preallocate=true reserves the whole segment.bytes at its first
// append, as Kafka does. Appends write only
// into reserved blocks, so a full disk refuses an append before anything is
// written (ErrNoSpace) and writeback cannot fail for want of space. The
// logical end, the end of the last whole batch, lives in memory, and the
// file is trimmed to it when the segment rolls or the log closes. Bytes
// past it read as zeros, which is where a recovery scan stops.
//
// # Offset index (.index): 8-byte entries
//
//	+--------------------------+--------------------------+
//	| relative offset u32      | position u32             |
//	+--------------------------+--------------------------+
//
// The batch at file position `position` has last offset base+relative
// offset. An entry is added before a batch once more than
// index.interval.bytes of log were written since the last entry (so the
// first batch never has one); offsets and positions strictly increase. A
// lookup takes the last entry at or below the wanted offset and scans batch
// headers forward from its position.
//
// # Time index (.timeindex): 12-byte entries
//
//	+----------------------------------------------+-------------------------+
//	| timestamp i64: max timestamp so far          | relative offset u32     |
//	+----------------------------------------------+-------------------------+
//
// Added with an offset index entry when the segment's max timestamp grew
// since the last entry, and once more on roll, so the last entry holds the
// segment's max timestamp (retention.ms reads it). Timestamps strictly
// increase; the offset is the batch that first reached the timestamp.
//
// The index files' length is their entries: blocks for the entries of the
// reserved log bytes are reserved past their end (fallocate KEEP_SIZE) and
// given back when they are trimmed on roll and close; segment.index.bytes
// only caps the entries (a full index rolls the segment). Their entries are kept in memory (8 or 12
// bytes per index.interval.bytes of log); the files are written from memory
// on roll and close, so an append makes exactly one write syscall. After a
// crash the active segment's indexes are rebuilt from its batches anyway.
//
// # Checkpoint files (text)
//
//	recovery-point-offset-checkpoint,     leader-epoch-checkpoint:
//	log-start-offset-checkpoint,
//	replication-offset-checkpoint:
//	  0                   version           0               version
//	  2                   entry count       2               entry count
//	  orders 0 1042       topic part offset 0 0             epoch start offset
//	  orders 1 977                          3 1042
//
//	partition.metadata:
//	  version: 0
//	  topic_id: <16-byte uuid, URL-safe base64 without padding>
//
// Each is written to a .tmp file, fsynced, renamed over the old one, and the
// directory fsynced.
//
// # Append
//
// Log.Append takes one produce partition payload. Every batch is validated
// before anything is written (framing, magic 2, CRC-32C, codec, record count
// against last offset delta, max.message.bytes, client rules), then its
// records are decoded, decompressing them with the one pooled Decoder, and
// held to Kafka's LogValidator rules (validate.go: the records the header
// counts and no bytes after them, offset deltas 0..n-1, keys on compacted
// topics, timestamps): errors wrap ErrCorrupt, ErrInvalidRecord,
// ErrInvalidTimestamp or ErrTooLarge. Then each batch's base offset and
// leader epoch are rewritten in the caller's buffer (and max timestamp,
// attributes and CRC for LogAppendTime, or when a CreateTime batch's max
// timestamp is not its records' max), the whole payload is written at the
// segment's logical end with one FileIO.WriteAt, compressed as it came, the
// in-memory indexes get their entries, and the new end is published.
// AppendAsFollower keeps the leader's offsets and does not decode records.
//
// # Durability
//
// By default nothing is fsynced but on roll and close: a process crash
// keeps the page cache, so every append that returned survives a SIGKILL.
// flush.messages and flush.ms (Maintain) add syncs, 1 for every append. All
// syncs go through the Syncer (group commit in the engine's ring); the
// recovery point moves when they complete. On open after an unclean stop
// (no clean-shutdown marker) the segments from the recovery point on are
// rescanned: each batch's framing, CRC and offsets; the first bad one and
// everything after it is cut (logged), the indexes rebuilt, later segments
// deleted if the cut was damage rather than unwritten space. Indexes of the
// other segments are checked on open and rebuilt from the log when they fail.
//
// # Concurrency
//
//   - One owner (the shard that owns the partition) calls the mutating
//     methods: Append, AppendAsFollower, Roll, TruncateTo,
//     TruncateFullyAndStartAt, DeleteRecords, SetHighWatermark, Flush,
//     Maintain, ApplyRetention, Compact, SetConfig, SetTopicID, Close. They also
//     take the log's one mutex, uncontended unless the log dir's
//     maintenance goroutine runs Maintain at that moment.
//   - Compact takes the mutex only to pick the segments and to swap the
//     cleaned ones in; it reads and rewrites sealed segments below the high
//     watermark without it. A Cleaner's goroutines (cleaner.go) call it,
//     one at a time per log, besides the owner.
//   - A move (move.go) copies on its own goroutine, reading the log as any
//     reader does and writing only its future log; its Switch runs on the
//     owner, holding the log's mutex, and replaces the Log's segments and
//     directory in place: whoever holds the *Log keeps a valid one. It
//     never waits for a compaction pass (it answers ErrMoveBusy).
//   - Any goroutine may call Read, OffsetForTimestamp, the offset getters
//     (LogEndOffset, LogStartOffset, HighWatermark, RecoveryPoint), Size,
//     EndOffsetForEpoch and LeaderEpochs, concurrently with the owner. They
//     take no log lock: the segment list is an immutable slice behind an
//     atomic pointer, the log end and each segment's logical size are
//     atomics stored after the bytes are written, and index lookups take a
//     per-index read lock.
//   - A Slice from Read holds a reference on its Segment: retention,
//     truncation and close never close or unlink a file a reader holds.
//     Deleted segments are renamed at once and unlinked at the last Release.
//     Bytes below the high watermark never change; a read above it may race
//     a truncation (followers' logs only) and then fails or comes back
//     shorter, never with bytes from another offset.
//   - A sealed segment is trimmed to its logical size at roll, or, if a reader
//     holds it then, at that reader's Release: a mapping of a range Read
//     handed out never faults. Truncation zeroes bytes in place (punch hole)
//     rather than shrinking the file, for the same reason.
//   - Syncer completions may arrive on any goroutine; they only store
//     atomics and release segment references.
package logstore
