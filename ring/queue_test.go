package ring

import (
	"sync"
	"testing"
)

func TestQueueZeroValue(t *testing.T) {
	var q Queue[string]
	if q.Len() != 0 || len(q.Drain(nil)) != 0 {
		t.Fatal("zero Queue is not empty")
	}
	q.Push("a")
	q.Push("b")
	if q.Len() != 2 {
		t.Fatalf("Len %d, want 2", q.Len())
	}
	got := q.Drain([]string{"x"})
	if len(got) != 3 || got[1] != "a" || got[2] != "b" || q.Len() != 0 {
		t.Fatalf("Drain appended %q, Len %d", got, q.Len())
	}
}

// TestQueueKeepsProducerOrder: with concurrent pushers and a concurrent
// drainer (run with -race), each producer's items come out in its order and
// none is lost or repeated.
func TestQueueKeepsProducerOrder(t *testing.T) {
	type item struct{ producer, seq int }
	var q Queue[item]
	const producers, each = 8, 20000
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				q.Push(item{p, i})
			}
		}()
	}
	next := make([]int, producers)
	var buf []item
	total := 0
	for total < producers*each {
		buf = q.Drain(buf[:0])
		for _, it := range buf {
			if it.seq != next[it.producer] {
				t.Fatalf("producer %d: got seq %d, want %d", it.producer, it.seq, next[it.producer])
			}
			next[it.producer]++
		}
		total += len(buf)
	}
	wg.Wait()
	if rest := q.Drain(nil); len(rest) != 0 {
		t.Fatalf("%d items more than pushed", len(rest))
	}
}

// TestQueueSteadyStateAllocatesNothing: once both slices have grown, a
// push/drain cycle allocates nothing.
func TestQueueSteadyStateAllocatesNothing(t *testing.T) {
	var q Queue[*int]
	v := new(int)
	var dst []*int
	cycle := func() {
		for range 16 {
			q.Push(v)
		}
		dst = q.Drain(dst[:0])
	}
	cycle()
	cycle()
	if a := testing.AllocsPerRun(100, cycle); a != 0 {
		t.Fatalf("%v allocations per cycle", a)
	}
	for _, p := range q.spare[:cap(q.spare)] {
		if p != nil {
			t.Fatal("drained slice still references items")
		}
	}
}
