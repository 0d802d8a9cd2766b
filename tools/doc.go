// Package tools will hold the operator commands run as `weir <command>`
// (topic, produce, consume, group, config, dump-log). They talk to any
// Kafka-compatible broker through client libraries and read segment files
// read-only through logstore; they never import engine, netio or ring.
//
// Not built yet: issue 7 ("Operator tools") delivers it.
package tools
