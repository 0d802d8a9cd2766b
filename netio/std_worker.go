package netio

import (
	"sync"

	"github.com/weirmq/weir/ring"
)

// stdWorker is the std backend's stand-in for a shard loop: a goroutine that
// runs, in order, the functions posted to it with Server.Run, so partition
// owners work the same way on both backends.
type stdWorker struct {
	q    ring.Queue[func()]
	wake chan struct{}
	mu   sync.RWMutex // held shared by posts, exclusive by the exit
	dead bool
	done chan struct{}
}

func newStdWorker() *stdWorker {
	w := &stdWorker{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go w.loop()
	return w
}

// post queues fn; false when the worker has stopped.
func (w *stdWorker) post(fn func()) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.dead {
		return false
	}
	w.q.Push(fn)
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return true
}

func (w *stdWorker) loop() {
	defer close(w.done)
	var batch []func()
	for range w.wake {
		batch = w.q.Drain(batch[:0])
		for i, fn := range batch {
			if fn == nil {
				return // stop
			}
			fn()
			batch[i] = nil
		}
	}
}

// stop runs what is queued, then ends the loop.
func (w *stdWorker) stop() {
	w.mu.Lock()
	if !w.dead {
		w.q.Push(nil)
		w.dead = true
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	w.mu.Unlock()
	<-w.done
}
