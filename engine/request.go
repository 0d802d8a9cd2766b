package engine

import (
	"encoding/binary"

	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/valyala/bytebufferpool"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/netio"
)

// request is one request in service: the handlers' whole view of it.
type request struct {
	header
	kreq     kmsg.Request // decoded body
	conn     netio.Conn
	seq      uint64
	listener string          // the listener it came in on
	kind     listenerKind    // and its kind
	image    *metadata.Image // the metadata as of its arrival
}

// respond encodes resp behind the size prefix and response header, and
// queues it on the connection. A handler that returns no response calls
// it later (from any goroutine), exactly once.
//
//	size int32 | correlation_id int32 | [tagged fields: 0x00] | body
//
// The response header is v1 (with tagged fields) when the request was
// flexible, except for ApiVersions, whose response header is always v0 so
// a client that sent a version the broker does not know can read it.
func (r *request) respond(resp kmsg.Response) {
	buf := bytebufferpool.Get()
	b := append(buf.B[:0], 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(r.correlationID))
	if r.flexible && r.key != apiVersionsKey {
		b = append(b, 0) // no tagged fields
	}
	b = resp.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	buf.B = b
	r.conn.Respond(r.seq, netio.Response{
		Parts:   []netio.Part{{Bytes: b}},
		Release: func() { bytebufferpool.Put(buf) },
	})
}
