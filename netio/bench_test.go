package netio

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The figures include the in-process client's CPU: cpu-s/GB is the whole
// process, so compare backends with each other, not with a lone broker.

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func reportCPU(b *testing.B, start float64, bytes int64) {
	if bytes > 0 {
		b.ReportMetric((cpuSeconds()-start)/(float64(bytes)/1e9), "cpu-s/GB")
	}
}

// BenchmarkSink: 4 connections stream frames into a handler that answers
// nothing; measures receive and framing throughput.
func BenchmarkSink(b *testing.B) {
	for _, bc := range backends(b) {
		if bc.fileSend == FileSendSplice {
			continue // same receive path as uring-mmap
		}
		for _, size := range []int{16 << 10, 1 << 20} {
			b.Run(fmt.Sprintf("%s/%dKiB", bc.name, size>>10), func(b *testing.B) {
				h := &testHandler{}
				srv := startServer(b, bc, h, func(c *Config) { c.MaxFrameBytes = 2 << 20 })
				defer srv.Close()
				msg := frame(append([]byte("sink:"), make([]byte, size-5)...))
				const conns = 4
				cs := make([]*client, conns)
				for i := range cs {
					cs[i] = dial(b, srv)
				}
				b.SetBytes(int64(len(msg)))
				start := cpuSeconds()
				b.ResetTimer()
				var wg sync.WaitGroup
				for i, c := range cs {
					n := b.N / conns
					if i < b.N%conns {
						n++
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						for j := 0; j < n; j++ {
							if _, err := c.nc.Write(msg); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				for h.frames.Load() < int64(b.N) {
					time.Sleep(100 * time.Microsecond)
				}
				b.StopTimer()
				reportCPU(b, start, int64(b.N)*int64(len(msg)))
			})
		}
	}
}

// BenchmarkPingPong: 100-byte requests and responses, one in flight per
// connection; reports round trips per second.
func BenchmarkPingPong(b *testing.B) {
	for _, bc := range backends(b) {
		if bc.fileSend == FileSendSplice {
			continue
		}
		for _, conns := range []int{1, 16, 256} {
			b.Run(fmt.Sprintf("%s/%dconns", bc.name, conns), func(b *testing.B) {
				h := &testHandler{}
				srv := startServer(b, bc, h, nil)
				defer srv.Close()
				req := frame([]byte("echo:" + strings.Repeat("p", 95)))
				cs := make([]*client, conns)
				for i := range cs {
					cs[i] = dial(b, srv)
				}
				start := time.Now()
				b.ResetTimer()
				var wg sync.WaitGroup
				for i, c := range cs {
					n := b.N / conns
					if i < b.N%conns {
						n++
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						resp := make([]byte, 4+95)
						for j := 0; j < n; j++ {
							if _, err := c.nc.Write(req); err != nil {
								b.Error(err)
								return
							}
							if _, err := io.ReadFull(c.br, resp); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			})
		}
	}
}

// BenchmarkFileSend: 1 MiB ranges of a page-cached file to one socket, by
// each file-send path; the client reads and discards.
func BenchmarkFileSend(b *testing.B) {
	const fileBytes, chunk = 64 << 20, 1 << 20
	path := filepath.Join(b.TempDir(), "segment.log")
	if err := os.WriteFile(path, pattern(fileBytes), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, bc := range backends(b) {
		b.Run(bc.name, func(b *testing.B) {
			f, err := OpenFile(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Release()
			h := &testHandler{file: f}
			srv := startServer(b, bc, h, nil)
			defer srv.Close()
			c := dial(b, srv)
			b.SetBytes(chunk)
			done := make(chan error, 1)
			go func() {
				var hdr [4]byte
				for i := 0; i < b.N; i++ {
					if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
						done <- err
						return
					}
					if _, err := io.CopyN(io.Discard, c.br, int64(binary.BigEndian.Uint32(hdr[:]))); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			start := cpuSeconds()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.send(fmt.Sprintf("file:%d:%d", (i*chunk)%fileBytes, chunk))
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			reportCPU(b, start, int64(b.N)*chunk)
		})
	}
}
