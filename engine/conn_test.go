package engine

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/netio"
)

// fakeConn is a netio.Conn that keeps what the handler sent.
type fakeConn struct {
	mu        sync.Mutex
	responses map[uint64][]byte
	released  int
	closed    bool
	arrived   chan struct{} // a token per response
}

func newFakeConn() *fakeConn {
	return &fakeConn{responses: map[uint64][]byte{}, arrived: make(chan struct{}, 1<<10)}
}

// wait is the response to request seq, waiting up to 10 s for handlers that
// answer later (admin requests run on control-plane goroutines).
func (c *fakeConn) wait(seq uint64) ([]byte, bool) {
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		out, ok := c.responses[seq]
		c.mu.Unlock()
		if ok {
			return out, true
		}
		select {
		case <-c.arrived:
		case <-deadline:
			return nil, false
		}
	}
}

func (c *fakeConn) ID() uint64           { return 1 }
func (c *fakeConn) Shard() int           { return 0 }
func (c *fakeConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555} }
func (c *fakeConn) Close()               { c.mu.Lock(); c.closed = true; c.mu.Unlock() }

// KeepFrame: the tests' frames are theirs, so the handler copies.
func (c *fakeConn) KeepFrame() (func(), bool) { return nil, false }

func (c *fakeConn) Respond(seq uint64, resp netio.Response) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.responses[seq]; dup {
		panic(fmt.Sprintf("second response to request %d", seq))
	}
	var out []byte
	for _, p := range resp.Parts {
		if p.File != nil {
			panic("file parts not expected yet")
		}
		out = append(out, p.Bytes...)
	}
	c.responses[seq] = out
	if resp.Release != nil {
		resp.Release()
		c.released++
	}
	select {
	case c.arrived <- struct{}{}:
	default:
	}
}

// newTestBroker opens a broker on a temporary log dir with the given
// extra configuration (key=value), without listening.
func newTestBroker(t testing.TB, kv ...string) *Broker {
	t.Helper()
	c := config.New(config.Kafka)
	base := append([]string{"node.id=1", "listeners=PLAINTEXT://127.0.0.1:9092", "log.dirs=" + t.TempDir()}, smallLogs...)
	for _, p := range append(base, kv...) {
		k, v, _ := cut(p)
		if err := c.Set(k, v, config.SourceFlag); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Open(Options{Config: c, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func cut(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

// roundTrip sends req through the PLAINTEXT listener's handler on a fresh
// fake connection and decodes the answer with kmsg. It fails the test on a
// closed connection.
func roundTrip(t *testing.T, b *Broker, req kmsg.Request) kmsg.Response {
	t.Helper()
	resp, err := tryRoundTrip(b, "PLAINTEXT", req)
	if err != nil {
		t.Fatalf("%s v%d: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp
}

func tryRoundTrip(b *Broker, listener string, req kmsg.Request) (kmsg.Response, error) {
	const corr = 0x5eed
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("test-client")).AppendRequest(nil, req, corr)
	c := newFakeConn()
	h := &listenerHandler{b: b, name: listener}
	if err := h.ServeFrame(c, 0, frame[4:]); err != nil {
		return nil, fmt.Errorf("connection closed: %w", err)
	}
	out, ok := c.wait(0)
	c.mu.Lock()
	released := c.released
	c.mu.Unlock()
	if !ok || released != 1 {
		return nil, fmt.Errorf("no response (released %d)", released)
	}
	resp := req.ResponseKind()
	if err := decodeResponse(out, corr, req, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// decodeResponse checks the size prefix, correlation id and header of a
// response frame the way a client reads it, then decodes the body into
// resp, whose version must be set. The body must re-encode to the same
// bytes, so nothing was left over.
func decodeResponse(out []byte, corr int32, req kmsg.Request, resp kmsg.Response) error {
	if len(out) < 8 || int(binary.BigEndian.Uint32(out)) != len(out)-4 {
		return fmt.Errorf("bad size prefix in % x", out[:min(8, len(out))])
	}
	if got := int32(binary.BigEndian.Uint32(out[4:])); got != corr {
		return fmt.Errorf("correlation id %d, want %d", got, corr)
	}
	body := out[8:]
	if req.IsFlexible() && req.Key() != 18 {
		if len(body) == 0 || body[0] != 0 {
			return fmt.Errorf("flexible response header lacks empty tagged fields")
		}
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		return fmt.Errorf("decode %s v%d response: %w", kmsg.NameForKey(req.Key()), resp.GetVersion(), err)
	}
	if again := resp.AppendTo(nil); string(again) != string(body) {
		return fmt.Errorf("response body has %d bytes, re-encodes to %d", len(body), len(again))
	}
	return nil
}
