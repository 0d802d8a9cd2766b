package ring

import (
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Wake latency: a loop goroutine locked to its thread sleeps; the benchmark
// signals it and records the time until the loop runs again (p50/p99
// metrics; ns/op is a whole cycle). "asleep" signals 100 µs after the loop
// parked, so the thread is off the CPU and the vCPU idle, as in a quiet
// shard; "parking" signals as soon as it parked. read-baseline is a plain
// blocking read(2) of an eventfd without io_uring: the kernel's and the VM's
// floor for waking a thread.
func BenchmarkWake(b *testing.B) {
	for _, m := range []struct {
		name string
		run  func(*testing.B, time.Duration)
	}{{"waker", benchWaker}, {"msgring", benchMsgRing}, {"channel", benchChannel},
		{"read-baseline", benchBlockingRead}} {
		for _, settle := range []struct {
			name string
			d    time.Duration
		}{{"asleep", 100 * time.Microsecond}, {"parking", 0}} {
			b.Run(m.name+"/"+settle.name, func(b *testing.B) { m.run(b, settle.d) })
		}
	}
}

type sleeper struct {
	base   time.Time
	settle time.Duration
	asleep atomic.Bool
	woke   atomic.Int64 // ns since base when the loop ran again
	acks   atomic.Int64
	stop   atomic.Bool
}

func newSleeper(settle time.Duration) *sleeper {
	return &sleeper{base: time.Now(), settle: settle}
}

func (s *sleeper) now() int64 { return int64(time.Since(s.base)) }

// run is the loop side: block() sleeps until signalled.
func (s *sleeper) run(block func()) {
	for !s.stop.Load() {
		s.asleep.Store(true)
		block()
		s.asleep.Store(false)
		s.woke.Store(s.now())
		s.acks.Add(1)
	}
}

// measure is the benchmark side.
func (s *sleeper) measure(b *testing.B, signal func()) {
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		for !s.asleep.Load() {
		}
		for t := s.now(); s.now()-t < int64(s.settle); {
		}
		t0 := s.now()
		signal()
		for s.acks.Load() != int64(i+1) {
		}
		lat = append(lat, time.Duration(s.woke.Load()-t0))
	}
	b.StopTimer()
	s.stop.Store(true)
	signal() // a no-op if the loop saw stop first: no mechanism loses a signal
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// startLoop runs setup and then s.run on a new locked goroutine.
func startLoop(s *sleeper, setup func() (block func(), done func())) chan struct{} {
	ready, finished := make(chan struct{}), make(chan struct{})
	go func() {
		runtime.LockOSThread()
		block, done := setup()
		close(ready)
		s.run(block)
		done()
		close(finished)
	}()
	<-ready
	return finished
}

func mustNew(opts Options) *Ring {
	r, err := New(opts)
	if err != nil {
		panic(err)
	}
	return r
}

func benchWaker(b *testing.B, settle time.Duration) {
	s := newSleeper(settle)
	var w *Waker
	var pending atomic.Bool
	finished := startLoop(s, func() (func(), func()) {
		r := mustNew(Options{Entries: 64})
		var err error
		if w, err = NewWaker(r, Pack(opWake, 0)); err != nil {
			panic(err)
		}
		r.On(opWake, func(_ uint64, res int32, _ uint32) { w.OnRead(res) })
		block := func() { // the loop protocol, with pending as the inbox
			for !pending.Swap(false) {
				w.Park()
				if !pending.Load() {
					_ = r.Enter(true)
				}
				w.Unpark()
				r.Dispatch()
			}
		}
		return block, func() { w.Close(); r.Close() }
	})
	s.measure(b, func() { pending.Store(true); w.Wake() })
	<-finished
}

func benchMsgRing(b *testing.B, settle time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s := newSleeper(settle)
	var target int
	finished := startLoop(s, func() (func(), func()) {
		r := mustNew(Options{Entries: 64})
		target = r.Fd()
		got := false
		r.On(opB, func(uint64, int32, uint32) { got = true })
		block := func() {
			for got = false; !got; r.Dispatch() {
				_ = r.Enter(true)
			}
		}
		return block, func() { r.Close() }
	})
	sender := mustNew(Options{Entries: 64})
	defer sender.Close()
	sender.On(opA, func(uint64, int32, uint32) {})
	s.measure(b, func() {
		sender.PrepMsgRing(target, 0, uint64(Pack(opB, 0)), Pack(opA, 0))
		_ = sender.Enter(false)
		sender.Dispatch()
	})
	<-finished
}

func benchChannel(b *testing.B, settle time.Duration) {
	s := newSleeper(settle)
	ch := make(chan struct{}, 1) // an inbox: the sender does not wait
	finished := startLoop(s, func() (func(), func()) {
		return func() { <-ch }, func() {}
	})
	s.measure(b, func() { ch <- struct{}{} })
	<-finished
}

func benchBlockingRead(b *testing.B, settle time.Duration) {
	s := newSleeper(settle)
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(efd)
	buf := heapBuf(8)
	finished := startLoop(s, func() (func(), func()) {
		return func() { _, _ = unix.Read(efd, buf) }, func() {}
	})
	s.measure(b, func() { _, _ = unix.Write(efd, eventOne) })
	<-finished
}

// BenchmarkNopBatch: the fixed cost of a loop turn that submits and
// dispatches 64 SQEs with one io_uring_enter.
func BenchmarkNopBatch(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := New(Options{Entries: 128})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	n := 0
	r.On(opA, func(uint64, int32, uint32) { n++ })
	const batch = 64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for i := range batch {
			r.PrepNop(Pack(opA, uint64(i)))
		}
		_ = r.Enter(false)
		r.Dispatch()
	}
	b.StopTimer()
	if n != b.N*batch {
		b.Fatalf("%d completions, want %d", n, b.N*batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/nop")
}

// BenchmarkNopSingle: one SQE per io_uring_enter, the unbatched cost.
func BenchmarkNopSingle(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := New(Options{Entries: 8})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	r.On(opA, func(uint64, int32, uint32) {})
	b.ReportAllocs()
	for range b.N {
		r.PrepNop(Pack(opA, 0))
		_ = r.Enter(false)
		r.Dispatch()
	}
}
