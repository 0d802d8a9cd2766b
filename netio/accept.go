package netio

import (
	"log/slog"
	"net"
	"time"
)

// Pacing of a listener whose accepts fail: out of descriptors (EMFILE,
// ENFILE) or kernel memory, the connection stays in the backlog and the
// next accept fails at once, so retrying without a pause spins a CPU and
// floods the log. The delay doubles from acceptBackoffMin to
// acceptBackoffMax and resets on the next success; one log line per
// acceptLogEvery says how many accepts failed since the last one.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
	acceptLogEvery   = 10 * time.Second
)

// acceptBackoff is one listener socket's pacing state; its owner (a shard
// loop or an accept goroutine) alone touches it.
type acceptBackoff struct {
	delay    time.Duration
	lastLog  time.Time
	failures int // since the last log line
}

// failed records a failed accept and returns how long to wait before the
// next one, logging at most once per acceptLogEvery.
func (b *acceptBackoff) failed(now time.Time, log *slog.Logger, addr net.Addr, err error) time.Duration {
	b.delay = min(max(2*b.delay, acceptBackoffMin), acceptBackoffMax)
	b.failures++
	if b.lastLog.IsZero() || now.Sub(b.lastLog) >= acceptLogEvery {
		log.Warn("accept failed; retrying with backoff (raise the open-files limit if it says too many open files)",
			"addr", addr, "err", err, "failures", b.failures, "retry_in", b.delay)
		b.lastLog, b.failures = now, 0
	}
	return b.delay
}

// ok resets the delay after a successful accept.
func (b *acceptBackoff) ok() { b.delay = 0 }
