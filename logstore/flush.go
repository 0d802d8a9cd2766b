package logstore

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// flushTracker turns sync completions into the recovery point: the offset
// below which every byte is durable. Syncs may complete out of order under
// an asynchronous Syncer, so the point moves only over a prefix of completed
// syncs; a truncation starts a new generation, and syncs issued before it no
// longer move the point (their offsets may name bytes that are gone).
type flushTracker struct {
	mu      sync.Mutex
	gen     uint64
	seq     uint64
	pending []pendingSync
	point   atomic.Int64
}

type pendingSync struct {
	seq      uint64
	gen      uint64
	upTo     int64
	done, ok bool
}

func (t *flushTracker) begin(upTo int64) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	t.pending = append(t.pending, pendingSync{seq: t.seq, gen: t.gen, upTo: upTo})
	return t.seq
}

func (t *flushTracker) complete(seq uint64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.pending {
		if t.pending[i].seq == seq {
			t.pending[i].done, t.pending[i].ok = true, ok
		}
	}
	for len(t.pending) > 0 && t.pending[0].done {
		p := t.pending[0]
		if p.ok && p.gen == t.gen && p.upTo > t.point.Load() {
			t.point.Store(p.upTo)
		}
		t.pending = t.pending[1:]
	}
}

// reset lowers the point to at most to and forgets syncs in flight.
func (t *flushTracker) reset(to int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	if t.point.Load() > to {
		t.point.Store(to)
	}
}

// set is for open and close, when no sync is in flight.
func (t *flushTracker) set(v int64) { t.point.Store(v) }

// startSync hands files to the Syncer, with the files at paths opened for
// the sync (index files are not kept open) and the log's directory when
// withDir; when they are durable the recovery point may move to upTo. hold,
// if not nil, is a segment reference released when the sync is done, so
// retention cannot close its files under the sync.
func (l *Log) startSync(files []*os.File, paths []string, withDir bool, upTo int64, hold *Segment) {
	seq := l.flushes.begin(upTo)
	var opened []*os.File
	done := func(err error) {
		for _, f := range opened {
			f.Close()
		}
		if err != nil {
			l.fail(fmt.Errorf("sync up to offset %d: %w", upTo, err))
		}
		l.flushes.complete(seq, err == nil)
		if hold != nil {
			hold.Release()
		}
	}
	if withDir {
		paths = append(paths, l.dir)
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			done(fmt.Errorf("open for sync: %w", err))
			return
		}
		opened = append(opened, f)
	}
	var dir *os.File
	if withDir {
		dir = opened[len(opened)-1]
		files = append(files, opened[:len(opened)-1]...)
	} else {
		files = append(files, opened...)
	}
	l.opts.Syncer.Sync(files, dir, done)
}

// flushLocked syncs the active segment's .log up to the log end. Its index is
// not synced: recovery rescans the segment that holds the recovery point and
// rebuilds its indexes, so only the batches need to be durable.
func (l *Log) flushLocked(now time.Time) {
	seg := l.active()
	l.unflushed, l.lastFlush = 0, now
	seg.Acquire()
	l.startSync([]*os.File{seg.log}, nil, false, l.leo.Load(), seg)
}

// Flush starts a sync of everything appended so far (flush.messages and
// flush.ms call it for you). With the default Syncer it is durable when Flush
// returns; with an asynchronous one, when RecoveryPoint reaches the log end.
func (l *Log) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	l.flushLocked(l.opts.Now())
	return l.usable()
}
