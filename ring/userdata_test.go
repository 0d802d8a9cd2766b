package ring

import (
	"testing"

	"github.com/pawelgaczynski/giouring"
)

func TestPackRoundTrip(t *testing.T) {
	for _, c := range []struct {
		op uint8
		id uint64
	}{{0, 0}, {1, 1}, {255, IDMax}, {7, 1 << 40}} {
		u := Pack(c.op, c.id)
		if u.Op() != c.op || u.ID() != c.id {
			t.Fatalf("Pack(%d, %d) = %#x: op %d id %d", c.op, c.id, uint64(u), u.Op(), u.ID())
		}
	}
}

func TestPackPanicsOnWideID(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Pack(1, IDMax+1)
}

func TestCQEFlags(t *testing.T) {
	if bid, ok := BufferID(7<<16 | giouring.CQEFBuffer | giouring.CQEFMore); !ok || bid != 7 {
		t.Fatalf("BufferID: %d, %v", bid, ok)
	}
	if _, ok := BufferID(7 << 16); ok {
		t.Fatal("BufferID without F_BUFFER")
	}
	if !More(giouring.CQEFMore) || More(giouring.CQEFBuffer) {
		t.Fatal("More")
	}
}
