package bench

import (
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"time"
)

// HostLimits are what this host's hardware and kernel allow, measured in
// the same run as the brokers so that every figure can be read as a
// fraction of them. MB = 1e6 bytes.
type HostLimits struct {
	LoopbackTCP float64 `json:"loopback_tcp_mb_per_sec"` // one stream, 1 MiB writes
	FileWrite   float64 `json:"file_write_mb_per_sec"`   // sequential, buffered (page cache), 1 MiB writes
	Memcpy      float64 `json:"memcpy_mb_per_sec"`       // 64 MiB copies
	CRC32C      float64 `json:"crc32c_mb_per_sec"`       // over 64 MiB
}

// measureHost runs each probe for about d; dir holds the file probe's
// scratch file.
func measureHost(d time.Duration, dir string) (*HostLimits, error) {
	var h HostLimits
	var err error
	if h.LoopbackTCP, err = loopbackTCP(d); err != nil {
		return nil, fmt.Errorf("loopback probe: %w", err)
	}
	if h.FileWrite, err = fileWrite(d, dir); err != nil {
		return nil, fmt.Errorf("file probe: %w", err)
	}
	h.Memcpy = memcpyRate(d)
	h.CRC32C = crcRate(d)
	return &h, nil
}

const chunk = 1 << 20

// loopbackTCP streams 1 MiB writes over one 127.0.0.1 connection.
func loopbackTCP(d time.Duration) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	received := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			received <- 0
			return
		}
		defer c.Close()
		n, _ := io.CopyBuffer(io.Discard, c, make([]byte, chunk))
		received <- n
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return 0, err
	}
	buf := make([]byte, chunk)
	start := time.Now()
	for time.Since(start) < d {
		if _, err := c.Write(buf); err != nil {
			c.Close()
			return 0, err
		}
	}
	c.Close()
	n := <-received
	return float64(n) / time.Since(start).Seconds() / 1e6, nil
}

// fileWrite appends 1 MiB writes to a scratch file (page cache, no fsync:
// what a broker's append costs before the flush policy syncs).
func fileWrite(d time.Duration, dir string) (float64, error) {
	f, err := os.CreateTemp(dir, "weir-bench-probe-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, chunk)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	var n int64
	start := time.Now()
	// Bounded at 2 GiB so a fast disk does not fill a small one.
	for time.Since(start) < d && n < 2<<30 {
		w, err := f.Write(buf)
		if err != nil {
			return 0, err
		}
		n += int64(w)
	}
	return float64(n) / time.Since(start).Seconds() / 1e6, nil
}

func memcpyRate(d time.Duration) float64 {
	src, dst := make([]byte, 64<<20), make([]byte, 64<<20)
	for i := range src {
		src[i] = byte(i)
	}
	var n int64
	start := time.Now()
	for time.Since(start) < d {
		n += int64(copy(dst, src))
	}
	return float64(n) / time.Since(start).Seconds() / 1e6
}

func crcRate(d time.Duration) float64 {
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	var n int64
	var c uint32
	start := time.Now()
	for time.Since(start) < d {
		c = crc32.Update(c, castagnoli, buf)
		n += int64(len(buf))
	}
	_ = c
	return float64(n) / time.Since(start).Seconds() / 1e6
}
