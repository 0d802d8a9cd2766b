package ring

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// recvLog collects a multishot receive's completions and their bytes.
type recvLog struct {
	evs  []event
	data []byte
	bids []uint16
}

func (l *loop) recordRecv(t *testing.T, b *BufRing, op uint8) *recvLog {
	log := &recvLog{}
	l.r.On(op, func(id uint64, res int32, flags uint32) {
		log.evs = append(log.evs, event{id, res, flags})
		bid, ok := BufferID(flags)
		if res > 0 {
			if !ok {
				t.Errorf("recv of %d bytes without F_BUFFER", res)
				return
			}
			log.data = append(log.data, b.Buf(bid, int(res))...)
			log.bids = append(log.bids, bid)
		}
	})
	return log
}

// TestRecvMultishotBufRing walks a multishot receive through its life:
// data with F_MORE, the buffer ring running dry (-ENOBUFS ends it), arming
// again on an empty ring (fails at once), re-arming after recycling, and EOF
// ending it without F_MORE.
func TestRecvMultishotBufRing(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	b, err := NewBufRing(l.r, 3, 4, 16)
	if err != nil {
		t.Fatal(err)
	}
	log := l.recordRecv(t, b, opA)
	a, peer := socketPair(t)
	l.r.PrepRecvMultishot(a, 3, Pack(opA, 1))
	l.turn()

	write(t, peer, []byte("hello"))
	l.runUntil("hello", func() bool { return len(log.evs) == 1 })
	if e := log.evs[0]; e.res != 5 || !More(e.flags) || string(log.data) != "hello" {
		t.Fatalf("first recv %+v %q: want 5 bytes with F_MORE", e, log.data)
	}
	b.Recycle(log.bids[0])
	b.Publish()

	// 100 bytes into 4 buffers of 16: 64 bytes, then -ENOBUFS without F_MORE.
	want := pattern(100, 9)
	write(t, peer, want)
	l.runUntil("ring dry", func() bool { return len(log.evs) == 6 })
	for i, e := range log.evs[1:5] {
		if e.res != 16 || !More(e.flags) {
			t.Fatalf("recv %d: %+v, want 16 bytes with F_MORE", i+1, e)
		}
	}
	if e := log.evs[5]; e.res != -int32(unix.ENOBUFS) || More(e.flags) {
		t.Fatalf("dry ring: %+v (%v), want -ENOBUFS without F_MORE", e, errno(e.res))
	}

	// Armed on an empty ring it fails at once, data or not.
	l.r.PrepRecvMultishot(a, 3, Pack(opA, 2))
	l.runUntil("empty ring", func() bool { return len(log.evs) == 7 })
	if e := log.evs[6]; e.res != -int32(unix.ENOBUFS) || More(e.flags) {
		t.Fatalf("armed on an empty ring: %+v (%v), want -ENOBUFS", e, errno(e.res))
	}

	for _, bid := range log.bids[1:] {
		b.Recycle(bid)
	}
	b.Publish()
	l.r.PrepRecvMultishot(a, 3, Pack(opA, 3))
	l.runUntil("rest", func() bool { return len(log.data) == 105 })
	if !bytes.Equal(log.data[5:], want) {
		t.Fatalf("received %x, want %x", log.data[5:], want)
	}
	for _, e := range log.evs[7:] {
		if !More(e.flags) {
			t.Fatalf("recv %+v ended early", e)
		}
	}

	unix.Close(peer)
	n := len(log.evs)
	l.runUntil("EOF", func() bool { return len(log.evs) == n+1 })
	if e := log.evs[n]; e.res != 0 || More(e.flags) {
		t.Fatalf("EOF: %+v, want res 0 without F_MORE", e)
	}
}

func write(t *testing.T, fd int, b []byte) {
	t.Helper()
	if n, err := unix.Write(fd, b); err != nil || n != len(b) {
		t.Fatalf("write: %d, %v", n, err)
	}
}

func TestBufRingRejectsBadArgs(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	for _, c := range []struct{ count, size int }{{3, 16}, {0, 16}, {65536, 16}, {4, 0}} {
		if b, err := NewBufRing(l.r, 1, c.count, c.size); err == nil {
			b.Close()
			t.Errorf("NewBufRing(count %d, size %d) succeeded", c.count, c.size)
		}
	}
	b, err := NewBufRing(l.r, 1, 4, 16)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewBufRing(l.r, 1, 4, 16); !errors.Is(err, unix.EEXIST) {
		t.Fatalf("second ring on group 1: %v, want EEXIST", err)
	}
	if b.Count() != 4 || b.Size() != 16 || b.Group() != 1 || len(b.Buf(3, 16)) != 16 {
		t.Fatal("accessors disagree with the arguments")
	}
}

// TestBufRingClose: Close frees the group for reuse, and a BufRing closed
// after its Ring (or never, leaving it to Ring.Close) is fine.
func TestBufRingClose(t *testing.T) {
	l := newLoop(t, Options{Entries: 8})
	b, err := NewBufRing(l.r, 2, 8, 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	b, err = NewBufRing(l.r, 2, 8, 64)
	if err != nil {
		t.Fatalf("group 2 after Close: %v", err)
	}
	if _, err := NewBufRing(l.r, 4, 8, 64); err != nil { // left for Ring.Close
		t.Fatal(err)
	}
	if err := l.r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close after Ring.Close: %v", err)
	}
}
