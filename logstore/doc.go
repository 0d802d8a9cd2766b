// Package logstore will hold partition logs in Kafka's on-disk format:
// preallocated segments, sparse offset and time indexes, record-batch
// validation, recovery after a crash, and retention.
//
// It must not import any other Weir package: it knows nothing of sockets,
// shards or Kafka APIs. The engine drives it; netio sends its file ranges.
//
// Not built yet: issue 3 ("Log store") delivers it.
package logstore
