package engine

import (
	"sync"

	"github.com/weirmq/weir/logstore"
)

// durableWaits holds answers to appends that wait for an fsync: with a
// flush policy that syncs on append (flush.messages=1), produce with
// acks=1/all and the coordinators' commits are answered only once the
// appended bytes are durable, as Kafka answers after its flush. Partitions
// park their appends' waits here (partition.append); the Syncer's
// completions poll it.
type durableWaits struct {
	mu    sync.Mutex
	waits []durableWait
}

type durableWait struct {
	log    *logstore.Log
	offset int64 // durable once the log's durable offset passes it
	fire   func(err error)
}

// add parks fire until log's durable offset passes offset (or the log
// fails).
func (d *durableWaits) add(l *logstore.Log, offset int64, fire func(error)) {
	d.mu.Lock()
	d.waits = append(d.waits, durableWait{l, offset, fire})
	d.mu.Unlock()
	d.poll() // the sync may have finished already
}

// poll fires every wait whose bytes are now durable.
func (d *durableWaits) poll() {
	d.mu.Lock()
	var ready []durableWait
	keep := d.waits[:0]
	for _, w := range d.waits {
		if w.log.DurableOffset() > w.offset || w.log.Err() != nil {
			ready = append(ready, w)
		} else {
			keep = append(keep, w)
		}
	}
	clear(d.waits[len(keep):])
	d.waits = keep
	d.mu.Unlock()
	for _, w := range ready {
		w.fire(w.log.Err())
	}
}
