package engine

import "sync/atomic"

// Work on partitions runs on their owner shards. A request that touches
// partitions of several owners (Produce, DeleteRecords) groups its jobs by
// owner and hands them to onOwners, which posts each owner's group to its
// shard and runs done once when the last is finished, on whichever shard
// finished it.

// fanIn counts the parts of a fan-out still running; the last release
// runs done.
type fanIn struct {
	pending atomic.Int32
	done    func()
}

// hold adds a part that finishes later (a durable wait); release it then.
func (f *fanIn) hold() { f.pending.Add(1) }

// release ends a part; the last runs done.
func (f *fanIn) release() {
	if f.pending.Add(-1) == 0 {
		f.done()
	}
}

// onOwners runs each job of byOwner (jobs keyed by owner shard) on its
// owner: through the shard runtime's Run, except the group of shard
// here, which runs inline after the others are posted (the caller runs on
// that shard's loop; -1: none). each may hold f for work that completes
// later and release it then. done runs once, after every job and every
// hold; at once when byOwner is empty.
func onOwners[J any](b *Broker, byOwner map[int][]J, here int, each func(j J, f *fanIn), done func()) {
	if len(byOwner) == 0 {
		done()
		return
	}
	f := &fanIn{done: done}
	f.pending.Store(int32(len(byOwner)))
	runAll := func(jobs []J) {
		for _, j := range jobs {
			each(j, f)
		}
		f.release()
	}
	for owner, jobs := range byOwner {
		if owner != here {
			b.shards.Run(owner, func() { runAll(jobs) })
		}
	}
	if jobs, ok := byOwner[here]; ok {
		runAll(jobs)
	}
}
