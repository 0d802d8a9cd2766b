package engine

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// header is a request header. Kafka's layouts (big-endian):
//
//	v1: api_key int16 | api_version int16 | correlation_id int32 |
//	    client_id nullable string (int16 length, -1 = null)
//	v2: v1, then tagged fields (uvarint count; per field uvarint tag,
//	    uvarint size, bytes)
//
// v2 is used exactly when the request's version is flexible (KIP-482);
// client_id stays a non-compact string even then, so brokers that do not
// know the version can still read it.
type header struct {
	key           int16
	version       int16
	correlationID int32
	clientID      string // "" when null
	flexible      bool   // header v2 (and a flexible body)
}

// parseHeader reads the header at the front of frame and returns the
// request kmsg knows for the key (body not decoded yet) and the body bytes.
// On error the fields read so far are filled in, for the log line.
func parseHeader(frame []byte) (h header, kreq kmsg.Request, body []byte, err error) {
	r := kbin.Reader{Src: frame}
	h.key = r.Int16()
	h.version = r.Int16()
	h.correlationID = r.Int32()
	if !r.Ok() {
		return h, nil, nil, fmt.Errorf("request header of %d bytes: truncated", len(frame))
	}
	kreq = kmsg.RequestForKey(h.key)
	if kreq == nil {
		return h, nil, nil, fmt.Errorf("unknown api key %d", h.key)
	}
	// IsFlexible compares against the first flexible version, so it is
	// right for versions newer than kmsg knows, too.
	kreq.SetVersion(h.version)
	h.flexible = kreq.IsFlexible()
	// A negative length is a null client id, as Kafka reads it.
	if id := r.UnsafeNullableString(); id != nil {
		h.clientID = string([]byte(*id))
	}
	if h.flexible {
		skipTags(&r)
	}
	if !r.Ok() {
		return h, nil, nil, fmt.Errorf("request header of %s v%d: truncated", kmsg.NameForKey(h.key), h.version)
	}
	return h, kreq, r.Src, nil
}

// skipTags skips a tagged-field section: a count, then per field a tag and
// a size-prefixed value. No tag is known in a request header.
func skipTags(r *kbin.Reader) {
	n := r.Uvarint()
	for i := uint32(0); i < n && r.Ok(); i++ {
		r.Uvarint()
		r.Span(int(r.Uvarint()))
	}
}
