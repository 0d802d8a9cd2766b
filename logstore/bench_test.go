package logstore

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
)

// noSync is a Syncer that syncs nothing: the append benchmarks measure the
// append path into the page cache, as the "fdatasync never" row of
// notes/IOURING.md does (segment rolls would otherwise add a 1 GiB fsync).
type noSync struct{}

func (noSync) Sync(_ []*os.File, _ *os.File, done func(error)) { done(nil) }

// benchBatch is one valid batch of about size bytes.
func benchBatch(size int) []byte {
	records := max(1, size/1024)
	value := (size - BatchHeaderSize) / records
	value -= 10 // record framing
	return makeBatch(batchSpec{records: records, valueSize: value, ts: 1})
}

// BenchmarkAppend: append throughput (MB/s) for 1 KiB, 16 KiB and 1 MiB
// batches into 1 GiB segments whose disk is reserved in steps (the
// default), with write(2) (PwriteIO, the default) and with io_uring
// (uringIO: on ext4 a buffered write always goes to an io-wq worker);
// "handoff" is write(2) on another goroutine, the caller waiting, the hop
// the engine's append drains take off a shard loop, against io_uring's hop
// to io-wq; "write-whole" reserves each segment whole at its first append
// (preallocate=true), for comparison. Validation and the CRC-32C check of
// every batch are included.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10, 1 << 20} {
		for _, kind := range []string{"write", "write-whole", "handoff", "uring"} {
			b.Run(fmt.Sprintf("%dKiB/%s", size>>10, kind), func(b *testing.B) {
				run := func(io FileIO) {
					cfg := DefaultConfig()
					cfg.Preallocate = kind == "write-whole"
					cfg.MaxMessageBytes = 2 << 20
					l, err := Open(b.TempDir(), "b", 0, cfg, Options{IO: io, Syncer: noSync{}, Logger: quietLogger()}, OpenState{})
					if err != nil {
						b.Fatal(err)
					}
					defer l.Close()
					batch := benchBatch(size)
					b.SetBytes(int64(len(batch)))
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if _, err := l.Append(batch, 0); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
				}
				switch kind {
				case "handoff":
					h := newHandoffIO()
					defer h.close()
					run(h)
					return
				case "write", "write-whole":
					run(PwriteIO{})
					return
				}
				withUring(b, func(u *uringIO) { run(u) })
			})
		}
	}
}

// BenchmarkRead: the cost of turning a fetch offset into a file range over
// a 64 MiB log of 1 KiB batches (index lookup, header scan, the range end by
// maxBytes): one batch, and a 1 MiB fetch.
func BenchmarkRead(b *testing.B) {
	cfg := DefaultConfig()
	cfg.SegmentBytes = 16 << 20
	l, err := Open(b.TempDir(), "b", 0, cfg, Options{Syncer: noSync{}, Logger: quietLogger()}, OpenState{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	batch := benchBatch(1 << 10)
	for l.Size() < 64<<20 {
		if _, err := l.Append(batch, 0); err != nil {
			b.Fatal(err)
		}
	}
	leo := l.LogEndOffset()
	for _, maxBytes := range []int64{1, 1 << 20} {
		b.Run(fmt.Sprintf("maxBytes=%d", maxBytes), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				s, err := l.Read(rng.Int64N(leo), maxBytes, leo)
				if err != nil || s.Seg == nil {
					b.Fatal(err)
				}
				s.Release()
			}
		})
	}
}

// handoffIO is pwrite(2) on a goroutine of its own, the caller waiting for
// it: one wake-up there and one back per write.
type handoffIO struct {
	PwriteIO
	work chan handoffWrite
}

type handoffWrite struct {
	f    *os.File
	p    []byte
	off  int64
	done chan error
}

func newHandoffIO() *handoffIO {
	h := &handoffIO{work: make(chan handoffWrite)}
	go func() {
		for w := range h.work {
			w.done <- h.PwriteIO.WriteAt(w.f, w.p, w.off)
		}
	}()
	return h
}

func (h *handoffIO) WriteAt(f *os.File, p []byte, off int64) error {
	done := make(chan error, 1)
	h.work <- handoffWrite{f: f, p: p, off: off, done: done}
	return <-done
}

func (h *handoffIO) close() { close(h.work) }
