package logstore

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"
)

// modelBatch is one batch as the model remembers it.
type modelBatch struct {
	base, last int64
	ts         []int64 // per record
	bytes      []byte  // as stored (offsets rewritten)
}

// model is the simple in-memory log the real one is checked against.
type model struct {
	batches  []modelBatch
	leo      int64
	logStart int64
	hw       int64
}

func (m *model) dropFrom(offset int64) {
	i := sort.Search(len(m.batches), func(i int) bool { return m.batches[i].last >= offset })
	m.batches = m.batches[:i]
}

// firstAtOrAfter is the index of the first batch with last >= offset.
func (m *model) firstAtOrAfter(offset int64) int {
	return sort.Search(len(m.batches), func(i int) bool { return m.batches[i].last >= offset })
}

// expectRead is what Read(offset, maxBytes, upTo) must return, given the
// segment bases (a read stays in one segment).
func (m *model) expectRead(offset, maxBytes, upTo int64, bases []int64) (first int64, data []byte, err bool) {
	if offset < m.logStart || offset > m.leo {
		return 0, nil, true
	}
	upTo = min(upTo, m.leo)
	if offset >= upTo {
		return 0, nil, false
	}
	i := m.firstAtOrAfter(offset)
	if i == len(m.batches) || m.batches[i].last >= upTo {
		return 0, nil, false
	}
	segEnd := int64(1<<63 - 1)
	if k := sort.Search(len(bases), func(k int) bool { return bases[k] > m.batches[i].base }); k < len(bases) {
		segEnd = bases[k]
	}
	data = append(data, m.batches[i].bytes...)
	for j := i + 1; j < len(m.batches); j++ {
		b := m.batches[j]
		if b.base >= segEnd || b.last >= upTo || int64(len(data)+len(b.bytes)) > maxBytes {
			break
		}
		data = append(data, b.bytes...)
	}
	return m.batches[i].base, data, false
}

// expectTimestamp is ListOffsets' answer.
func (m *model) expectTimestamp(ts int64) (int64, int64, bool) {
	for _, b := range m.batches {
		for i, t := range b.ts {
			if off := b.base + int64(i); off >= m.logStart && t >= ts {
				return off, t, true
			}
		}
	}
	return 0, 0, false
}

type modelRun struct {
	t     *testing.T
	opts  Options
	rng   *rand.Rand
	dir   string
	cfg   Config
	clk   *fakeClock
	l     *Log
	m     model
	ts    int64
	fill  byte
	reads int
}

func (r *modelRun) open(st OpenState) {
	opts := r.opts
	opts.Now = r.clk.Now
	r.l = openTestLog(r.t, r.dir, r.cfg, opts, st)
}

func (r *modelRun) newBatch() []byte {
	r.fill++
	r.ts += int64(r.rng.IntN(20)) - 5 // timestamps mostly grow, sometimes go back
	sp := batchSpec{records: 1 + r.rng.IntN(8), valueSize: r.rng.IntN(80), ts: r.ts, fill: r.fill}
	if r.rng.IntN(20) == 0 {
		sp.records, sp.valueSize = 1+r.rng.IntN(2), 500+r.rng.IntN(1000)
	}
	return makeBatch(sp)
}

func recordTimestamps(b Batch) []int64 {
	ts := make([]int64, b.LastOffsetDelta()+1)
	for i := range ts {
		ts[i] = b.BaseTimestamp() + int64(i)
	}
	return ts
}

func (r *modelRun) opAppend() {
	var p []byte
	for n := 1 + r.rng.IntN(4); n > 0; n-- {
		b := r.newBatch()
		if len(p) > 0 && int64(len(p)+len(b)) > r.cfg.SegmentBytes {
			break
		}
		p = append(p, b...)
	}
	res, err := r.l.Append(p, 1)
	if err != nil {
		r.t.Fatalf("append: %v", err)
	}
	if res.FirstOffset != r.m.leo {
		r.t.Fatalf("append at %d, model end %d", res.FirstOffset, r.m.leo)
	}
	for _, b := range splitBatches(r.t, p) {
		r.m.batches = append(r.m.batches, modelBatch{b.BaseOffset(), b.LastOffset(), recordTimestamps(b), bytes.Clone(b)})
	}
	r.m.leo = res.LastOffset + 1
}

func (r *modelRun) opFollowerAppend() {
	var p []byte
	next := r.m.leo + int64(r.rng.IntN(3)) // gaps, as from a compacted leader
	for n := 1 + r.rng.IntN(3); n > 0; n-- {
		b := Batch(r.newBatch())
		if len(p) > 0 && int64(len(p)+len(b)) > r.cfg.SegmentBytes {
			break
		}
		b.setBaseOffset(next)
		b.setLeaderEpoch(2)
		next = b.LastOffset() + 1 + int64(r.rng.IntN(2))
		p = append(p, b...)
	}
	if _, err := r.l.AppendAsFollower(p); err != nil {
		r.t.Fatalf("follower append: %v", err)
	}
	for _, b := range splitBatches(r.t, p) {
		r.m.batches = append(r.m.batches, modelBatch{b.BaseOffset(), b.LastOffset(), recordTimestamps(b), bytes.Clone(b)})
		r.m.leo = b.LastOffset() + 1
	}
}

func (r *modelRun) bases() []int64 {
	var out []int64
	for _, s := range r.l.segments() {
		out = append(out, s.base)
	}
	return out
}

var debugModel bool

func (r *modelRun) sizes() []int64 {
	var out []int64
	for _, s := range r.l.segments() {
		out = append(out, s.size.Load(), s.next.Load())
	}
	return out
}

func (r *modelRun) opRead() {
	r.reads++
	span := r.m.leo - r.m.logStart
	offset := r.m.logStart - 1 + r.rng.Int64N(span+3) // a little out of range on both sides
	maxBytes := int64(1 + r.rng.IntN(6000))
	upTo := r.m.leo
	switch r.rng.IntN(3) {
	case 0:
		upTo = r.m.hw
	case 1:
		upTo = offset + r.rng.Int64N(20)
	}
	s, err := r.l.Read(offset, maxBytes, upTo)
	wantFirst, want, wantErr := r.m.expectRead(offset, maxBytes, upTo, r.bases())
	if wantErr {
		if !errors.Is(err, ErrOffsetOutOfRange) {
			r.t.Fatalf("read %d (start %d, end %d): %v, want out of range", offset, r.m.logStart, r.m.leo, err)
		}
		return
	}
	if err != nil {
		r.t.Fatalf("read %d max %d upTo %d: %v", offset, maxBytes, upTo, err)
	}
	first := s.FirstOffset
	got := readSlice(r.t, s)
	if !bytes.Equal(got, want) || (len(want) > 0 && first != wantFirst) {
		r.t.Fatalf("read %d max %d upTo %d: got %d bytes from %d, want %d bytes from %d (segments %v)",
			offset, maxBytes, upTo, len(got), first, len(want), wantFirst, r.bases())
	}
}

func (r *modelRun) opTimestamp() {
	ts := r.ts - 50 + r.rng.Int64N(70)
	off, got, found, err := r.l.OffsetForTimestamp(ts)
	if err != nil {
		r.t.Fatalf("offset for timestamp %d: %v", ts, err)
	}
	wOff, wTs, wFound := r.m.expectTimestamp(ts)
	if found != wFound || (found && (off != wOff || got != wTs)) {
		r.t.Fatalf("offset for timestamp %d: (%d, %d, %v), want (%d, %d, %v)", ts, off, got, found, wOff, wTs, wFound)
	}
}

// opTruncate truncates at a batch boundary (or the end): Kafka's followers
// truncate at leader epoch boundaries, which are batch boundaries.
func (r *modelRun) opTruncate() {
	var target int64
	if len(r.m.batches) == 0 || r.rng.IntN(8) == 0 {
		target = r.m.leo
	} else {
		i := r.m.firstAtOrAfter(r.m.logStart)
		i += r.rng.IntN(len(r.m.batches) - i + 1)
		switch {
		case i == len(r.m.batches):
			target = r.m.leo
		case i > 0:
			target = r.m.batches[i-1].last + 1 // the end of a batch, not the start of one after a gap
		default:
			target = r.m.batches[0].base
		}
	}
	full := target < r.l.segments()[0].base
	if err := r.l.TruncateTo(target); err != nil {
		r.t.Fatalf("truncate to %d: %v", target, err)
	}
	if target < r.m.leo {
		r.m.dropFrom(target)
		r.m.leo = target
		r.m.hw = min(r.m.hw, target)
		r.m.logStart = min(r.m.logStart, target)
		if full {
			r.m.logStart, r.m.hw = target, target
		}
	}
}

func (r *modelRun) opSetHW() {
	hw := r.m.logStart + r.rng.Int64N(r.m.leo-r.m.logStart+1)
	r.l.SetHighWatermark(hw)
	r.m.hw = hw
}

func (r *modelRun) opDeleteRecords() {
	off := r.m.logStart + r.rng.Int64N(r.m.hw-r.m.logStart+1)
	got, err := r.l.DeleteRecords(off)
	if err != nil {
		r.t.Fatalf("delete records below %d: %v", off, err)
	}
	r.m.logStart = max(r.m.logStart, off)
	if got != r.m.logStart {
		r.t.Fatalf("delete records: low watermark %d, want %d", got, r.m.logStart)
	}
	r.adoptStart("delete records")
}

// opRetention applies a random size or age limit. Which segments go is the
// log's choice; the model checks the result is legal and adopts it.
func (r *modelRun) opRetention() {
	cfg := r.cfg
	if r.rng.IntN(2) == 0 {
		cfg.RetentionBytes = r.l.Size() - int64(r.rng.IntN(int(r.cfg.SegmentBytes*2)+1))
	} else {
		cfg.RetentionMs = int64(r.rng.IntN(200))
	}
	if err := r.l.SetConfig(cfg); err != nil {
		r.t.Fatal(err)
	}
	before := r.l.SegmentCount()
	n, err := r.l.ApplyRetention(time.UnixMilli(r.ts))
	if err != nil {
		r.t.Fatalf("retention: %v", err)
	}
	if err := r.l.SetConfig(r.cfg); err != nil {
		r.t.Fatal(err)
	}
	if r.l.SegmentCount() != before-n || r.l.SegmentCount() < 1 {
		r.t.Fatalf("retention deleted %d of %d segments, %d left", n, before, r.l.SegmentCount())
	}
	r.adoptStart("retention")
}

// adoptStart takes the log's new start offset after checking it: never
// backwards, never past the high watermark, and the first segment holds it.
func (r *modelRun) adoptStart(why string) {
	start := r.l.LogStartOffset()
	segs := r.l.segments()
	if start < r.m.logStart || start > max(r.m.hw, r.m.logStart) || segs[0].base > start {
		r.t.Fatalf("%s: log start %d (model %d, hw %d, first segment %d)", why, start, r.m.logStart, r.m.hw, segs[0].base)
	}
	r.m.logStart = start
}

func (r *modelRun) opReopen(clean bool) {
	st := OpenState{Clean: clean, LogStartOffset: r.l.LogStartOffset(), HighWatermark: r.l.HighWatermark()}
	if clean {
		if err := r.l.Close(); err != nil {
			r.t.Fatalf("close: %v", err)
		}
		st.RecoveryPoint = r.l.RecoveryPoint()
	} else {
		st.RecoveryPoint = r.l.RecoveryPoint()
		r.l.abandon()
	}
	r.open(st)
}

func (r *modelRun) check(op string) {
	if got := r.l.LogEndOffset(); got != r.m.leo {
		r.t.Fatalf("after %s: log end %d, model %d", op, got, r.m.leo)
	}
	if got := r.l.LogStartOffset(); got != r.m.logStart {
		r.t.Fatalf("after %s: log start %d, model %d", op, got, r.m.logStart)
	}
	if got := r.l.HighWatermark(); got != r.m.hw {
		r.t.Fatalf("after %s: high watermark %d, model %d", op, got, r.m.hw)
	}
}

func runModel(t *testing.T, seed uint64, ops int) { runModelWith(t, seed, ops, Options{}) }

func runModelWith(t *testing.T, seed uint64, ops int, opts Options) {
	r := &modelRun{
		t: t, opts: opts, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), dir: t.TempDir(),
		cfg: testConfig(4096 + int64(seed%4)*2048), clk: newFakeClock(), ts: 1000,
	}
	r.cfg.IndexIntervalBytes = int64(r.rng.IntN(600))
	r.cfg.SegmentIndexBytes = 64 + int64(r.rng.IntN(200)) // indexes fill up and force rolls too
	r.open(OpenState{})
	defer func() { r.l.Close() }()
	type op struct {
		name   string
		weight int
		f      func()
	}
	table := []op{
		{"append", 30, r.opAppend},
		{"follower append", 5, r.opFollowerAppend},
		{"read", 30, r.opRead},
		{"timestamp", 6, r.opTimestamp},
		{"roll", 3, func() {
			if err := r.l.Roll(); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncate", 4, r.opTruncate},
		{"set hw", 6, r.opSetHW},
		{"delete records", 3, r.opDeleteRecords},
		{"retention", 3, r.opRetention},
		{"reopen clean", 2, func() { r.opReopen(true) }},
		{"reopen after crash", 2, func() { r.opReopen(false) }},
	}
	total := 0
	for _, o := range table {
		total += o.weight
	}
	for i := 0; i < ops; i++ {
		w := r.rng.IntN(total)
		for _, o := range table {
			if w -= o.weight; w < 0 {
				o.f()
				if debugModel && i > 290 {
					t.Logf("op %d %s: leo %d start %d hw %d segs %v sizes %v", i, o.name, r.l.LogEndOffset(), r.l.LogStartOffset(), r.l.HighWatermark(), r.bases(), r.sizes())
				}
				r.check(fmt.Sprintf("op %d (%s)", i, o.name))
				break
			}
		}
	}
	// Finally every offset from the start, read back one batch at a time.
	for off := r.m.logStart; off < r.m.leo; off++ {
		s, err := r.l.Read(off, 1, r.m.leo)
		if err != nil {
			t.Fatalf("final read %d: %v", off, err)
		}
		wantFirst, want, _ := r.m.expectRead(off, 1, r.m.leo, r.bases())
		if got := readSlice(t, s); !bytes.Equal(got, want) || (want != nil && s.FirstOffset != wantFirst) {
			t.Fatalf("final read %d: %d bytes, want %d", off, len(got), len(want))
		}
	}
}

// TestModel runs 8 seeds; LOGSTORE_MODEL_SEEDS=n runs n (a longer hunt).
func TestModel(t *testing.T) {
	seeds := uint64(8)
	if n, err := strconv.ParseUint(os.Getenv("LOGSTORE_MODEL_SEEDS"), 10, 64); err == nil {
		seeds = n
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runModel(t, seed, 1500) })
	}
}
