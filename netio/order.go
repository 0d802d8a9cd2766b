package netio

// orderer releases responses in request order. Requests are numbered from
// 0 as they arrive; a response that completes early waits here until every
// earlier one has gone. It is owned by one goroutine (the shard, or the std
// connection's lock holder).
type orderer struct {
	next    uint64
	pending map[uint64]Response
}

// put files resp under seq and calls out for every response now in order.
func (o *orderer) put(seq uint64, resp Response, out func(Response)) {
	if seq < o.next {
		panic("netio: response for request " + itoa(seq) + " sent twice")
	}
	if seq != o.next {
		if o.pending == nil {
			o.pending = make(map[uint64]Response)
		}
		if _, dup := o.pending[seq]; dup {
			panic("netio: response for request " + itoa(seq) + " sent twice")
		}
		o.pending[seq] = resp
		return
	}
	out(resp)
	o.next++
	for len(o.pending) > 0 {
		r, ok := o.pending[o.next]
		if !ok {
			return
		}
		delete(o.pending, o.next)
		out(r)
		o.next++
	}
}

// drop releases every response still waiting (the connection died).
func (o *orderer) drop() {
	for seq, r := range o.pending {
		release(r)
		delete(o.pending, seq)
	}
}

func release(r Response) {
	if r.Release != nil {
		r.Release()
	}
}

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}
