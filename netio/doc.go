// Package netio owns listeners and client connections: it assembles Kafka
// request frames (a 4-byte big-endian size, then the request), hands each
// to a Handler on the connection's shard, and sends responses back in
// request order, including file ranges whose bytes never enter the Go heap.
//
// A Runtime (NewRuntime) is a set of shard loops, created once by the
// broker; listeners (Runtime.Listen) hand their connections to it, and any
// goroutine posts work (Run), group-commit fsyncs (Sync) and timers
// (AfterFunc) to a shard. Listen is a runtime with one listener, for tools
// and tests. Two backends serve one interface:
//
//   - uring: one shard loop per CPU. Each is a goroutine locked to its OS
//     thread and pinned to a CPU; it owns one io_uring (package ring), one
//     socket of every listener (each listener is an SO_REUSEPORT group
//     made with socket(2), one socket per shard), and its timers (a heap,
//     with one kernel timeout armed for the earliest). Accept and receive
//     are multishot, receives land in a provided-buffer ring, and each
//     connection has at most one linked chain of SENDs in flight, so bytes
//     can't reorder. File ranges go out as SENDs from a read-only mmap of
//     the file, or by splice(2) through a pipe: on the loop for chunks the
//     page cache holds (the socket is non-blocking, a full one waits for
//     POLLOUT), by IORING_OP_SPLICE in io-wq for those read from the
//     disk. An eBPF sk_reuseport
//     program per listener places each new connection on the shard of the
//     CPU that received it, where it can load; otherwise the kernel's hash
//     does. Other goroutines reach a shard through its inbox (an MPSC
//     queue) and an eventfd read kept pending in the ring.
//   - std: Go's net package, a reader goroutine per connection and a
//     writer that sends file ranges with sendfile(2), for hosts without
//     io_uring; a worker goroutine per shard runs posted work in order.
//
// Ownership on the uring backend: a shard's goroutine alone touches its
// ring, its buffer ring, its listener sockets, its timer heap and
// everything in its connections (framer, orderer, send queue); Conn
// methods called elsewhere only post a message to the shard's inbox. The
// one lock is the shard's gate, held (shared) by a post around its push
// and wake-up and (exclusive) by the loop's exit, so a late response is
// released, never queued for no one. Closing a listener closes its
// sockets and its connections on every shard and leaves the loops
// running. Memory handed to the kernel stays referenced by the send queue
// (heap bytes) or by the File's references (mappings) until its
// completion.
//
// netio knows nothing of Kafka APIs beyond the frame size prefix. It may
// import ring, x/sys and cilium/ebpf; never engine, logstore or replica.
package netio
