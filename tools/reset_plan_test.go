package tools

import (
	"math"
	"testing"
)

func TestPlanReset(t *testing.T) {
	// Partition 0 committed 50 of a log [10, 100); partition 1 nothing
	// committed of [0, 20). A time lookup found 70 and 20 (the end).
	parts := []partitionState{
		{topic: "t", partition: 1, committed: -1, start: 0, end: 20, atTime: 20},
		{topic: "t", partition: 0, committed: 50, start: 10, end: 100, atTime: 70},
	}
	tests := []struct {
		name    string
		spec    resetSpec
		want    [2]int64 // new offsets of partitions 0 and 1
		wantErr bool
	}{
		{"earliest", resetSpec{mode: toEarliest}, [2]int64{10, 0}, false},
		{"latest", resetSpec{mode: toLatest}, [2]int64{100, 20}, false},
		{"current: the end where none", resetSpec{mode: toCurrent}, [2]int64{50, 20}, false},
		{"offset inside", resetSpec{mode: toOffset, n: 15}, [2]int64{15, 15}, false},
		{"offset clamped", resetSpec{mode: toOffset, n: 5}, [2]int64{10, 5}, false},
		{"offset past the end", resetSpec{mode: toOffset, n: 1000}, [2]int64{100, 20}, false},
		{"datetime", resetSpec{mode: toDatetime}, [2]int64{70, 20}, false},
		{"shift needs a commit", resetSpec{mode: shiftBy, n: -5}, [2]int64{}, true},
	}
	for _, tt := range tests {
		rows, err := planReset(tt.spec, parts)
		if tt.wantErr {
			if err == nil {
				t.Errorf("%s: no error", tt.name)
			}
			continue
		}
		if err != nil || len(rows) != 2 {
			t.Fatalf("%s: %v, %d rows", tt.name, err, len(rows))
		}
		if rows[0].Partition != 0 || rows[1].Partition != 1 {
			t.Errorf("%s: rows not sorted: %+v", tt.name, rows)
		}
		if got := [2]int64{rows[0].New, rows[1].New}; got != tt.want {
			t.Errorf("%s: new offsets %v, want %v", tt.name, got, tt.want)
		}
		if rows[0].Current == nil || *rows[0].Current != 50 || rows[1].Current != nil {
			t.Errorf("%s: current offsets %v %v, want 50 and none", tt.name, rows[0].Current, rows[1].Current)
		}
	}
}

func TestPlanResetShift(t *testing.T) {
	p := []partitionState{{topic: "t", committed: 50, start: 10, end: 100}}
	for _, tt := range []struct{ by, want int64 }{
		{-5, 45}, {+5, 55}, {-100, 10}, {+100, 100}, {math.MaxInt64, 100}, {math.MinInt64, 10},
	} {
		rows, err := planReset(resetSpec{mode: shiftBy, n: tt.by}, p)
		if err != nil || rows[0].New != tt.want {
			t.Errorf("shift by %d: %v, %v; want %d", tt.by, rows, err, tt.want)
		}
	}
}
