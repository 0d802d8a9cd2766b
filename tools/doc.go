// Package tools holds the operator commands run as `weir <command>`:
// topic, produce, consume, group, config, dump-log and cluster (the
// metadata quorum and the brokers, from DescribeQuorum and
// DescribeCluster). They talk to any
// Kafka-compatible broker through franz-go (kgo, kadm), so they work
// against Apache Kafka as well as Weir, and dump-log reads segment files
// directly through logstore (read-only). They never import engine, netio
// or ring.
//
// Every command takes its flags through pflag, prints a human table by
// default and JSON with --output json, and exits 0 when done, 1 when the
// work failed (unreachable broker, unknown topic, a record not written)
// and 2 for bad usage.
//
// topic, group and config are groups of subcommands (subcommand.go), one
// file per subcommand (topic_create.go, group_reset.go, ...). Each opens a
// session (session.go): a franz-go client whose requests, and the admin
// timeouts sent to the broker, are bounded by --request-timeout. Kafka
// answers per topic, group or partition, so each command checks every
// per-item error code, prints each, and exits 1 if any failed.
// Computations that need no broker (flag parsing in parse.go, the
// reset-offsets plan in reset_plan.go) are kept apart and unit-tested.
package tools
