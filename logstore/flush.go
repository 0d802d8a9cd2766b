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
	waits   []durableWait // WhenDurable's, until their offset is durable
}

type durableWait struct {
	offset int64
	fire   func(error)
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
		l.fireDurable(false)
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

// WhenDurable calls fire once the record at offset is durable
// (DurableOffset passes it), with nil; or with the log's error once the log
// fails, or ErrClosed when it closes first. fire runs on the goroutine
// that completes the sync (the Syncer's), or before WhenDurable returns
// when the offset is durable already; it must not block. Appends that must
// be answered only once durable (flush.messages=1) park their answers
// here, on the log that owns them.
func (l *Log) WhenDurable(offset int64, fire func(error)) {
	t := &l.flushes
	t.mu.Lock()
	if l.DurableOffset() <= offset && l.Err() == nil && !l.closedForWaits {
		t.waits = append(t.waits, durableWait{offset, fire})
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	fire(l.durableErr(offset))
}

// fireDurable fires the waits whose offsets are durable, or all of them
// when the log failed or closing (the log closed).
func (l *Log) fireDurable(closing bool) {
	t := &l.flushes
	t.mu.Lock()
	if closing {
		l.closedForWaits = true
	}
	if len(t.waits) == 0 {
		t.mu.Unlock()
		return
	}
	failed := l.Err() != nil
	var ready []durableWait
	keep := t.waits[:0]
	for _, w := range t.waits {
		if closing || failed || l.DurableOffset() > w.offset {
			ready = append(ready, w)
		} else {
			keep = append(keep, w)
		}
	}
	clear(t.waits[len(keep):])
	t.waits = keep
	t.mu.Unlock()
	for _, w := range ready {
		w.fire(l.durableErr(w.offset))
	}
}

// durableErr is what a wait for offset is answered with.
func (l *Log) durableErr(offset int64) error {
	switch {
	case l.Err() != nil:
		return l.Err()
	case l.DurableOffset() > offset:
		return nil
	default:
		return fmt.Errorf("%w: %s before offset %d was durable", ErrClosed, l.Dir(), offset)
	}
}
