// Package tools holds the operator commands run as `weir <command>`:
// topic, produce, consume, group, config and dump-log. They talk to any
// Kafka-compatible broker through franz-go (kgo, kadm), so they work
// against Apache Kafka as well as Weir, and dump-log reads segment files
// directly through logstore (read-only). They never import engine, netio
// or ring.
//
// Every command takes its flags through pflag, prints a human table by
// default and JSON with --output json, and exits 0 when done, 1 when the
// work failed (unreachable broker, unknown topic, a record not written)
// and 2 for bad usage.
package tools
