package netio

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newTestRuntime(t *testing.T, bc backendCase) Runtime {
	t.Helper()
	rt, err := NewRuntime(Config{IO: bc.io, FileSend: bc.fileSend, Shards: 2,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("runtime %s: %v", bc.name, err)
	}
	return rt
}

// TestRuntimeListeners: two listeners share one runtime's shards; closing
// one closes only its connections, and the runtime keeps serving the other
// and running work.
func TestRuntimeListeners(t *testing.T) {
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			rt := newTestRuntime(t, bc)
			ha, hb := &testHandler{}, &testHandler{}
			a, err := rt.Listen(ListenConfig{Addr: "127.0.0.1:0"}, ha)
			if err != nil {
				t.Fatal(err)
			}
			b, err := rt.Listen(ListenConfig{Addr: "127.0.0.1:0", MaxFrameBytes: 64}, hb)
			if err != nil {
				t.Fatal(err)
			}
			if a.Runtime() != rt || b.Runtime() != rt {
				t.Fatal("a listener does not report its runtime")
			}
			var ca, cb []*client
			for i := 0; i < 6; i++ {
				ca = append(ca, dial(t, a))
				cb = append(cb, dial(t, b))
			}
			for i := range ca {
				ca[i].send("echo:a")
				ca[i].expect([]byte("a"))
				cb[i].send("echo:b")
				cb[i].expect([]byte("b"))
			}
			if ha.frames.Load() != 6 || hb.frames.Load() != 6 {
				t.Fatalf("frames reached the wrong handler: a %d, b %d", ha.frames.Load(), hb.frames.Load())
			}
			// Each listener keeps its own frame limit.
			ca[0].send("echo:" + string(pattern(100)))
			ca[0].recv()
			cb[0].send("echo:" + string(pattern(100)))
			cb[0].expectClosed()

			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			if got := hb.closed.Load(); got != 6 {
				t.Fatalf("closing listener b reported %d of its 6 connections closed", got)
			}
			for _, c := range cb[1:] {
				c.expectClosed()
			}
			for _, c := range ca {
				c.send("echo:still")
				c.expect([]byte("still"))
			}
			if ha.closed.Load() != 0 {
				t.Fatalf("closing b closed %d of a's connections", ha.closed.Load())
			}
			done := make(chan struct{})
			rt.Run(1, func() { close(done) })
			<-done

			if err := rt.Close(); err != nil {
				t.Fatal(err)
			}
			if ha.closed.Load() != 6 {
				t.Fatalf("closing the runtime closed %d of a's 6 connections", ha.closed.Load())
			}
			if _, err := rt.Listen(ListenConfig{Addr: "127.0.0.1:0"}, ha); !errors.Is(err, ErrClosed) {
				t.Fatalf("Listen on a closed runtime: %v, want ErrClosed", err)
			}
			a.Close() // after the runtime: a no-op, not a hang
		})
	}
}

// TestRuntimeListenerRestart: a listener closed and opened again on the
// same port serves new connections, on the same runtime.
func TestRuntimeListenerRestart(t *testing.T) {
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			rt := newTestRuntime(t, bc)
			defer rt.Close()
			h := &testHandler{}
			a, err := rt.Listen(ListenConfig{Addr: "127.0.0.1:0"}, h)
			if err != nil {
				t.Fatal(err)
			}
			addr := a.Addr().String()
			c := dial(t, a)
			c.send("echo:1")
			c.expect([]byte("1"))
			a.Close()
			a2, err := rt.Listen(ListenConfig{Addr: addr}, h)
			if err != nil {
				t.Fatalf("listen again on %s: %v", addr, err)
			}
			c2 := dial(t, a2)
			c2.send("echo:2")
			c2.expect([]byte("2"))
		})
	}
}

// TestAfterFunc: timers fire on their shard, no earlier than asked, in
// deadline order (a later, shorter timer first); a stopped one never
// fires; a parked loop wakes for a timer with nothing else to do.
func TestAfterFunc(t *testing.T) {
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			rt := newTestRuntime(t, bc)
			defer rt.Close()
			var mu sync.Mutex
			var order []string
			fired := make(chan string, 8)
			at := func(name string, start time.Time, d time.Duration) func() {
				return func() {
					if el := time.Since(start); el < d {
						t.Errorf("%s fired after %v, before its %v", name, el, d)
					}
					mu.Lock()
					order = append(order, name)
					mu.Unlock()
					fired <- name
				}
			}
			start := time.Now()
			rt.AfterFunc(0, 120*time.Millisecond, at("long", start, 120*time.Millisecond))
			stopped := rt.AfterFunc(0, 60*time.Millisecond, at("stopped", start, 60*time.Millisecond))
			rt.AfterFunc(0, 30*time.Millisecond, at("short", start, 30*time.Millisecond))
			rt.AfterFunc(1, 0, at("now", start, 0))
			if !stopped.Stop() {
				t.Fatal("Stop of a pending timer returned false")
			}
			if stopped.Stop() {
				t.Fatal("a second Stop returned true")
			}
			for i := 0; i < 3; i++ {
				select {
				case <-fired:
				case <-time.After(5 * time.Second):
					t.Fatalf("%d timers never fired", 3-i)
				}
			}
			select {
			case n := <-fired:
				t.Fatalf("%s fired", n)
			case <-time.After(100 * time.Millisecond):
			}
			mu.Lock()
			defer mu.Unlock()
			if len(order) != 3 || order[1] != "short" || order[2] != "long" {
				t.Fatalf("fired in order %v", order)
			}

			// A fired timer's Stop is false; fn runs on the shard it names.
			var onShard atomic.Bool
			ran := make(chan struct{})
			tm := rt.AfterFunc(1, time.Millisecond, func() {
				var mine bool
				done := make(chan struct{})
				// Work posted to the same shard runs only after this fn.
				rt.Run(1, func() { close(done) })
				select {
				case <-done:
				default:
					mine = true
				}
				onShard.Store(mine)
				close(ran)
			})
			<-ran
			if tm.Stop() {
				t.Fatal("Stop after firing returned true")
			}
			if !onShard.Load() {
				t.Fatal("timer fn ran concurrently with its shard's work")
			}
		})
	}
}

// TestAfterFuncAfterClose: timers pending at Close never fire.
func TestAfterFuncAfterClose(t *testing.T) {
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			rt := newTestRuntime(t, bc)
			var fired atomic.Bool
			rt.AfterFunc(0, 20*time.Millisecond, func() { fired.Store(true) })
			rt.Close()
			rt.AfterFunc(0, 0, func() { fired.Store(true) })
			time.Sleep(60 * time.Millisecond)
			if fired.Load() {
				t.Fatal("a timer fired after Close")
			}
		})
	}
}

// TestMaxIdle: a connection with nothing to answer and no request
// completed for MaxIdle is closed, including one whose request trickles in
// too slowly; one waiting for an answer, or sending requests, stays; a
// listener without MaxIdle closes nothing.
func TestMaxIdle(t *testing.T) {
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			rt := newTestRuntime(t, bc)
			defer rt.Close()
			h := &testHandler{}
			// Generous against a loaded machine: a client paused for the
			// bound looks idle, rightly.
			const idle = 600 * time.Millisecond
			srv, err := rt.Listen(ListenConfig{Addr: "127.0.0.1:0", MaxIdle: idle}, h)
			if err != nil {
				t.Fatal(err)
			}
			forever, err := rt.Listen(ListenConfig{Addr: "127.0.0.1:0"}, h)
			if err != nil {
				t.Fatal(err)
			}
			quiet := dial(t, srv)
			kept := dial(t, forever)
			waiting := dial(t, srv)
			waiting.send("late:1000:slow")
			busy := dial(t, srv)
			trickle := dial(t, srv)
			go func() {
				// 4 bytes of size, then one byte per 50 ms of 1000: the
				// request would take 50 s to arrive.
				frame := append([]byte{0, 0, 3, 0xe8}, []byte("echo:")...)
				for i := 0; i < 60; i++ {
					if _, err := trickle.nc.Write(frame[:1]); err != nil {
						return
					}
					if len(frame) > 1 {
						frame = frame[1:]
					}
					time.Sleep(50 * time.Millisecond)
				}
			}()
			deadline := time.Now().Add(1500 * time.Millisecond)
			for i := 0; time.Now().Before(deadline); i++ {
				busy.send(fmt.Sprint("echo:", i))
				busy.expect([]byte(fmt.Sprint(i)))
				time.Sleep(50 * time.Millisecond)
			}
			quiet.expectClosed()
			trickle.expectClosed()
			waiting.expect([]byte("slow")) // answered after 1 s > MaxIdle: not closed while waiting
			kept.send("echo:still")
			kept.expect([]byte("still"))
			busy.send("echo:last")
			busy.expect([]byte("last"))
		})
	}
}
