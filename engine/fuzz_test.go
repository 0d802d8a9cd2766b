package engine

import (
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzRequestHeader feeds arbitrary frames to the request decoder and the
// dispatch behind it. Whatever the bytes, nothing panics, and a frame is
// either answered once with a well-formed response carrying its
// correlation id, or its connection is closed with nothing sent (an acks=0
// produce is answered with nothing).
func FuzzRequestHeader(f *testing.F) {
	fm := kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz"))
	for v := int16(0); v <= 7; v++ {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = v
		req.ClientSoftwareName, req.ClientSoftwareVersion = "f", "1"
		f.Add(fm.AppendRequest(nil, req, 1)[4:])
	}
	for v := int16(0); v <= 13; v++ {
		f.Add(fm.AppendRequest(nil, metadataRequest(v, "a", "b"), 2)[4:])
	}
	f.Add(fm.AppendRequest(nil, kmsg.NewPtrProduceRequest(), 3)[4:])
	f.Add([]byte{0, 3, 0, 9, 0, 0, 0, 1, 0xff, 0xff, 0x05, 0x80})
	f.Add([]byte{})

	// Small segments: a fuzzed CreateTopics preallocates one per partition.
	b := newTestBroker(f, "log.segment.bytes=65536", "log.index.size.max.bytes=4096")
	h := &listenerHandler{b: b, name: "PLAINTEXT"}
	f.Fuzz(func(t *testing.T, frame []byte) {
		hdr, _, _, herr := parseHeader(frame)
		c := newFakeConn()
		err := h.ServeFrame(c, 0, frame)
		if err != nil {
			if len(c.responses) != 0 {
				t.Fatalf("closed after responding: %v", err)
			}
			return
		}
		if herr != nil {
			t.Fatalf("answered a frame whose header fails: %v", herr)
		}
		out, ok := c.wait(0) // admin requests answer from a control-plane goroutine
		if (ok && len(out) == 0) || (!ok && c.closed) {
			return // acks=0 produce: nothing to send, or a close on its error
		}
		if !ok || c.released != 1 {
			t.Fatalf("no response and no error")
		}
		if len(out) < 8 || int(binary.BigEndian.Uint32(out)) != len(out)-4 ||
			int32(binary.BigEndian.Uint32(out[4:])) != hdr.correlationID {
			t.Fatalf("malformed response % x", out[:min(len(out), 8)])
		}
	})
}
