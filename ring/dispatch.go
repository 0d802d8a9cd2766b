package ring

import (
	"errors"
	"fmt"

	"github.com/pawelgaczynski/giouring"
	"golang.org/x/sys/unix"
)

// Handler receives the completions of one op kind: the id from the user
// data, the result (negative errno on failure) and the CQE flags.
type Handler func(id uint64, res int32, flags uint32)

// On registers the handler for op. Register every op before its first SQE.
func (r *Ring) On(op uint8, h Handler) { r.handlers[op] = h }

// Dispatch hands every ready completion to its op's handler, in CQ order,
// and returns how many it handed. Handlers may prepare SQEs. When the kernel
// has flagged a CQ overflow, Dispatch has it flush the backlog into the freed
// CQ and goes on, so no completion is lost (IORING_FEAT_NODROP).
func (r *Ring) Dispatch() int {
	n := 0
	for {
		r.seen = 0
		r.gr.ForEachCQE(r.onCQE)
		r.gr.CQAdvance(r.seen)
		n += int(r.seen)
		if !r.gr.CQHasOverflow() {
			return n
		}
		r.overflows++
		if !r.flushOverflow() {
			return n // Enter sees the flag still set and retries next turn
		}
	}
}

// handle is ForEachCQE's callback: one completion to its op's handler.
func (r *Ring) handle(c *giouring.CompletionQueueEvent) {
	ud := UserData(c.UserData)
	h := r.handlers[ud.Op()]
	if h == nil {
		panic(fmt.Sprintf("ring: completion for op %d has no handler (id %d, res %d, flags %#x)",
			ud.Op(), ud.ID(), c.Res, c.Flags))
	}
	r.seen++
	h(ud.ID(), c.Res, c.Flags)
}

// flushOverflow enters with GETEVENTS and no wait: the kernel moves its
// overflow backlog into the CQ (and runs pending task work). It reports
// whether completions became ready.
func (r *Ring) flushOverflow() bool {
	r.enters++
	_, err := r.gr.GetEvents()
	for errors.Is(err, unix.EINTR) {
		r.enters++
		_, err = r.gr.GetEvents()
	}
	if e := r.enterErr(err, 0, false); e != nil && r.err == nil {
		r.err = e
	}
	return r.err == nil && r.gr.CQReady() > 0
}
