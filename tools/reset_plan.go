package tools

import (
	"fmt"
	"math"
	"sort"
)

// resetMode is how reset-offsets picks each partition's new offset.
type resetMode int

const (
	toEarliest resetMode = iota + 1
	toLatest
	toCurrent
	toOffset
	toDatetime
	shiftBy
)

// resetSpec is the chosen mode and its number: the offset of --to-offset
// or the shift of --shift-by. (--to-datetime's lookup happens before the
// plan, into partitionState.atTime.)
type resetSpec struct {
	mode resetMode
	n    int64
}

// partitionState is what the plan needs to know about one partition.
type partitionState struct {
	topic      string
	partition  int32
	committed  int64 // -1: nothing committed
	start, end int64 // log start offset and high watermark
	atTime     int64 // first offset at or after --to-datetime, end if none
}

// resetRow is one line of the plan.
type resetRow struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Current   *int64 `json:"current_offset"` // nil: nothing committed
	New       int64  `json:"new_offset"`
}

// planReset computes new offsets as kafka-consumer-groups.sh does: an
// explicit offset or a shift is clamped to the log's [start, end]; a
// shift needs a committed offset; --to-current takes the end where
// nothing is committed. Rows come sorted by topic and partition.
func planReset(spec resetSpec, parts []partitionState) ([]resetRow, error) {
	rows := make([]resetRow, 0, len(parts))
	for _, p := range parts {
		row := resetRow{Topic: p.topic, Partition: p.partition}
		if p.committed >= 0 {
			c := p.committed
			row.Current = &c
		}
		switch spec.mode {
		case toEarliest:
			row.New = p.start
		case toLatest:
			row.New = p.end
		case toCurrent:
			row.New = p.end
			if p.committed >= 0 {
				row.New = p.committed
			}
		case toOffset:
			row.New = clamp(spec.n, p.start, p.end)
		case toDatetime:
			row.New = p.atTime
		case shiftBy:
			if p.committed < 0 {
				return nil, fmt.Errorf("cannot shift %s:%d: the group has no committed offset there",
					p.topic, p.partition)
			}
			row.New = clamp(addSaturating(p.committed, spec.n), p.start, p.end)
		default:
			panic(fmt.Sprintf("planReset: unknown mode %d", spec.mode))
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Topic != rows[j].Topic {
			return rows[i].Topic < rows[j].Topic
		}
		return rows[i].Partition < rows[j].Partition
	})
	return rows, nil
}

func clamp(v, lo, hi int64) int64 {
	return max(lo, min(v, hi))
}

// addSaturating adds without wrapping: a shift by a huge number lands at
// the end (or start) rather than at the other side.
func addSaturating(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}
