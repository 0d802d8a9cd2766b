package engine

import (
	"bytes"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestParseHeader(t *testing.T) {
	body := []byte{0xb0, 0xd1}
	tests := []struct {
		name  string
		frame []byte
		want  header
		err   string
	}{
		{name: "v1", frame: cat(i16(3), i16(1), i32(7), str("cli"), body),
			want: header{key: 3, version: 1, correlationID: 7, clientID: "cli"}},
		{name: "v1 null client id", frame: cat(i16(3), i16(8), i32(-5), i16(-1), body),
			want: header{key: 3, version: 8, correlationID: -5}},
		{name: "v1 empty client id", frame: cat(i16(18), i16(2), i32(1), i16(0), body),
			want: header{key: 18, version: 2, correlationID: 1}},
		{name: "v2 no tags", frame: cat(i16(3), i16(9), i32(1), str("c"), []byte{0}, body),
			want: header{key: 3, version: 9, correlationID: 1, clientID: "c", flexible: true}},
		{name: "v2 unknown tags skipped",
			frame: cat(i16(18), i16(3), i32(2), str("c"), []byte{2, 0, 3, 'a', 'b', 'c', 0x80, 0x01, 0}, body),
			want:  header{key: 18, version: 3, correlationID: 2, clientID: "c", flexible: true}},
		{name: "flexible for versions newer than kmsg knows",
			frame: cat(i16(18), i16(99), i32(3), i16(-1), []byte{0}, body),
			want:  header{key: 18, version: 99, correlationID: 3, flexible: true}},
		{name: "empty", frame: nil, err: "truncated"},
		{name: "short fixed part", frame: cat(i16(3), i16(1), []byte{0, 0, 1}), err: "truncated"},
		{name: "unknown key", frame: cat(i16(999), i16(0), i32(1), i16(-1)), err: "unknown api key 999"},
		{name: "negative key", frame: cat(i16(-3), i16(0), i32(1), i16(-1)), err: "unknown api key -3"},
		{name: "no client id", frame: cat(i16(3), i16(1), i32(1)), err: "truncated"},
		{name: "client id past end", frame: cat(i16(3), i16(1), i32(1), i16(10), []byte("abc")), err: "truncated"},
		// Kafka's RequestHeaderData reads any negative length as null.
		{name: "negative client id length", frame: cat(i16(3), i16(1), i32(1), i16(-2), body),
			want: header{key: 3, version: 1, correlationID: 1}},
		{name: "v2 without tags", frame: cat(i16(3), i16(9), i32(1), str("c")), err: "truncated"},
		{name: "tag past end", frame: cat(i16(3), i16(9), i32(1), str("c"), []byte{1, 0, 9, 'x'}), err: "truncated"},
		{name: "tag count past end", frame: cat(i16(3), i16(9), i32(1), str("c"), []byte{5, 0, 0}), err: "truncated"},
		{name: "varint overflow",
			frame: cat(i16(3), i16(9), i32(1), str("c"), []byte{0xff, 0xff, 0xff, 0xff, 0x7f}), err: "truncated"},
		{name: "unterminated varint", frame: cat(i16(3), i16(9), i32(1), str("c"), []byte{0x80}), err: "truncated"},
	}
	for _, tt := range tests {
		h, kreq, rest, err := parseHeader(tt.frame)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if h != tt.want || !bytes.Equal(rest, body) || kreq.Key() != h.key || kreq.GetVersion() != h.version {
			t.Errorf("%s: got %+v rest % x (kreq %d v%d), want %+v", tt.name, h, rest,
				kreq.Key(), kreq.GetVersion(), tt.want)
		}
	}
}

// Every header kmsg writes, for every API and version, parses back.
func TestParseHeaderKmsgRoundTrip(t *testing.T) {
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("rt"))
	for key := int16(0); key < apiKeysMax; key++ {
		req := kmsg.RequestForKey(key)
		if req == nil {
			continue
		}
		for v := int16(0); v <= req.MaxVersion(); v++ {
			if key == 7 && v == 0 {
				continue // ControlledShutdown v0 has header v0, long gone from Kafka
			}
			req.SetVersion(v)
			frame := f.AppendRequest(nil, req, 42)
			h, _, rest, err := parseHeader(frame[4:])
			if err != nil {
				t.Fatalf("%s v%d: %v", kmsg.NameForKey(key), v, err)
			}
			want := header{key: key, version: v, correlationID: 42, clientID: "rt", flexible: req.IsFlexible()}
			if h != want || !bytes.Equal(rest, req.AppendTo(nil)) {
				t.Fatalf("%s v%d: got %+v, want %+v", kmsg.NameForKey(key), v, h, want)
			}
		}
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
func i16(v int16) []byte         { return []byte{byte(uint16(v) >> 8), byte(v)} }
func i32(v int32) []byte {
	return []byte{byte(uint32(v) >> 24), byte(uint32(v) >> 16), byte(uint32(v) >> 8), byte(v)}
}
func str(s string) []byte { return append(i16(int16(len(s))), s...) }
