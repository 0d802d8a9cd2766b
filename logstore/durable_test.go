package logstore

import (
	"errors"
	"testing"
)

// TestWhenDurable: a wait fires once the sync that covers its offset is
// done, not before; a wait for an offset already durable fires at once; a
// failed sync answers with the log's error; Close answers what is left.
func TestWhenDurable(t *testing.T) {
	cfg := testConfig(1 << 20)
	cfg.FlushMessages = 1
	sy := &countingSyncer{async: true}
	l := openTestLog(t, t.TempDir(), cfg, Options{Syncer: sy}, OpenState{})
	defer l.Close()
	fired := map[string]error{}
	wait := func(name string, off int64) {
		l.WhenDurable(off, func(err error) {
			if _, twice := fired[name]; twice {
				t.Errorf("%s fired twice", name)
			}
			fired[name] = err
		})
	}
	res, err := l.Append(makeBatch(batchSpec{records: 2, valueSize: 1}), 0)
	if err != nil || !res.SyncStarted {
		t.Fatalf("append: %+v %v", res, err)
	}
	wait("first", res.LastOffset)
	res2, _ := l.Append(makeBatch(batchSpec{records: 1, valueSize: 1}), 0)
	wait("second", res2.LastOffset)
	if len(fired) != 0 {
		t.Fatalf("fired before any sync: %v", fired)
	}
	sy.pending[0](nil) // the first append's sync
	if err, ok := fired["first"]; !ok || err != nil {
		t.Fatalf("first after its sync: %v (fired %v)", err, ok)
	}
	if _, ok := fired["second"]; ok {
		t.Fatal("second fired before its sync")
	}
	wait("already", res.FirstOffset)
	if err, ok := fired["already"]; !ok || err != nil {
		t.Fatalf("a wait for a durable offset: %v (fired %v)", err, ok)
	}
	sy.pending[1](errors.New("disk on fire"))
	if err := fired["second"]; !errors.Is(err, ErrStorage) {
		t.Fatalf("second after a failed sync: %v, want ErrStorage", err)
	}
	wait("after failure", res2.LastOffset+5)
	if err := fired["after failure"]; !errors.Is(err, ErrStorage) {
		t.Fatalf("a wait on a failed log: %v, want ErrStorage", err)
	}
}

// TestWhenDurableClose: Close makes the log durable and answers the waits
// still parked; a wait after Close is answered at once.
func TestWhenDurableClose(t *testing.T) {
	cfg := testConfig(1 << 20)
	cfg.FlushMessages = 1
	sy := &countingSyncer{async: true}
	l := openTestLog(t, t.TempDir(), cfg, Options{Syncer: sy}, OpenState{})
	res, err := l.Append(makeBatch(batchSpec{records: 1, valueSize: 1}), 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []error
	l.WhenDurable(res.LastOffset, func(err error) { got = append(got, err) })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != nil {
		t.Fatalf("after Close: %v, want one nil (Close syncs)", got)
	}
	l.WhenDurable(res.LastOffset+10, func(err error) { got = append(got, err) })
	if len(got) != 2 || !errors.Is(got[1], ErrClosed) {
		t.Fatalf("a wait past the end after Close: %v, want ErrClosed", got)
	}
	for _, done := range sy.pending {
		done(nil) // late completions touch nothing
	}
}
