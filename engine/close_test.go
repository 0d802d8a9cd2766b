package engine

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Requests Weir can't answer the Kafka way close their connection (a Go
// error from ServeFrame) and send nothing; the broker keeps serving.
func TestUnservedRequestsClose(t *testing.T) {
	b := newTestBroker(t)
	metadataV14 := metadataRequest(13)
	tests := []struct {
		name  string
		frame []byte
		err   string
	}{
		{"sasl handshake (not served)", frameOf(kmsg.NewPtrSASLHandshakeRequest()), "unsupported api SASLHandshake"},
		{"unknown key", cat(i16(500), i16(0), i32(1), i16(-1)), "unknown api key 500"},
		{"metadata too new", func() []byte {
			f := frameOf(metadataV14)
			f[3] = 14 // version 14 in the header; the body is v13's
			return f
		}(), "unsupported Metadata version 14"},
		{"metadata negative version", cat(i16(3), i16(-1), i32(1), i16(-1)), "unsupported Metadata version -1"},
		{"truncated body", func() []byte {
			f := frameOf(metadataRequest(1, "topic-a"))
			return f[:len(f)-3]
		}(), "malformed Metadata v1"},
		{"truncated header", []byte{0, 3, 0}, "truncated"},
		{"empty frame", nil, "truncated"},
	}
	for _, tt := range tests {
		c := newFakeConn()
		err := (&listenerHandler{b: b, name: "PLAINTEXT"}).ServeFrame(c, 0, tt.frame)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.err)
		}
		if len(c.responses) != 0 {
			t.Errorf("%s: responded before closing", tt.name)
		}
	}
	roundTrip(t, b, metadataRequest(12)) // still serving
}

// frameOf is a request frame (after the size prefix) as kmsg writes it.
func frameOf(req kmsg.Request) []byte {
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("c")).AppendRequest(nil, req, 9)[4:]
}
