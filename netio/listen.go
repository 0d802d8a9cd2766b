package netio

import (
	"errors"
	"fmt"

	"github.com/weirmq/weir/ring"
)

// NewRuntime starts the shard loops with the backend cfg.IO names. IOAuto
// probes io_uring and falls back to std with a log line saying why.
// cfg.Addr and cfg.MaxFrameBytes are not used: listeners come with Listen.
func NewRuntime(cfg Config) (Runtime, error) {
	cfg = cfg.withDefaults()
	if cfg.FileSend != FileSendMmap && cfg.FileSend != FileSendSplice {
		return nil, fmt.Errorf("netio: unknown file send method %q (want %s or %s)", cfg.FileSend, FileSendMmap, FileSendSplice)
	}
	if n := cfg.RecvBuffers; n&(n-1) != 0 {
		return nil, fmt.Errorf("netio: receive buffer count %d is not a power of two", n)
	}
	switch cfg.IO {
	case IOStd:
		return newStdRuntime(cfg), nil
	case IOUring:
		if _, err := ring.Probe(); err != nil {
			return nil, fmt.Errorf("netio: io_uring unavailable: %w", err)
		}
		return newUringRuntime(cfg)
	case IOAuto:
		if _, err := ring.Probe(); err != nil {
			cfg.Logger.Warn("io_uring unavailable, using the std backend", "err", err)
			return newStdRuntime(cfg), nil
		}
		return newUringRuntime(cfg)
	}
	return nil, fmt.Errorf("netio: unknown backend %q (want %s, %s or %s)", cfg.IO, IOAuto, IOUring, IOStd)
}

// Listen starts a runtime of its own and one listener on it: for tools,
// tests and benchmarks that serve one address. Closing the Server closes
// the runtime too.
func Listen(cfg Config, h Handler) (Server, error) {
	rt, err := NewRuntime(cfg)
	if err != nil {
		return nil, err
	}
	srv, err := rt.Listen(ListenConfig{Addr: cfg.Addr, MaxFrameBytes: cfg.MaxFrameBytes}, h)
	if err != nil {
		rt.Close()
		return nil, err
	}
	return &ownedServer{Server: srv}, nil
}

// ownedServer is a listener that owns its runtime.
type ownedServer struct{ Server }

func (s *ownedServer) Close() error {
	return errors.Join(s.Server.Close(), s.Server.Runtime().Close())
}

func (c ListenConfig) withDefaults() ListenConfig {
	if c.MaxFrameBytes <= 0 {
		c.MaxFrameBytes = DefaultMaxFrameBytes
	}
	return c
}
