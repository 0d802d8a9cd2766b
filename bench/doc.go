// Package bench is the benchmark suite run as `weir bench`. It drives any
// Kafka-compatible broker through franz-go clients tuned for throughput,
// and imports nothing of Weir's: a broker is an address (and, when local,
// a pid whose CPU it reads from /proc).
//
// Scenarios:
//   - produce: N producers, record size, payload (JSON-like or random),
//     key distribution, acks, batch size, linger, codec and level,
//     idempotence, max or fixed rate, for a duration or a record count;
//   - consume: N consumers (direct or in a group) read a filled topic from
//     its start to the end offsets seen when the run began;
//   - e2e: a fixed-rate producer and a concurrent consumer; latency from
//     the time each record was due to be sent (carried in its first 8
//     bytes) to the time it was consumed;
//   - matrix: produce over batch sizes x codecs x record sizes x payloads;
//   - compare: starts Weir (--io=uring, --io=std) and kfake as child
//     processes, adds --peer brokers, measures the host's own limits, runs
//     the scenarios against each in alternation (1 KiB produce with acks=1
//     and with acks=all and idempotence, consume, 100 B lz4 produce, e2e at
//     50% and 10% of the max rate and at 20,000 records/s with acks=all,
//     and ping-pong: Metadata round trips over 1 and 16 raw connections),
//     evaluates the goals and lists host ratios for information;
//   - replication: starts three Weir nodes (one quorum) as child processes
//     and produces to RF1 with acks=1, RF3 with acks=1 and RF3 with
//     acks=all in alternation, node 1 leading every partition, so each
//     node's CPU is its role's (leader or follower); it reports the ratios
//     against their targets and checks that the followers hold the
//     leader's bytes (make bench-replication writes bench/REPLICATION.md).
//
// Every run checks its own delivery: producers sum, per partition, the
// records acknowledged and a checksum of their keys and values; consumers
// sum what they read and track offsets, so a lost, duplicated or changed
// record fails the run.
//
// Figures: records/s; MB/s of keys and values before compression and of
// record batches after it ("wire"); produce and e2e latency percentiles
// from HdrHistogram; broker CPU seconds per GB; the clients' CPU. Reports
// are Markdown tables, JSON, and SVG charts drawn with gonum/plot.
package bench
