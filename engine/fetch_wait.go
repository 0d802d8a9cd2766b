package engine

// Long polls, part of the partition unit (partition.go): a fetch that
// found fewer than min.bytes parks a wake-up on each partition it reads;
// the partition's next append calls them all. The fetch removes what it
// parked when it completes, so idle partitions don't collect waiters of
// fetches long gone.

// addWaiter parks wake on the partition and returns a handle to remove it.
func (p *partition) addWaiter(wake func()) uint64 {
	p.waitMu.Lock()
	defer p.waitMu.Unlock()
	if p.waiters == nil {
		p.waiters = map[uint64]func(){}
	}
	p.waiterSeq++
	p.waiters[p.waiterSeq] = wake
	return p.waiterSeq
}

func (p *partition) removeWaiter(id uint64) {
	p.waitMu.Lock()
	delete(p.waiters, id)
	p.waitMu.Unlock()
}

// wakeWaiters runs every parked wake-up once (after an append).
func (p *partition) wakeWaiters() {
	p.waitMu.Lock()
	if len(p.waiters) == 0 {
		p.waitMu.Unlock()
		return
	}
	ws := p.waiters
	p.waiters = nil
	p.waitMu.Unlock()
	for _, w := range ws {
		w()
	}
}
