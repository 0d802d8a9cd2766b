package engine

import (
	"errors"
	"sync"
	"time"

	"github.com/weirmq/weir/logstore"
)

// Moves of partition logs between this broker's log dirs, which
// AlterReplicaLogDirs asks for (34_alter_replica_log_dirs.go), as Kafka's
// ReplicaAlterLogDirsManager runs them. Each move has a goroutine that
// copies the log into its future log in the destination (logstore's
// Move.CatchUp), in chunks, while the partition takes appends; once the
// copy reaches the high watermark it syncs the future and posts the
// switch to the partition's owner shard, where no append runs meanwhile
// (Move.Switch copies the last batches, renames both directories and
// gives the partition's Log the future's files). The partition and its
// *logstore.Log stay the same, so nothing else changes hands. A switch
// that finds a compaction pass under way is tried again shortly.
//
// A move ends when it switched, when it is cancelled (another dir asked
// for, the partition's log deleted, the broker closing: the future log is
// deleted), or when it fails (logged; the log stays where it was). A
// stop in the middle is settled at the next Open (logstore.FinishMoves):
// an unswitched future is deleted, so the move must be asked for again.
//
// Not done (Kafka has them): a bandwidth limit for the copy
// (replica.alter.log.dirs.io.max.bytes.per.second), a thread pool
// (num.replica.alter.log.dirs.threads): each move has its own goroutine.

// moveChunkBytes is what a move copies between checks for cancellation.
const moveChunkBytes = 4 << 20

// moveRetryEvery is the wait before a busy switch is tried again.
const moveRetryEvery = 10 * time.Millisecond

// logMoves are the moves under way. Its mu is a leaf.
type logMoves struct {
	// req serializes AlterReplicaLogDirs requests (Kafka's
	// replicaStateChangeLock): a move's start and cancel are one step.
	req sync.Mutex

	mu     sync.Mutex
	byTP   map[logstore.TopicPartition]*logMove
	closed bool
	wg     sync.WaitGroup
	// preferred are the log dirs asked for partitions not hosted yet:
	// their logs are made there when they come (Kafka's preferred log
	// dirs), and forgotten then.
	preferred map[logstore.TopicPartition]*logstore.Dir
}

// logMove is one move and its goroutine.
type logMove struct {
	tp     logstore.TopicPartition
	m      *logstore.Move
	cancel chan struct{} // closed to end the move
	done   chan struct{} // closed when the goroutine has returned
}

// startMove starts moving tp's log, which from holds, to the log dir to.
// The caller holds b.moves.req and has cancelled any earlier move of tp.
func (b *Broker) startMove(tp logstore.TopicPartition, from, to *logstore.Dir) error {
	b.moves.mu.Lock()
	closed := b.moves.closed
	b.moves.mu.Unlock()
	if closed {
		return logstore.ErrClosed
	}
	m, err := from.StartMove(tp, to)
	if err != nil {
		return err
	}
	mv := &logMove{tp: tp, m: m, cancel: make(chan struct{}), done: make(chan struct{})}
	b.moves.mu.Lock()
	defer b.moves.mu.Unlock()
	if b.moves.closed {
		m.Abort()
		return logstore.ErrClosed
	}
	if b.moves.byTP == nil {
		b.moves.byTP = map[logstore.TopicPartition]*logMove{}
	}
	b.moves.byTP[tp] = mv
	b.moves.wg.Add(1)
	b.log.Info("moving a partition log to another log dir", "partition", tp.String(),
		"from", from.Path(), "to", to.Path())
	go b.runMove(mv)
	return nil
}

// moveOf is tp's move under way, or nil.
func (b *Broker) moveOf(tp logstore.TopicPartition) *logMove {
	b.moves.mu.Lock()
	defer b.moves.mu.Unlock()
	return b.moves.byTP[tp]
}

// cancelMove ends tp's move, if any, and waits for its goroutine: its
// future log is deleted unless it switched already.
func (b *Broker) cancelMove(tp logstore.TopicPartition) {
	if mv := b.moveOf(tp); mv != nil {
		mv.stop()
		<-mv.done
	}
}

func (mv *logMove) stop() {
	select {
	case <-mv.cancel:
	default:
		close(mv.cancel)
	}
}

func (mv *logMove) cancelled() bool {
	select {
	case <-mv.cancel:
		return true
	default:
		return false
	}
}

// stopMoves cancels every move and waits for them; no move starts after.
// The shard runtime must still run (a switch may be posted to a shard).
func (b *Broker) stopMoves() {
	b.moves.mu.Lock()
	b.moves.closed = true
	for _, mv := range b.moves.byTP {
		mv.stop()
	}
	b.moves.mu.Unlock()
	b.moves.wg.Wait()
}

// runMove is a move's goroutine: copy until the future log reaches the
// high watermark, then switch on the owner shard.
func (b *Broker) runMove(mv *logMove) {
	defer b.moves.wg.Done()
	defer close(mv.done)
	defer func() {
		b.moves.mu.Lock()
		if b.moves.byTP[mv.tp] == mv {
			delete(b.moves.byTP, mv.tp)
		}
		b.moves.mu.Unlock()
	}()
	fail := func(step string, err error) {
		mv.m.Abort()
		if !errors.Is(err, logstore.ErrMoveEnded) && !errors.Is(err, logstore.ErrClosed) {
			b.log.Error("a partition log move failed; the log stays where it was", "partition", mv.tp.String(),
				"to", mv.m.To().Path(), "step", step, "err", err)
		}
	}
	for first := true; ; first = false {
		if mv.cancelled() {
			mv.m.Abort()
			b.log.Info("partition log move cancelled", "partition", mv.tp.String(), "to", mv.m.To().Path())
			return
		}
		reached, _, err := mv.m.CatchUp(moveChunkBytes)
		if err != nil {
			fail("copy", err)
			return
		}
		if first {
			b.haltPoint("log-move-copying")
		}
		if !reached {
			continue
		}
		if err := mv.m.Flush(); err != nil {
			fail("sync", err)
			return
		}
		switch err := b.switchMove(mv); {
		case err == nil:
			b.log.Info("partition log moved", "partition", mv.tp.String(), "from", mv.m.From().Path(),
				"to", mv.m.To().Path(), "log_end_offset", mv.m.Log().LogEndOffset())
			for _, d := range []*logstore.Dir{mv.m.From(), mv.m.To()} {
				if err := d.Checkpoint(); err != nil {
					b.log.Warn("cannot write a log dir's checkpoints after a move", "dir", d.Path(), "err", err)
				}
			}
			return
		case errors.Is(err, logstore.ErrMoveBusy):
			time.Sleep(moveRetryEvery)
		default:
			fail("switch", err)
			return
		}
	}
}

// switchMove runs the move's switch on the owner shard of its partition,
// and waits for it. A log no partition is published around takes no
// appends, so its switch runs here.
func (b *Broker) switchMove(mv *logMove) error {
	between := func() { b.haltPoint("log-move-switching") }
	p := b.lookupPartition(mv.tp.Topic, mv.tp.Partition)
	if p == nil || p.log != mv.m.Log() {
		return mv.m.Switch(between)
	}
	done := make(chan error, 1)
	b.shards.Run(b.owner(p), func() { done <- mv.m.Switch(between) })
	return <-done
}

// preferLogDir remembers d for tp's log, should tp come here later.
func (b *Broker) preferLogDir(tp logstore.TopicPartition, d *logstore.Dir) {
	b.moves.mu.Lock()
	defer b.moves.mu.Unlock()
	if b.moves.preferred == nil {
		b.moves.preferred = map[logstore.TopicPartition]*logstore.Dir{}
	}
	b.moves.preferred[tp] = d
}

// preferredLogDir is the log dir asked for tp before it was hosted, or
// nil; it is forgotten when taken.
func (b *Broker) preferredLogDir(tp logstore.TopicPartition) *logstore.Dir {
	b.moves.mu.Lock()
	defer b.moves.mu.Unlock()
	d := b.moves.preferred[tp]
	delete(b.moves.preferred, tp)
	return d
}
