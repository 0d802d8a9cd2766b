package logstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// kv is a test record: key "" is a null key, a nil value a tombstone.
type kv struct {
	key   string
	value []byte
}

// keyedBatch encodes a magic-2 batch of recs at base offset 0, stamped
// ts+i, compressed with codec.
func keyedBatch(t testing.TB, recs []kv, ts int64, codec int) []byte {
	t.Helper()
	var raw []byte
	for i, r := range recs {
		var e []byte
		e = append(e, 0)
		e = binary.AppendVarint(e, int64(i))
		e = binary.AppendVarint(e, int64(i))
		if r.key == "" {
			e = binary.AppendVarint(e, -1)
		} else {
			e = binary.AppendVarint(e, int64(len(r.key)))
			e = append(e, r.key...)
		}
		if r.value == nil {
			e = binary.AppendVarint(e, -1)
		} else {
			e = binary.AppendVarint(e, int64(len(r.value)))
			e = append(e, r.value...)
		}
		e = binary.AppendVarint(e, 0)
		raw = binary.AppendVarint(raw, int64(len(e)))
		raw = append(raw, e...)
	}
	body := compressForTest(t, codec, raw)
	b := make([]byte, BatchHeaderSize, BatchHeaderSize+len(body))
	binary.BigEndian.PutUint32(b[offLength:], uint32(BatchHeaderSize-logOverhead+len(body)))
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], 0xffffffff)
	b[offMagic] = 2
	binary.BigEndian.PutUint16(b[offAttributes:], uint16(codec))
	binary.BigEndian.PutUint32(b[offLastOffsetDelta:], uint32(len(recs)-1))
	binary.BigEndian.PutUint64(b[offBaseTimestamp:], uint64(ts))
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(ts+int64(len(recs))-1))
	binary.BigEndian.PutUint64(b[offProducerID:], 7)
	binary.BigEndian.PutUint16(b[offProducerEpoch:], 3)
	binary.BigEndian.PutUint32(b[offBaseSequence:], 11)
	binary.BigEndian.PutUint32(b[offRecordCount:], uint32(len(recs)))
	b = append(b, body...)
	Batch(b).setCRC(Batch(b).ComputeCRC())
	return b
}

func compressForTest(t testing.TB, codec int, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch codec {
	case 0:
		return raw
	case 1:
		w := gzip.NewWriter(&buf)
		w.Write(raw)
		w.Close()
	case 2:
		return s2.EncodeSnappy(nil, raw)
	case 3:
		w := lz4.NewWriter(&buf)
		w.Write(raw)
		w.Close()
	case 4:
		e, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		return e.EncodeAll(raw, nil)
	}
	return buf.Bytes()
}

// got is a record read back from the log.
type got struct {
	offset int64
	key    string
	value  []byte
}

// readRecords reads the whole log through Read, checking every batch.
func readRecords(t testing.TB, l *Log) []got {
	t.Helper()
	var out []got
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		s, err := l.Read(off, 1<<20, l.LogEndOffset())
		if err != nil {
			t.Fatalf("read %d: %v", off, err)
		}
		if s.Seg == nil {
			t.Fatalf("read %d: empty slice below the end %d", off, l.LogEndOffset())
		}
		for _, b := range splitBatches(t, readSlice(t, s)) {
			if err := ForEachRecord(b, 0, func(r Record) error {
				if r.Offset >= off {
					out = append(out, got{r.Offset, string(r.Key), bytes.Clone(r.Value)})
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			off = b.LastOffset() + 1
		}
	}
	for i := 1; i < len(out); i++ {
		if out[i].offset <= out[i-1].offset {
			t.Fatalf("offsets not increasing: %d after %d", out[i].offset, out[i-1].offset)
		}
	}
	return out
}

func compactConfig() Config {
	c := testConfig(2048)
	c.CleanupPolicy = "compact"
	return c
}

type appended struct {
	offset int64
	kv
}

func appendKV(t testing.TB, l *Log, recs []kv, ts int64, codec int) []appended {
	t.Helper()
	res, err := l.Append(keyedBatch(t, recs, ts, codec), 0)
	if err != nil {
		t.Fatal(err)
	}
	l.SetHighWatermark(l.LogEndOffset())
	out := make([]appended, len(recs))
	for i, r := range recs {
		out[i] = appended{res.FirstOffset + int64(i), r}
	}
	return out
}

// expectCompacted is what one pass must leave: in the cleanable range only
// each key's last record there (tombstones too unless dropped), after it
// everything.
func expectCompacted(all []appended, activeBase int64, dropTombstones bool) []got {
	last := map[string]int64{}
	for _, a := range all {
		if a.offset < activeBase && a.key != "" {
			last[a.key] = a.offset
		}
	}
	var out []got
	for _, a := range all {
		if a.offset >= activeBase || (a.key != "" && last[a.key] == a.offset && (a.value != nil || !dropTombstones)) {
			out = append(out, got{a.offset, a.key, a.value})
		}
	}
	return out
}

func sameRecords(t testing.TB, have []got, want []got) {
	t.Helper()
	if len(have) != len(want) {
		t.Fatalf("%d records, want %d\nhave %v\nwant %v", len(have), len(want), have, want)
	}
	for i := range want {
		if have[i].offset != want[i].offset || have[i].key != want[i].key || !bytes.Equal(have[i].value, want[i].value) ||
			(have[i].value == nil) != (want[i].value == nil) {
			t.Fatalf("record %d: have %+v, want %+v", i, have[i], want[i])
		}
	}
}

func val(s string) []byte { return []byte(s) }

func TestCompactKeepsLastValuePerKey(t *testing.T) {
	clk := newFakeClock()
	// Policy delete, so keyless records get in (as they would have before
	// a switch to compact); Compact runs whatever the policy.
	cfg := compactConfig()
	cfg.CleanupPolicy = "delete"
	l := openTestLog(t, t.TempDir(), cfg, Options{Now: clk.Now}, OpenState{Clean: true})
	defer l.Close()
	var all []appended
	ts := clk.Now().UnixMilli()
	for i := 0; i < 120; i++ {
		recs := []kv{{fmt.Sprintf("k%d", i%7), val(fmt.Sprintf("v%d-%s", i, bytes.Repeat([]byte("x"), i%30)))}}
		if i%5 == 0 {
			recs = append(recs, kv{fmt.Sprintf("k%d", (i+3)%7), nil}) // tombstone
		}
		if i%11 == 0 {
			recs = append(recs, kv{"", val("keyless")})
		}
		all = append(all, appendKV(t, l, recs, ts+int64(i), 0)...)
	}
	if l.SegmentCount() < 4 {
		t.Fatalf("want several segments, have %d", l.SegmentCount())
	}
	act := l.active()
	actBase := act.base
	bases := map[int64]bool{}
	for _, s := range l.segments() {
		bases[s.base] = true
	}
	before := l.Size()
	removed, err := l.Compact(clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if removed == 0 || l.Size() >= before {
		t.Fatalf("removed %d, size %d -> %d", removed, before, l.Size())
	}
	if l.active() != act {
		t.Fatal("active segment replaced")
	}
	for _, s := range l.segments() {
		if !bases[s.base] {
			t.Fatalf("new segment base %d", s.base)
		}
	}
	want := expectCompacted(all, actBase, false)
	sameRecords(t, readRecords(t, l), want)
	if int64(len(all)-len(want)) != removed {
		t.Fatalf("removed %d, want %d", removed, len(all)-len(want))
	}

	// A read at a removed offset starts at (or before) the next kept one.
	kept := map[int64]bool{}
	for _, w := range want {
		kept[w.offset] = true
	}
	for _, a := range all {
		if kept[a.offset] {
			continue
		}
		s, err := l.Read(a.offset, 1<<20, l.LogEndOffset())
		if err != nil {
			t.Fatal(err)
		}
		bs := splitBatches(t, readSlice(t, s))
		var first int64 = -1
		for _, b := range bs {
			ForEachRecord(b, 0, func(r Record) error {
				if first < 0 && r.Offset >= a.offset {
					first = r.Offset
				}
				return nil
			})
			if first >= 0 {
				break
			}
		}
		var next int64 = -1
		for _, w := range want {
			if w.offset > a.offset {
				next = w.offset
				break
			}
		}
		if first != next {
			t.Fatalf("read at removed %d: first record %d, want %d", a.offset, first, next)
		}
	}

	// Rewritten batches are valid, uncompressed or verbatim, keep producer fields.
	s, _ := l.Read(0, 1<<30, l.LogEndOffset())
	for _, b := range splitBatches(t, readSlice(t, s)) {
		if b.ProducerID() != 7 || b.ProducerEpoch() != 3 || b.BaseSequence() != 11 {
			t.Fatalf("producer fields changed: %d %d %d", b.ProducerID(), b.ProducerEpoch(), b.BaseSequence())
		}
	}

	// A second pass finds nothing; the log reopens the same.
	if n, err := l.Compact(clk.Now()); err != nil || n != 0 {
		t.Fatalf("second pass removed %d, %v", n, err)
	}
	dir := l.Dir()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openTestLog(t, dir, compactConfig(), Options{Now: clk.Now}, OpenState{Clean: false, HighWatermark: 1 << 40})
	defer l2.Close()
	sameRecords(t, readRecords(t, l2), want)
}

func TestCompactTombstonesAfterDeleteRetention(t *testing.T) {
	clk := newFakeClock()
	l := openTestLog(t, t.TempDir(), compactConfig(), Options{Now: clk.Now}, OpenState{Clean: true})
	defer l.Close()
	var all []appended
	ts := clk.Now().UnixMilli()
	for i := 0; i < 60; i++ {
		all = append(all, appendKV(t, l, []kv{{fmt.Sprintf("k%d", i%4), val(fmt.Sprintf("value-%03d-padding-padding", i))}}, ts, 0)...)
	}
	all = append(all, appendKV(t, l, []kv{{"k1", nil}, {"k2", nil}}, ts, 0)...)
	for i := 0; i < 60; i++ {
		all = append(all, appendKV(t, l, []kv{{"other", val(fmt.Sprintf("o-%03d-padding-padding-padding", i))}}, ts, 0)...)
	}
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	actBase := l.active().base
	if _, err := l.Compact(clk.Now()); err != nil {
		t.Fatal(err)
	}
	sameRecords(t, readRecords(t, l), expectCompacted(all, actBase, false))

	// Within delete.retention.ms: kept on later passes.
	clk.Add(time.Hour)
	if _, err := l.Compact(clk.Now()); err != nil {
		t.Fatal(err)
	}
	sameRecords(t, readRecords(t, l), expectCompacted(all, actBase, false))

	clk.Add(24 * time.Hour)
	if n, err := l.Compact(clk.Now()); err != nil || n != 2 {
		t.Fatalf("removed %d, %v; want the 2 tombstones", n, err)
	}
	want := expectCompacted(all, actBase, true)
	sameRecords(t, readRecords(t, l), want)
	for _, w := range want {
		if w.key == "k1" || w.key == "k2" {
			t.Fatalf("deleted key back: %+v", w)
		}
	}
}

func TestCompactCompressedBatches(t *testing.T) {
	for codec, name := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		t.Run(name, func(t *testing.T) {
			clk := newFakeClock()
			l := openTestLog(t, t.TempDir(), compactConfig(), Options{Now: clk.Now}, OpenState{Clean: true})
			defer l.Close()
			var all []appended
			ts := clk.Now().UnixMilli()
			for i := 0; i < 60; i++ {
				var recs []kv
				for j := 0; j < 5; j++ {
					recs = append(recs, kv{fmt.Sprintf("k%d", (i*5+j)%9), val(fmt.Sprintf("v%d.%d %x", i, j, i*j))})
				}
				all = append(all, appendKV(t, l, recs, ts+int64(i), codec)...)
			}
			if err := l.Roll(); err != nil {
				t.Fatal(err)
			}
			actBase := l.active().base
			if n, err := l.Compact(clk.Now()); err != nil || n == 0 {
				t.Fatalf("removed %d, %v", n, err)
			}
			sameRecords(t, readRecords(t, l), expectCompacted(all, actBase, false))
			s, _ := l.Read(0, 1<<30, l.LogEndOffset())
			for _, b := range splitBatches(t, readSlice(t, s)) {
				if b.RecordCount() < b.LastOffsetDelta()+1 && b.Codec() != 0 {
					t.Fatalf("filtered batch at %d still has codec %d", b.BaseOffset(), b.Codec())
				}
			}
		})
	}
}

func TestCompactReaderKeepsOldBytes(t *testing.T) {
	clk := newFakeClock()
	l := openTestLog(t, t.TempDir(), compactConfig(), Options{Now: clk.Now}, OpenState{Clean: true})
	defer l.Close()
	ts := clk.Now().UnixMilli()
	for i := 0; i < 80; i++ {
		appendKV(t, l, []kv{{fmt.Sprintf("k%d", i%3), val(fmt.Sprintf("value %d with some padding", i))}}, ts, 0)
	}
	s, err := l.Read(0, 1<<20, l.LogEndOffset())
	if err != nil {
		t.Fatal(err)
	}
	old := make([]byte, s.Len)
	if _, err := s.Seg.File().ReadAt(old, s.Pos); err != nil {
		t.Fatal(err)
	}
	seg := s.Seg
	if _, err := l.Compact(clk.Now()); err != nil {
		t.Fatal(err)
	}
	if l.segments()[0] == seg {
		t.Fatal("first segment not rewritten")
	}
	again := readSlice(t, s) // releases
	if !bytes.Equal(again, old) {
		t.Fatal("a held segment's bytes changed under its reader")
	}
	if _, err := os.Stat(filepath.Join(l.Dir(), segmentName(0, logSuffix+deletedSuffix))); err == nil {
		t.Fatal("old segment left as .deleted")
	}
}

// twinLogs writes the same batches into two logs.
func fillForCrash(t *testing.T, dir string, clk *fakeClock) (*Log, []appended) {
	l := openTestLog(t, dir, compactConfig(), Options{Now: clk.Now}, OpenState{Clean: true})
	var all []appended
	ts := clk.Now().UnixMilli()
	for i := 0; i < 90; i++ {
		all = append(all, appendKV(t, l, []kv{{fmt.Sprintf("k%d", i%5), val(fmt.Sprintf("crash value %03d and padding", i))}}, ts, 0)...)
	}
	return l, all
}

func TestCompactCrashRecovery(t *testing.T) {
	clk := newFakeClock()
	a, b := t.TempDir(), t.TempDir()
	la, all := fillForCrash(t, a, clk)
	lb, _ := fillForCrash(t, b, clk)
	actBase := la.active().base
	if _, err := la.Compact(clk.Now()); err != nil {
		t.Fatal(err)
	}
	want := expectCompacted(all, actBase, false)
	bases := []int64{}
	for _, s := range la.segments()[:len(la.segments())-1] {
		bases = append(bases, s.base)
	}
	if len(bases) < 3 {
		t.Fatalf("want at least 3 cleaned segments, have %d", len(bases))
	}
	if err := la.Close(); err != nil {
		t.Fatal(err)
	}
	if err := lb.Close(); err != nil {
		t.Fatal(err)
	}
	cp := func(base int64, suf, to string) {
		data, err := os.ReadFile(filepath.Join(a, segmentName(base, suf)))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(b, segmentName(base, suf+to)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A crash mid-swap: bases[0] fully in place, bases[1] as .swap with its
	// .log renamed already, the rest still .swap; plus a stray .cleaned.
	for _, suf := range segmentSuffixes {
		cp(bases[0], suf, "")
	}
	cp(bases[1], logSuffix, "")
	cp(bases[1], indexSuffix, swapSuffix)
	cp(bases[1], timeIndexSuffix, swapSuffix)
	for _, base := range bases[2:] {
		for _, suf := range segmentSuffixes {
			cp(base, suf, swapSuffix)
		}
	}
	if err := os.WriteFile(filepath.Join(b, segmentName(actBase, logSuffix+cleanedSuffix)), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := openTestLog(t, b, compactConfig(), Options{Now: clk.Now}, OpenState{Clean: false, HighWatermark: 1 << 40})
	defer l.Close()
	sameRecords(t, readRecords(t, l), want)
	ents, _ := os.ReadDir(b)
	for _, e := range ents {
		if filepath.Ext(e.Name()) == swapSuffix || filepath.Ext(e.Name()) == cleanedSuffix {
			t.Fatalf("left over: %s", e.Name())
		}
	}

	// A crash before any swap: only .cleaned files, all removed; the log is
	// as it was.
	c := t.TempDir()
	lc, allc := fillForCrash(t, c, clk)
	lc.Close()
	for _, base := range bases {
		for _, suf := range segmentSuffixes {
			os.WriteFile(filepath.Join(c, segmentName(base, suf+cleanedSuffix)), []byte("partial"), 0o644)
		}
	}
	l3 := openTestLog(t, c, compactConfig(), Options{Now: clk.Now}, OpenState{Clean: true, HighWatermark: 1 << 40})
	defer l3.Close()
	var wantAll []got
	for _, x := range allc {
		wantAll = append(wantAll, got{x.offset, x.key, x.value})
	}
	sameRecords(t, readRecords(t, l3), wantAll)
}

func TestCompactMaintainPolicy(t *testing.T) {
	clk := newFakeClock()
	cfg := compactConfig()
	cfg.RetentionMs = 1 // compact alone: retention.ms deletes nothing
	l := openTestLog(t, t.TempDir(), cfg, Options{Now: clk.Now}, OpenState{Clean: true})
	defer l.Close()
	ts := clk.Now().UnixMilli()
	for i := 0; i < 80; i++ {
		appendKV(t, l, []kv{{fmt.Sprintf("k%d", i%3), val(fmt.Sprintf("value %d with some padding", i))}}, ts, 0)
	}
	segs := l.SegmentCount()
	clk.Add(time.Hour)
	if _, err := l.Maintain(clk.Now()); err != nil {
		t.Fatal(err)
	}
	if l.LogStartOffset() != 0 || l.SegmentCount() != segs {
		t.Fatalf("retention ran under compact: start %d, segments %d of %d", l.LogStartOffset(), l.SegmentCount(), segs)
	}
	// Compaction is the cleaner's, not Maintain's.
	if recs := readRecords(t, l); len(recs) != 80 {
		t.Fatalf("%d records after Maintain, want 80", len(recs))
	}
	c := NewCleaner(CleanerConfig{Threads: 1, Now: clk.Now, Logger: quietLogger()},
		func() []*Log { return []*Log{l} })
	if !c.CleanOnce() {
		t.Fatal("the cleaner found nothing to clean")
	}
	if tc, _ := l.toClean(clk.Now()); tc.cleanableBytes != 0 || tc.ratio != 0 {
		t.Fatalf("cleaned log still dirty: %+v", tc)
	}
	if recs := readRecords(t, l); len(recs) >= 80 {
		t.Fatalf("%d records after cleaning", len(recs))
	}
	if c.CleanOnce() {
		t.Fatal("the cleaner cleaned a clean log")
	}
	cfg.CleanupPolicy = "compact,delete"
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Maintain(clk.Now()); err != nil || n == 0 {
		t.Fatalf("compact,delete: retention deleted %d, %v", n, err)
	}
}

func TestCompactRandomModel(t *testing.T) {
	seed := time.Now().UnixNano()
	if testing.Short() {
		seed = 1
	}
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	clk := newFakeClock()
	cfg := compactConfig()
	cfg.SegmentBytes = 1024 + int64(rng.Intn(2048))
	cfg.DeleteRetentionMs = int64(rng.Intn(3)) * 3600_000
	dir := t.TempDir()
	l := openTestLog(t, dir, cfg, Options{Now: clk.Now}, OpenState{Clean: true})
	defer func() { l.Close() }()
	model := map[string][]byte{} // live keys
	orig := map[int64]appended{} // every record appended
	for round := 0; round < 40; round++ {
		for n := rng.Intn(30); n > 0; n-- {
			var recs []kv
			for j := rng.Intn(4); j >= 0; j-- {
				k := fmt.Sprintf("key-%d", rng.Intn(25))
				var v []byte
				if rng.Intn(8) > 0 {
					v = val(fmt.Sprintf("%s=%d", k, rng.Int63()))
				}
				recs = append(recs, kv{k, v})
			}
			for _, a := range appendKV(t, l, recs, clk.Now().UnixMilli(), rng.Intn(5)) {
				orig[a.offset] = a
				if a.value == nil {
					delete(model, a.key)
				} else {
					model[a.key] = a.value
				}
			}
		}
		clk.Add(time.Duration(rng.Intn(90)) * time.Minute)
		switch rng.Intn(4) {
		case 0, 1:
			if _, err := l.Compact(clk.Now()); err != nil {
				t.Fatal(err)
			}
		case 2:
			if _, err := l.Maintain(clk.Now()); err != nil {
				t.Fatal(err)
			}
		case 3:
			if rng.Intn(3) == 0 {
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				l = openTestLog(t, dir, cfg, Options{Now: clk.Now}, OpenState{Clean: rng.Intn(2) == 0, HighWatermark: 1 << 40})
			}
		}
		// Every record read is one appended at that offset; the last of
		// each key is the model's.
		live := map[string][]byte{}
		for _, r := range readRecords(t, l) {
			o, ok := orig[r.offset]
			if !ok || o.key != r.key || !bytes.Equal(o.value, r.value) || (o.value == nil) != (r.value == nil) {
				t.Fatalf("round %d: read %+v at %d, appended %+v", round, r, r.offset, o)
			}
			if r.value == nil {
				delete(live, r.key)
			} else {
				live[r.key] = r.value
			}
		}
		if len(live) != len(model) {
			t.Fatalf("round %d: %d live keys, model %d", round, len(live), len(model))
		}
		for k, v := range model {
			if !bytes.Equal(live[k], v) {
				t.Fatalf("round %d: key %s = %q, model %q", round, k, live[k], v)
			}
		}
	}
}

func TestCompactSnappyXerial(t *testing.T) {
	raw := bytes.Repeat([]byte("xerial framed snappy "), 100)
	var src []byte
	src = append(src, xerialMagic...)
	src = binary.BigEndian.AppendUint32(src, 1)
	src = binary.BigEndian.AppendUint32(src, 1)
	for _, chunk := range [][]byte{raw[:700], raw[700:]} {
		c := s2.EncodeSnappy(nil, chunk)
		src = binary.BigEndian.AppendUint32(src, uint32(len(c)))
		src = append(src, c...)
	}
	var d Decoder
	out, err := d.decompress(2, src)
	if err != nil || !bytes.Equal(out, raw) {
		t.Fatalf("xerial: %v, %d bytes", err, len(out))
	}
}

// A pass whose segments retention deleted meanwhile swaps in only the rest.
func TestCompactSkipsSegmentsChangedDuringPass(t *testing.T) {
	clk := newFakeClock()
	cfg := compactConfig()
	cfg.CleanupPolicy = "compact,delete"
	l := openTestLog(t, t.TempDir(), cfg, Options{Now: clk.Now}, OpenState{Clean: true})
	defer l.Close()
	var all []appended
	ts := clk.Now().UnixMilli()
	for i := 0; i < 90; i++ {
		all = append(all, appendKV(t, l, []kv{{fmt.Sprintf("k%d", i%5), val(fmt.Sprintf("value %03d and padding", i))}}, ts, 0)...)
	}
	first := l.segments()[0]
	testHookBeforeSwap = func(l *Log) {
		if _, err := l.DeleteRecords(l.segments()[1].base); err != nil {
			t.Error(err)
		}
		if _, err := l.ApplyRetention(clk.Now()); err != nil {
			t.Error(err)
		}
	}
	defer func() { testHookBeforeSwap = nil }()
	actBase := l.active().base
	if _, err := l.Compact(clk.Now()); err != nil {
		t.Fatal(err)
	}
	if l.segments()[0] == first || l.LogStartOffset() != l.segments()[0].base {
		t.Fatalf("first segment not deleted by retention")
	}
	var want []got
	for _, w := range expectCompacted(all, actBase, false) {
		if w.offset >= l.LogStartOffset() {
			want = append(want, w)
		}
	}
	sameRecords(t, readRecords(t, l), want)
	ents, _ := os.ReadDir(l.Dir())
	for _, e := range ents {
		if filepath.Ext(e.Name()) == cleanedSuffix || filepath.Ext(e.Name()) == swapSuffix {
			t.Fatalf("left over: %s", e.Name())
		}
	}
}

// Appends and reads go on while a pass runs on another goroutine.
func TestCompactConcurrentAppendsAndReads(t *testing.T) {
	clk := newFakeClock()
	l := openTestLog(t, t.TempDir(), compactConfig(), Options{Now: clk.Now}, OpenState{Clean: true})
	defer l.Close()
	model := map[string][]byte{}
	orig := map[int64]appended{}
	add := func(i int) {
		k := fmt.Sprintf("k%d", i%13)
		v := val(fmt.Sprintf("%s value %d padding", k, i))
		for _, a := range appendKV(t, l, []kv{{k, v}}, clk.Now().UnixMilli(), i%5) {
			orig[a.offset] = a
		}
		model[k] = v
	}
	for i := 0; i < 200; i++ {
		add(i)
	}
	done := make(chan struct{})
	errs := make(chan error, 2)
	go func() {
		defer close(done)
		for j := 0; j < 20; j++ {
			if _, err := l.Compact(clk.Now()); err != nil {
				errs <- err
				return
			}
		}
	}()
	go func() {
		for {
			select {
			case <-done:
				errs <- nil
				return
			default:
			}
			s, err := l.Read(l.LogStartOffset(), 1<<16, l.HighWatermark())
			if err != nil {
				errs <- err
				return
			}
			if s.Seg != nil {
				b := make([]byte, s.Len)
				if _, err := s.Seg.File().ReadAt(b, s.Pos); err != nil {
					errs <- err
				}
				s.Release()
				for len(b) > 0 {
					n, err := ValidateBatch(b, 1<<30, OriginReplication)
					if err != nil {
						errs <- err
						return
					}
					b = b[n:]
				}
			}
		}
	}()
	for i := 200; i < 600; i++ {
		add(i)
	}
	<-done
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	live := map[string][]byte{}
	for _, r := range readRecords(t, l) {
		if o := orig[r.offset]; o.key != r.key || !bytes.Equal(o.value, r.value) {
			t.Fatalf("read %+v, appended %+v", r, o)
		}
		live[r.key] = r.value
	}
	for k, v := range model {
		if !bytes.Equal(live[k], v) {
			t.Fatalf("key %s = %q, want %q", k, live[k], v)
		}
	}
}

// A producer's last batch stays, emptied, when all its records go.
func TestCompactKeepsLastBatchOfProducer(t *testing.T) {
	clk := newFakeClock()
	l := openTestLog(t, t.TempDir(), compactConfig(), Options{Now: clk.Now}, OpenState{Clean: true})
	defer l.Close()
	ts := clk.Now().UnixMilli()
	withPID := func(b []byte, pid int64) []byte {
		binary.BigEndian.PutUint64(b[offProducerID:], uint64(pid))
		Batch(b).setCRC(Batch(b).ComputeCRC())
		return b
	}
	appendB := func(b []byte) int64 {
		res, err := l.Append(b, 0)
		if err != nil {
			t.Fatal(err)
		}
		return res.FirstOffset
	}
	first := appendB(withPID(keyedBatch(t, []kv{{"a", val("1")}, {"b", val("1")}}, ts, 4), 5))
	last5 := appendB(withPID(keyedBatch(t, []kv{{"a", val("2")}, {"b", val("2")}}, ts, 4), 5))
	for i := 0; i < 60; i++ {
		appendB(withPID(keyedBatch(t, []kv{{"a", val(fmt.Sprint(i))}, {"b", val("padding padding padding")}}, ts, 0), -1))
	}
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	l.SetHighWatermark(l.LogEndOffset())
	if _, err := l.Compact(clk.Now()); err != nil {
		t.Fatal(err)
	}
	var seen []Batch
	if err := l.ScanBatches(0, func(b Batch) error {
		if b.ProducerID() == 5 {
			seen = append(seen, append(Batch(nil), b...))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0].BaseOffset() != last5 || seen[0].RecordCount() != 0 || seen[0].LastOffsetDelta() != 1 ||
		seen[0].BaseSequence() != 11 || seen[0].Codec() != 0 {
		t.Fatalf("producer 5's batches after compaction: %d (first at %d), want only the empty last one at %d", len(seen), first, last5)
	}
}

func TestCompactedLogRejectsKeylessRecords(t *testing.T) {
	l := openTestLog(t, t.TempDir(), compactConfig(), Options{}, OpenState{Clean: true})
	defer l.Close()
	for _, codec := range []int{0, 1, 2, 3, 4} {
		recs := []kv{{"k", val("v")}, {"", val("no key")}, {"k", nil}, {"", nil}, {"k3", val("v")}, {"", val("x")}}
		_, err := l.Append(keyedBatch(t, recs, 1, codec), 0)
		var re *RecordsError
		if !errors.Is(err, ErrInvalidRecord) || !errors.As(err, &re) {
			t.Fatalf("codec %d: keyless records in a compacted log: %v", codec, err)
		}
		var idx []int32
		for _, r := range re.Records {
			idx = append(idx, r.Index)
			if r.Message != "Compacted topic cannot accept message without key in topic partition t-0" {
				t.Errorf("codec %d: record %d: message %q", codec, r.Index, r.Message)
			}
		}
		if fmt.Sprint(idx) != "[1 3 5]" {
			t.Fatalf("codec %d: record errors at %v, want [1 3 5]", codec, idx)
		}
		want := "One or more records have been rejected due to 3 record errors in total, and only showing " +
			"the first three errors at most: [RecordError(batchIndex=1, message='Compacted topic cannot " +
			"accept message without key in topic partition t-0'), RecordError(batchIndex=3, message='" +
			"Compacted topic cannot accept message without key in topic partition t-0'), " +
			"RecordError(batchIndex=5, message='Compacted topic cannot accept message without key in topic partition t-0')]"
		if re.Error() != want {
			t.Errorf("message %q", re.Error())
		}
		if _, err := l.Append(keyedBatch(t, []kv{{"k", val("v")}, {"k2", nil}}, 1, codec), 0); err != nil {
			t.Fatalf("codec %d: %v", codec, err)
		}
	}
	if l.LogEndOffset() != 10 {
		t.Fatalf("log end %d, want 10: a refused batch was written", l.LogEndOffset())
	}
}
