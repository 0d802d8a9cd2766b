package netio

import (
	"math/rand"
	"testing"
)

func TestOrdererReleasesInRequestOrder(t *testing.T) {
	for seed := int64(0); seed < 50; seed++ {
		rng := rand.New(rand.NewSource(seed))
		perm := rng.Perm(64)
		var o orderer
		var got []int
		for _, seq := range perm {
			o.put(uint64(seq), Response{Parts: []Part{{Len: int64(seq)}}}, func(r Response) {
				got = append(got, int(r.Parts[0].Len))
			})
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("seed %d: position %d holds response %d", seed, i, v)
			}
		}
		if len(got) != 64 {
			t.Fatalf("seed %d: %d responses out, want 64", seed, len(got))
		}
	}
}

func TestOrdererDropReleasesWaiting(t *testing.T) {
	var o orderer
	released := 0
	rel := func() { released++ }
	o.put(1, Response{Release: rel}, func(Response) { t.Fatal("out of order") })
	o.put(2, Response{Release: rel}, func(Response) { t.Fatal("out of order") })
	o.drop()
	if released != 2 {
		t.Fatalf("released %d, want 2", released)
	}
}

func TestOrdererPanicsOnDuplicate(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic on a second response for one request")
		}
	}()
	var o orderer
	o.put(0, Response{}, func(Response) {})
	o.put(0, Response{}, func(Response) {})
}
