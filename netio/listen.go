package netio

import (
	"fmt"

	"github.com/weirmq/weir/ring"
)

// Listen starts serving cfg.Addr with the backend cfg.IO names. IOAuto
// probes io_uring and falls back to std with a log line saying why.
func Listen(cfg Config, h Handler) (Server, error) {
	cfg = cfg.withDefaults()
	if cfg.FileSend != FileSendMmap && cfg.FileSend != FileSendSplice {
		return nil, fmt.Errorf("netio: unknown file send method %q (want %s or %s)", cfg.FileSend, FileSendMmap, FileSendSplice)
	}
	if n := cfg.RecvBuffers; n&(n-1) != 0 {
		return nil, fmt.Errorf("netio: receive buffer count %d is not a power of two", n)
	}
	switch cfg.IO {
	case IOStd:
		return listenStd(cfg, h)
	case IOUring:
		if _, err := ring.Probe(); err != nil {
			return nil, fmt.Errorf("netio: io_uring unavailable: %w", err)
		}
		return listenUring(cfg, h)
	case IOAuto:
		if _, err := ring.Probe(); err != nil {
			cfg.Logger.Warn("io_uring unavailable, using the std backend", "err", err)
			return listenStd(cfg, h)
		}
		return listenUring(cfg, h)
	}
	return nil, fmt.Errorf("netio: unknown backend %q (want %s, %s or %s)", cfg.IO, IOAuto, IOUring, IOStd)
}
