package engine

import "sync"

// Leaders' appends leave the shard loops on the uring backend. A shard
// loop is one thread serving every connection and partition it owns; a
// pwrite(2) that waits in the kernel (ext4's journal, writeback, or this
// host's first touch of a page-cache page) would hold all of them up. So
// the loop only decides an append (leadership, acks, min.insync) and
// queues it on its partition; a goroutine drains the partition's queue,
// writing each batch in the order the loop accepted them, and posts the
// outcomes of what it wrote back to the owner shard in one turn, where
// the replica takes the new log end, parked fetches wake and the produce
// is answered (or waits for the ISR). A write stuck in the kernel holds up
// its own partition's appends and nothing else: each partition with work
// has its own drain (a blocked goroutine costs Go a thread, not a loop),
// much as Kafka's request handler threads each block on their own append.
//
// A drain writes under the partition's writeMu (partition.write), as a
// follower's fetcher does, so a change of role waits for an append in
// progress and then refuses the ones queued behind it
// (NOT_LEADER_OR_FOLLOWER).
//
// On std the owners are goroutines already (a blocked write parks one
// goroutine, not a thread serving connections), and appends stay there.

// appendJob is one append queued on a partition.
type appendJob struct {
	payload []byte // held by the caller until then runs
	durable bool   // the producer waits: a started sync is handed back
	// then runs on the owner shard's loop with the outcome, after the
	// partition took it (appendedOnOwner).
	then func(appendResult, error)
}

type appendOutcome struct {
	res appendResult
	err error
}

// appendQueue is a partition's appends waiting for its drain.
type appendQueue struct {
	mu       sync.Mutex
	jobs     []appendJob
	draining bool // a drain runs and will take jobs
}

// appenders track the drains so that Close waits for them before the logs
// close; after that, appends run where they are submitted. At most
// num.io.threads drains write at once (writing holds a slot): a disk that
// stalls holds that many OS threads in pwrite, not one per partition (Go
// gives each blocked syscall a thread, and stops at 10,000), as Kafka's
// request handler threads bound its appends.
type appenders struct {
	mu      sync.Mutex
	stopped bool
	running sync.WaitGroup
	slots   chan struct{}
}

// offloadsAppends says whether leaders' appends leave the shard loops: on
// the uring backend, whose handlers and owners run on the loops.
func (b *Broker) offloadsAppends() bool { return b.shards.OnLoop() }

// submitAppend queues an append of p's, to be written off the loop; j.then
// runs on p's owner shard. Called on the owner shard's loop.
func (b *Broker) submitAppend(p *partition, j appendJob) {
	q := &p.appendQ
	q.mu.Lock()
	q.jobs = append(q.jobs, j)
	start := !q.draining
	q.draining = true
	q.mu.Unlock()
	if !start {
		return
	}
	b.appenders.mu.Lock()
	if b.appenders.stopped {
		b.appenders.mu.Unlock()
		b.drainAppends(p) // closing: here and now
		return
	}
	b.appenders.running.Add(1)
	b.appenders.mu.Unlock()
	go func() {
		defer b.appenders.running.Done()
		b.drainAppends(p)
	}()
}

// drainAppends writes p's queued appends until none is left, posting each
// round's outcomes to the owner shard in one turn.
func (b *Broker) drainAppends(p *partition) {
	q := &p.appendQ
	for {
		q.mu.Lock()
		jobs := q.jobs // the post below owns it
		q.jobs = nil
		if len(jobs) == 0 {
			q.draining = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		outs := make([]appendOutcome, len(jobs))
		b.appenders.slots <- struct{}{}
		for i, j := range jobs {
			outs[i].res, outs[i].err = p.write(j.payload, originClient, j.durable)
		}
		<-b.appenders.slots
		b.shards.Run(b.owner(p), func() {
			for i, j := range jobs {
				p.appendedOnOwner(outs[i].res, outs[i].err)
				j.then(outs[i].res, outs[i].err)
			}
		})
	}
}

// stopAppenders waits for the drains running; appends submitted after
// run where they are submitted (Close stops the listeners first, so there
// are none but stragglers).
func (b *Broker) stopAppenders() {
	b.appenders.mu.Lock()
	b.appenders.stopped = true
	b.appenders.mu.Unlock()
	b.appenders.running.Wait()
}
