package engine

import (
	"math"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/logstore"
)

func TestIncSeqWrapsToZero(t *testing.T) {
	for _, c := range []struct{ s, d, want int32 }{
		{0, 1, 1}, {5, 3, 8}, {math.MaxInt32, 1, 0}, {math.MaxInt32 - 1, 3, 1}, {math.MaxInt32, 0, math.MaxInt32},
	} {
		if got := incSeq(c.s, c.d); got != c.want {
			t.Errorf("incSeq(%d, %d) = %d, want %d", c.s, c.d, got, c.want)
		}
	}
}

// setOffset stamps a base offset into a batch, as an append would.
func setOffset(b []byte, off int64) []byte {
	for i := 0; i < 8; i++ {
		b[i] = byte(off >> (56 - 8*i))
	}
	return b
}

func TestProducerSequencesAcrossTheWrap(t *testing.T) {
	ps := producers{}
	// A batch of 3 ending exactly at MaxInt32, then one starting at 0.
	first := setOffset(makeBatch(7, 0, math.MaxInt32-2, "a", "b", "c"), 0)
	if _, dup, code := ps.check(first); dup || code != 0 {
		t.Fatalf("first batch: dup %v code %d", dup, code)
	}
	ps.record(first)
	next := setOffset(makeBatch(7, 0, 0, "d"), 3)
	if _, dup, code := ps.check(next); dup || code != 0 {
		t.Fatalf("sequence 0 after MaxInt32: dup %v code %d, want accepted", dup, code)
	}
	ps.record(next)
	if d, dup, _ := ps.check(first); !dup || d.firstOffset != 0 {
		t.Fatalf("retry of the batch before the wrap: dup %v at %d", dup, d.firstOffset)
	}
	if _, _, code := ps.check(makeBatch(7, 0, 5, "gap")); code != kerr.OutOfOrderSequenceNumber.Code {
		t.Fatalf("gap after the wrap: code %d", code)
	}
}

// A producer the partition knows nothing of (its batches were deleted)
// may continue at any sequence, as in Kafka since KIP-360.
func TestUnknownProducerAnySequence(t *testing.T) {
	ps := producers{}
	if _, dup, code := ps.check(makeBatch(9, 2, 41, "x")); dup || code != 0 {
		t.Fatalf("unknown producer at sequence 41: dup %v code %d", dup, code)
	}
	var b logstore.Batch = makeBatch(-1, -1, -1, "plain")
	if _, dup, code := ps.check(b); dup || code != 0 {
		t.Fatalf("non-idempotent batch: dup %v code %d", dup, code)
	}
}

func TestProducersExpireAfterADay(t *testing.T) {
	ps := producers{}
	ps.record(setOffset(makeBatch(1, 0, 0, "old"), 0))
	ps.record(setOffset(makeBatch(2, 0, 0, "new"), 1))
	ps[1].lastTs = time.Now().Add(-25 * time.Hour).UnixMilli()
	ps.expire(time.Now())
	if _, ok := ps[1]; ok {
		t.Fatal("a producer silent for 25 hours is still remembered")
	}
	if _, ok := ps[2]; !ok {
		t.Fatal("a current producer was forgotten")
	}
}
