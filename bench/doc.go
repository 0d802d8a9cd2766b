// Package bench will hold the benchmark suite run as `weir bench`:
// producer, consumer and end-to-end scenarios, the batch x compression
// matrix, and peers side by side. It drives brokers through Kafka client
// libraries only, so it measures Weir and any other broker alike.
//
// Not built yet: issue 6 ("Benchmark suite") delivers it. The network
// layer's own benchmarks live in netio (go test -bench).
package bench
