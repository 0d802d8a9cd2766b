package ring

import (
	"bytes"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func wantRes(t *testing.T, what string, e event, res int32) {
	t.Helper()
	if e.res != res {
		t.Fatalf("%s: res %d (%v), want %d (%v)", what, e.res, errno(e.res), res, errno(res))
	}
}

// TestSQEReuseDoesNotLeakFlags runs ops through a one-entry SQ, so every SQE
// reuses slot 0. With giouring's helpers a write after a DATASYNC fsync
// inherits rw_flags=1 (RWF_HIPRI) and fails; a read after a buffer-select
// recv would select a buffer.
func TestSQEReuseDoesNotLeakFlags(t *testing.T) {
	l := newLoop(t, Options{Entries: 1})
	evs := l.record(opA)
	f := tempFile(t, nil)
	fd := int(f.Fd())
	step := func(what string, res int32) {
		t.Helper()
		n := len(*evs) + 1
		l.runUntil(what, countIs(evs, n))
		wantRes(t, what, (*evs)[n-1], res)
	}
	l.r.PrepFsync(fd, true, Pack(opA, 0))
	step("fsync datasync", 0)
	data := pattern(4096, 1)
	l.r.PrepWrite(fd, ptr(data), len(data), 0, Pack(opA, 1))
	step("write after fsync", 4096)

	a, _ := socketPair(t)
	l.r.PrepRecvMultishot(a, 9, Pack(opA, 2)) // no group 9: fails, but sets BUFFER_SELECT
	step("recv multishot, no group", -int32(unix.ENOBUFS))
	got := heapBuf(4096)
	l.r.PrepRead(fd, ptr(got), len(got), 0, Pack(opA, 3))
	step("read after buffer-select recv", 4096)
	if !bytes.Equal(got, data) {
		t.Fatal("read back different bytes")
	}
	l.r.PrepSend(-1, ptr(got), 1, 0, true, Pack(opA, 4)) // link, then an unlinked nop
	step("linked send", -int32(unix.EBADF))
	l.r.PrepNop(Pack(opA, 5))
	step("nop after a link", 0)
}

func TestRecv(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	evs := l.record(opA)
	a, b := socketPair(t)
	buf := heapBuf(64)
	l.r.PrepRecv(a, ptr(buf), len(buf), Pack(opA, 1))
	l.turn()
	if _, err := unix.Write(b, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	l.runUntil("recv", countIs(evs, 1))
	wantRes(t, "recv", (*evs)[0], 4)
	if string(buf[:4]) != "ping" {
		t.Fatalf("received %q", buf[:4])
	}
}

// TestAcceptMultishot: one SQE accepts several connections; the sockets are
// blocking and close-on-exec; cancelling ends it without F_MORE.
func TestAcceptMultishot(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	evs, cancels := l.record(opA), l.record(opB)
	lfd, addr := listener(t)
	l.r.PrepAcceptMultishot(lfd, Pack(opA, 1))
	l.turn()
	const conns = 5
	for range conns {
		dial(t, addr)
	}
	l.runUntil("accepts", countIs(evs, conns))
	for i, e := range *evs {
		if e.res < 0 || !More(e.flags) {
			t.Fatalf("accept %d: res %d (%v), more %v", i, e.res, errno(e.res), More(e.flags))
		}
		fd := int(e.res)
		closeOnCleanup(t, fd)
		if fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); fl&unix.O_NONBLOCK != 0 {
			t.Errorf("accepted fd %d is non-blocking", fd)
		}
		if fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); fl&unix.FD_CLOEXEC == 0 {
			t.Errorf("accepted fd %d is not close-on-exec", fd)
		}
	}
	l.r.PrepCancelFd(lfd, false, Pack(opB, 0))
	l.runUntil("cancel", func() bool { return len(*cancels) == 1 && len(*evs) == conns+1 })
	wantRes(t, "cancel fd", (*cancels)[0], 0)
	last := (*evs)[conns]
	wantRes(t, "cancelled accept", last, -int32(unix.ECANCELED))
	if More(last.flags) {
		t.Fatal("cancelled accept still has F_MORE")
	}
}

// TestSendLinkedInOrder: four linked MSG_WAITALL sends on one socket arrive
// whole and in order while a slow reader drains the other end.
func TestSendLinkedInOrder(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	evs := l.record(opA)
	c, s := tcpPair(t)
	const chunk, n = 1 << 20, 4
	var want []byte
	got := make(chan []byte, 1)
	go func() { b, _ := readAll(s, chunk*n); got <- b }()
	chunks := make([][]byte, n)
	for i := range chunks {
		chunks[i] = pattern(chunk, byte(i))
		want = append(want, chunks[i]...)
		l.r.PrepSend(c, ptr(chunks[i]), chunk, unix.MSG_WAITALL|unix.MSG_NOSIGNAL, i < n-1,
			Pack(opA, uint64(i)))
	}
	l.runUntil("sends", countIs(evs, n))
	for i, e := range *evs {
		if e.id != uint64(i) || e.res != chunk {
			t.Fatalf("send %d: id %d res %d (%v)", i, e.id, e.res, errno(e.res))
		}
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("received %d bytes, not the %d sent in order", len(b), len(want))
	}
	runtime.KeepAlive(chunks)
}

// TestSendLarge: one 32 MiB MSG_WAITALL send from an mmap completes whole
// although it is many times the socket buffer.
func TestSendLarge(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	evs := l.record(opA)
	c, s := tcpPair(t)
	const size = 32 << 20
	m, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	copy(m, pattern(size, 3))
	got := make(chan []byte, 1)
	go func() { b, _ := readAll(s, size); got <- b }()
	l.r.PrepSend(c, ptr(m), size, unix.MSG_WAITALL|unix.MSG_NOSIGNAL, false, Pack(opA, 0))
	l.runUntil("send", countIs(evs, 1))
	wantRes(t, "large send", (*evs)[0], size)
	if b := <-got; !bytes.Equal(b, m) {
		t.Fatalf("received %d bytes, not the %d sent", len(b), size)
	}
}

func TestReadWriteFsync(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	evs := l.record(opA)
	f := tempFile(t, nil)
	fd := int(f.Fd())
	a, b := pattern(4096, 1), pattern(4096, 2)
	l.r.PrepWrite(fd, ptr(a), len(a), 0, Pack(opA, 0))
	l.r.PrepWrite(fd, ptr(b), len(b), 4096, Pack(opA, 1))
	l.runUntil("writes", countIs(evs, 2))
	l.r.PrepFsync(fd, true, Pack(opA, 2))
	l.r.PrepFsync(fd, false, Pack(opA, 3))
	l.runUntil("fsyncs", countIs(evs, 4))
	got := heapBuf(8192)
	l.r.PrepRead(fd, ptr(got), len(got), 0, Pack(opA, 4))
	l.runUntil("read", countIs(evs, 5))
	for i, res := range []int32{4096, 4096, 0, 0, 8192} {
		wantRes(t, "op", (*evs)[i], res)
	}
	if !bytes.Equal(got, append(append([]byte(nil), a...), b...)) {
		t.Fatal("read back different bytes")
	}
	if disk, _ := os.ReadFile(f.Name()); !bytes.Equal(disk, got) {
		t.Fatal("file holds different bytes")
	}
}

// TestSpliceFileToSocket: a file goes file -> pipe -> socket in linked
// pairs of splices, one pair in flight at a time.
func TestSpliceFileToSocket(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	ins, outs := l.record(opA), l.record(opB)
	const size, chunk = 1 << 20, 64 << 10
	want := pattern(size, 5)
	f := tempFile(t, want)
	pr, pw := pipe(t)
	c, s := tcpPair(t)
	got := make(chan []byte, 1)
	go func() { b, _ := readAll(s, size); got <- b }()
	for off := 0; off < size; off += chunk {
		l.r.PrepSplice(int(f.Fd()), int64(off), pw, -1, chunk, unix.SPLICE_F_MOVE, true,
			Pack(opA, uint64(off)))
		l.r.PrepSplice(pr, -1, c, -1, chunk, unix.SPLICE_F_MOVE, false, Pack(opB, uint64(off)))
		n := off/chunk + 1
		l.runUntil("splice pair", func() bool { return len(*ins) == n && len(*outs) == n })
		wantRes(t, "splice file->pipe", (*ins)[n-1], chunk)
		wantRes(t, "splice pipe->socket", (*outs)[n-1], chunk)
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("received %d bytes, not the file's %d", len(b), size)
	}
}

func TestPollAdd(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	evs := l.record(opA)
	pr, pw := pipe(t)
	l.r.PrepPollAdd(pr, unix.POLLIN, false, Pack(opA, 0))
	l.turn()
	if len(*evs) != 0 {
		t.Fatalf("poll completed on an empty pipe: %+v", *evs)
	}
	if _, err := unix.Write(pw, []byte{1}); err != nil {
		t.Fatal(err)
	}
	l.runUntil("poll", countIs(evs, 1))
	if e := (*evs)[0]; e.res < 0 || e.res&unix.POLLIN == 0 {
		t.Fatalf("poll res %#x (%v), want POLLIN", e.res, errno(e.res))
	}
}

// TestMsgRingBetweenThreads: a ring on one locked thread posts a CQE into a
// DEFER_TASKRUN ring that sleeps in Enter(true) on another thread.
func TestMsgRingBetweenThreads(t *testing.T) {
	type result struct {
		ev  event
		err string
	}
	fdc, resc := make(chan int), make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		r, err := New(Options{Entries: 8})
		if err != nil {
			resc <- result{err: err.Error()}
			close(fdc)
			return
		}
		defer r.Close()
		var got []event
		r.On(opB, func(id uint64, res int32, fl uint32) { got = append(got, event{id, res, fl}) })
		r.On(opC, func(uint64, int32, uint32) { got = append(got, event{}) }) // watchdog
		r.PrepTimeout(5*time.Second, Pack(opC, 0))
		fdc <- r.Fd()
		for len(got) == 0 {
			if err := r.Enter(true); err != nil {
				resc <- result{err: err.Error()}
				return
			}
			r.Dispatch()
		}
		resc <- result{ev: got[0]}
	}()
	target, ok := <-fdc
	if !ok {
		t.Fatal((<-resc).err)
	}
	l := newLoop(t, Options{Entries: 8})
	evs := l.record(opA)
	time.Sleep(20 * time.Millisecond) // let the target block in Enter(true)
	l.r.PrepMsgRing(target, 42, uint64(Pack(opB, 7)), Pack(opA, 1))
	l.runUntil("msg_ring sent", countIs(evs, 1))
	wantRes(t, "msg_ring sender", (*evs)[0], 0)
	res := <-resc
	if res.err != "" || res.ev.id != 7 || res.ev.res != 42 {
		t.Fatalf("target got %+v, want id 7 res 42", res)
	}
}

func TestCancelByUserData(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	reads, cancels := l.record(opA), l.record(opB)
	pr, _ := pipe(t)
	buf := heapBuf(8)
	l.r.PrepRead(pr, ptr(buf), len(buf), ^uint64(0), Pack(opA, 1))
	l.turn()
	l.r.PrepCancel(Pack(opA, 1), Pack(opB, 1))
	l.r.PrepCancel(Pack(opA, 99), Pack(opB, 2))
	l.runUntil("cancel", func() bool { return len(*reads) == 1 && len(*cancels) == 2 })
	wantRes(t, "cancelled read", (*reads)[0], -int32(unix.ECANCELED))
	for _, e := range *cancels {
		want := int32(0)
		if e.id == 2 {
			want = -int32(unix.ENOENT)
		}
		wantRes(t, "cancel", e, want)
	}
}

func TestCancelByFd(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	ops, cancels := l.record(opA), l.record(opB)
	pr, _ := pipe(t)
	buf := heapBuf(8)
	l.r.PrepPollAdd(pr, unix.POLLIN, false, Pack(opA, 0))
	l.r.PrepPollAdd(pr, unix.POLLIN, false, Pack(opA, 1))
	l.r.PrepRead(pr, ptr(buf), len(buf), ^uint64(0), Pack(opA, 2))
	l.turn()
	l.r.PrepCancelFd(pr, true, Pack(opB, 0))
	l.runUntil("cancel", func() bool { return len(*ops) == 3 && len(*cancels) == 1 })
	wantRes(t, "cancel fd all", (*cancels)[0], 3)
	for _, e := range *ops {
		wantRes(t, "cancelled op", e, -int32(unix.ECANCELED))
	}
}

func TestClose(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	evs := l.record(opA)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	l.r.PrepClose(p[1], Pack(opA, 0))
	l.runUntil("close", countIs(evs, 1))
	wantRes(t, "close", (*evs)[0], 0)
	if _, err := unix.FcntlInt(uintptr(p[1]), unix.F_GETFD, 0); err != unix.EBADF {
		t.Fatalf("fd %d after close: %v, want EBADF", p[1], err)
	}
}

func TestShutdown(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	evs := l.record(opA)
	c, s := tcpPair(t)
	l.r.PrepShutdown(c, unix.SHUT_WR, Pack(opA, 0))
	l.runUntil("shutdown", countIs(evs, 1))
	wantRes(t, "shutdown", (*evs)[0], 0)
	if n, err := unix.Read(s, make([]byte, 8)); n != 0 || err != nil {
		t.Fatalf("peer read after SHUT_WR: %d, %v; want EOF", n, err)
	}
}

func TestTimeout(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	evs := l.record(opA)
	start := time.Now()
	l.r.PrepTimeout(20*time.Millisecond, Pack(opA, 0))
	l.r.PrepTimeout(time.Hour, Pack(opA, 1))
	l.runUntil("timeout", countIs(evs, 1))
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("timeout fired after %v", d)
	}
	wantRes(t, "timeout", (*evs)[0], -int32(unix.ETIME))
	l.record(opB)
	l.r.PrepCancel(Pack(opA, 1), Pack(opB, 0))
	l.runUntil("cancelled timeout", countIs(evs, 2))
	wantRes(t, "cancelled timeout", (*evs)[1], -int32(unix.ECANCELED))
}
