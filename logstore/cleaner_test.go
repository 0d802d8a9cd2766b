package logstore

import (
	"fmt"
	"testing"
	"time"
)

// fillOneKey appends n records of key "k" (and a few others), one batch
// each, stamped ts, over several 2 KiB segments.
func fillOneKey(t *testing.T, l *Log, n int, ts int64) {
	t.Helper()
	for i := 0; i < n; i++ {
		key := "k"
		if i%10 == 9 {
			key = fmt.Sprintf("other%d", i%3)
		}
		appendKV(t, l, []kv{{key, val(fmt.Sprintf("value %d with some padding", i))}}, ts, 0)
	}
}

func newCleanerFor(clk *fakeClock, logs ...*Log) *Cleaner {
	return NewCleaner(CleanerConfig{Threads: 1, Backoff: 10 * time.Millisecond, Now: clk.Now, Logger: quietLogger()},
		func() []*Log { return logs })
}

func TestCleanerPicksDirtiestFirst(t *testing.T) {
	clk := newFakeClock()
	ts := clk.Now().UnixMilli()
	less := openTestLog(t, t.TempDir(), compactConfig(), Options{Now: clk.Now}, OpenState{Clean: true})
	defer less.Close()
	more := openTestLog(t, t.TempDir(), compactConfig(), Options{Now: clk.Now}, OpenState{Clean: true})
	defer more.Close()
	fillOneKey(t, less, 60, ts)
	fillOneKey(t, more, 60, ts)
	c := newCleanerFor(clk, less, more)
	// Clean less, then dirty it a little: more is all dirty, less is not.
	if _, err := less.Compact(clk.Now()); err != nil {
		t.Fatal(err)
	}
	fillOneKey(t, less, 60, ts)
	a, _ := less.toClean(clk.Now())
	b, _ := more.toClean(clk.Now())
	if !(a.ratio > 0.5 && a.ratio < b.ratio) {
		t.Fatalf("ratios: less %v, more %v", a.ratio, b.ratio)
	}
	if l := c.grabFilthiest(clk.Now()); l != more {
		t.Fatalf("picked %v, want the dirtier log", l.dir)
	}
	// more is busy: the next pick is less.
	if l := c.grabFilthiest(clk.Now()); l != less {
		t.Fatalf("second pick: %v", l)
	}
	if l := c.grabFilthiest(clk.Now()); l != nil {
		t.Fatalf("third pick: %v", l.dir)
	}
}

func TestCleanerMinCompactionLag(t *testing.T) {
	clk := newFakeClock()
	cfg := compactConfig()
	cfg.MinCompactionLagMs = time.Hour.Milliseconds()
	l := openTestLog(t, t.TempDir(), cfg, Options{Now: clk.Now}, OpenState{Clean: true})
	defer l.Close()
	fillOneKey(t, l, 80, clk.Now().UnixMilli())
	c := newCleanerFor(clk, l)
	clk.Add(59 * time.Minute)
	if c.CleanOnce() {
		t.Fatal("cleaned records younger than min.compaction.lag.ms")
	}
	if n, err := l.Compact(clk.Now()); err != nil || n != 0 {
		t.Fatalf("Compact inside the lag removed %d: %v", n, err)
	}
	// Records an hour older than the rest: the old segments are cleanable,
	// those from the young record on are not.
	clk.Add(2 * time.Minute)
	fillOneKey(t, l, 40, clk.Now().UnixMilli())
	young := l.segments()
	var bound int64 = -1
	for i, s := range young[:len(young)-1] {
		if s.largestTimestamp() >= clk.Now().UnixMilli() {
			bound = young[i].base
			break
		}
	}
	if !c.CleanOnce() {
		t.Fatal("nothing cleaned past min.compaction.lag.ms")
	}
	if bound <= 0 {
		t.Fatalf("no cleanable segment before the young records (bound %d)", bound)
	}
	seen := map[string]bool{}
	next := bound
	for _, r := range readRecords(t, l) {
		if r.offset < bound {
			if seen[r.key] {
				t.Fatalf("key %s twice below the first young segment %d", r.key, bound)
			}
			seen[r.key] = true
			continue
		}
		if r.offset != next {
			t.Fatalf("record %d gone from the segments min.compaction.lag.ms keeps (from %d)", next, bound)
		}
		next++
	}
	if next != l.LogEndOffset() {
		t.Fatalf("records end at %d, log at %d", next, l.LogEndOffset())
	}
}

func TestCleanerMaxCompactionLag(t *testing.T) {
	clk := newFakeClock()
	cfg := compactConfig()
	cfg.MinCleanableDirtyRatio = 1 // the ratio alone never qualifies
	l := openTestLog(t, t.TempDir(), cfg, Options{Now: clk.Now}, OpenState{Clean: true})
	defer l.Close()
	fillOneKey(t, l, 80, clk.Now().UnixMilli())
	c := newCleanerFor(clk, l)
	clk.Add(2 * time.Hour)
	if c.CleanOnce() {
		t.Fatal("cleaned below min.cleanable.dirty.ratio without max.compaction.lag.ms")
	}
	cfg.MaxCompactionLagMs = time.Hour.Milliseconds()
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if !c.CleanOnce() {
		t.Fatal("max.compaction.lag.ms passed but nothing was cleaned")
	}
	if got := len(readRecords(t, l)); got >= 80 {
		t.Fatalf("%d records after cleaning", got)
	}
}

// The cleaner's own goroutines compact every compacted log within a few
// backoff periods, each to the last value per key below the active
// segment; a log whose policy is delete is left alone.
func TestCleanerThreads(t *testing.T) {
	clk := newFakeClock()
	var logs []*Log
	for i := 0; i < 4; i++ {
		cfg := compactConfig()
		if i == 3 {
			cfg.CleanupPolicy = "delete"
		}
		l := openTestLog(t, t.TempDir(), cfg, Options{Now: clk.Now}, OpenState{Clean: true})
		defer l.Close()
		fillOneKey(t, l, 100, clk.Now().UnixMilli())
		logs = append(logs, l)
	}
	c := NewCleaner(CleanerConfig{Threads: 2, Backoff: 20 * time.Millisecond, Now: clk.Now, Logger: quietLogger()},
		func() []*Log { return logs })
	c.Start()
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for _, l := range logs[:3] {
		for l.firstDirty() == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		active := l.segments()[len(l.segments())-1].base
		seen := map[string]bool{}
		for _, r := range readRecords(t, l) {
			if r.offset < active && seen[string(r.key)] {
				t.Fatalf("%s: key %s twice below the active segment", l.dir, r.key)
			}
			seen[string(r.key)] = true
		}
	}
	if n := len(readRecords(t, logs[3])); n != 100 {
		t.Fatalf("delete-policy log has %d records, want 100", n)
	}
	c.Close()
	c.Close()
}

// Close right after Start returns: the goroutines must see the stop.
func TestCleanerCloseRightAfterStart(t *testing.T) {
	for i := 0; i < 200; i++ {
		c := NewCleaner(CleanerConfig{Threads: 2, Backoff: time.Hour, Logger: quietLogger()},
			func() []*Log { return nil })
		c.Start()
		done := make(chan struct{})
		go func() { c.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Close hung (round %d)", i)
		}
	}
}
