package bench

import (
	"strings"
	"testing"
)

func TestSumsCatchLossDuplicationAndChange(t *testing.T) {
	recs := []struct {
		p    int32
		k, v string
	}{{0, "a", "one"}, {0, "", "two"}, {1, "b", "three"}, {2, "c", "four"}}
	produce := func(skip, dup int, change string) []PartitionSum {
		s := newSums()
		for i, r := range recs {
			if i == skip {
				continue
			}
			v := r.v
			if i == 1 && change != "" {
				v = change
			}
			var key []byte
			if r.k != "" {
				key = []byte(r.k)
			}
			n := 1
			if i == dup {
				n = 2
			}
			for j := 0; j < n; j++ {
				s.add(r.p, int64(len(key)+len(v)), recordChecksum(key, []byte(v)))
			}
		}
		return s.list()
	}
	want := produce(-1, -1, "")
	if err := compareSums(want, produce(-1, -1, "")); err != nil {
		t.Fatalf("same records: %v", err)
	}
	// Order does not matter.
	rev := newSums()
	for i := len(recs) - 1; i >= 0; i-- {
		var key []byte
		if recs[i].k != "" {
			key = []byte(recs[i].k)
		}
		rev.add(recs[i].p, int64(len(key)+len(recs[i].v)), recordChecksum(key, []byte(recs[i].v)))
	}
	if err := compareSums(want, rev.list()); err != nil {
		t.Fatalf("reordered: %v", err)
	}
	for name, got := range map[string][]PartitionSum{
		"lost":       produce(2, -1, ""),
		"duplicated": produce(-1, 0, ""),
		"changed":    produce(-1, -1, "twO"),
	} {
		err := compareSums(want, got)
		if err == nil || !strings.Contains(err.Error(), "partition") {
			t.Errorf("%s: compareSums = %v", name, err)
		}
	}
	extra := append(produce(-1, -1, ""), PartitionSum{Partition: 9, Records: 1})
	if err := compareSums(want, extra); err == nil {
		t.Error("records on a partition never produced to were not reported")
	}
}
