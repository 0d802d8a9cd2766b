package engine

import (
	"fmt"

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
	r := reader{b: frame}
	h.key = r.int16()
	h.version = r.int16()
	h.correlationID = r.int32()
	if r.err != nil {
		return h, nil, nil, fmt.Errorf("request header of %d bytes: %w", len(frame), r.err)
	}
	kreq = kmsg.RequestForKey(h.key)
	if kreq == nil {
		return h, nil, nil, fmt.Errorf("unknown api key %d", h.key)
	}
	// IsFlexible compares against the first flexible version, so it is
	// right for versions newer than kmsg knows, too.
	kreq.SetVersion(h.version)
	h.flexible = kreq.IsFlexible()
	id, _ := r.nullableString()
	h.clientID = string(id)
	if h.flexible {
		r.skipTags()
	}
	if r.err != nil {
		return h, nil, nil, fmt.Errorf("request header: %w", r.err)
	}
	return h, kreq, r.b, nil
}
