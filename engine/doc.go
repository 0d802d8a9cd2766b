// Package engine is the broker: configuration, the request dispatch from
// netio frames to Kafka API handlers, the metadata image, and (later) the
// controller quorum and group coordinator.
//
// Handlers live one file per API key, named by number (18_api_versions.go,
// 03_metadata.go), each opening with the versions it serves. Requests and
// responses are decoded and encoded with franz-go's kmsg. Handlers know
// nothing of io_uring: they see frames and answer through netio.Conn.
//
// engine may import everything below it (netio, ring, logstore, replica);
// nothing in Weir imports engine but cmd/weir.
package engine
