package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// pingPongRequestBytes is the size on the wire of a ping-pong request,
// its length prefix included.
const pingPongRequestBytes = 100

// PingPongSpec is a request/response workload: Connections TCP
// connections, each with one request in flight at a time.
type PingPongSpec struct {
	Connections int
	Duration    time.Duration
	Warmup      time.Duration
}

// Label names the workload (the scenario's name says the connections).
func (s PingPongSpec) Label() string {
	return fmt.Sprintf("Metadata (no topics), %d B requests, 1 in flight per connection", pingPongRequestBytes)
}

// PingPong measures round trips: each connection sends a Metadata request
// for no topics (padded to 100 bytes by its client id), waits for the
// answer and sends the next. Records are round trips, Bytes the requests'
// and responses' bytes, Latency the round trip's. It speaks the protocol
// over raw TCP (kmsg encodes), so no client library's batching or
// goroutines sit between the broker and the figure.
func PingPong(ctx context.Context, t Target, s PingPongSpec, p *progress) (*Result, error) {
	if s.Connections < 1 || s.Duration <= 0 || s.Warmup < 0 {
		return nil, errors.New("ping-pong needs connections >= 1 and a positive duration")
	}
	if len(t.Bootstrap) == 0 {
		return nil, errors.New("no bootstrap address")
	}
	conns := make([]*pingConn, s.Connections)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.conn.Close()
			}
		}
	}()
	for i := range conns {
		c, err := dialPing(ctx, t.Bootstrap[0])
		if err != nil {
			return nil, err
		}
		conns[i] = c
	}

	lat := newLatencyRecorder()
	var trips, bytes atomic.Int64 // measured
	p.start(s.Warmup+s.Duration, 0, &trips, &bytes)
	measured := time.Now().Add(s.Warmup)
	meter := meterFrom(measured, t.pids())
	deadline := measured.Add(s.Duration)
	var wg sync.WaitGroup
	errs := make([]error, len(conns))
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.conn.SetDeadline(deadline.Add(10 * time.Second))
			for ctx.Err() == nil {
				start := time.Now()
				if start.After(deadline) {
					return
				}
				n, err := c.roundTrip()
				if err != nil {
					errs[i] = err
					return
				}
				if !start.Before(measured) {
					lat.record(time.Since(start))
					trips.Add(1)
					bytes.Add(int64(n))
				}
			}
		}()
	}
	wg.Wait()
	p.stop()
	window := time.Since(measured)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("ping-pong: %w", err)
	}
	res := &Result{Scenario: "ping-pong", Target: t.Name, Label: s.Label(), Records: trips.Load(),
		Bytes: bytes.Load(), WireBytes: bytes.Load(), Elapsed: window, Latency: lat.summary()}
	res.finishCPU(meter())
	res.Verified = fmt.Sprintf("%d round trips, every response's correlation id matched its request's", res.Records)
	return res, nil
}

// pingConn is one ping-pong connection: its request, reused with the next
// correlation id each round trip, and a buffer for the response.
type pingConn struct {
	conn net.Conn
	req  []byte
	resp []byte
	corr int32
}

// dialPing connects and asks the broker which Metadata version it serves
// (ApiVersions v0, which every broker answers), then checks that it
// answers one Metadata request in full.
func dialPing(ctx context.Context, addr string) (*pingConn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &pingConn{conn: conn}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	ok := false
	defer func() {
		if !ok {
			conn.Close()
		}
	}()

	versions := kmsg.NewPtrApiVersionsRequest() // v0
	c.req = kmsg.NewRequestFormatter(kmsg.FormatterClientID("weir-bench")).AppendRequest(nil, versions, 0)
	if _, err := c.roundTrip(); err != nil {
		return nil, fmt.Errorf("ApiVersions: %w", err)
	}
	vresp := versions.ResponseKind().(*kmsg.ApiVersionsResponse)
	if err := vresp.ReadFrom(c.resp[4:]); err != nil {
		return nil, fmt.Errorf("ApiVersions response: %w", err)
	}
	if err := kerr.ErrorForCode(vresp.ErrorCode); err != nil {
		return nil, fmt.Errorf("ApiVersions: %w", err)
	}
	version := int16(-1)
	for _, k := range vresp.ApiKeys {
		if k.ApiKey == kmsg.Metadata.Int16() {
			version = min(k.MaxVersion, kmsg.NewPtrMetadataRequest().MaxVersion())
		}
	}
	if version < 1 { // v0 has no way to ask for no topics
		return nil, fmt.Errorf("%s serves no Metadata v1 or later", addr)
	}

	var meta *kmsg.MetadataRequest
	meta, c.req = pingRequest(version)
	if _, err := c.roundTrip(); err != nil {
		return nil, fmt.Errorf("metadata request v%d: %w", version, err)
	}
	mresp := meta.ResponseKind().(*kmsg.MetadataResponse)
	body, err := skipResponseTags(c.resp[4:], mresp.IsFlexible())
	if err != nil {
		return nil, err
	}
	if err := mresp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("metadata response v%d: %w", version, err)
	}
	if len(mresp.Brokers) == 0 {
		return nil, fmt.Errorf("metadata response v%d lists no broker", version)
	}
	ok = true
	return c, nil
}

// pingRequest is a Metadata request for no topics at version, and its
// bytes on the wire, padded by the client id to pingPongRequestBytes.
func pingRequest(version int16) (*kmsg.MetadataRequest, []byte) {
	meta := kmsg.NewPtrMetadataRequest()
	meta.Version = version
	meta.Topics = []kmsg.MetadataRequestTopic{} // none, not null (all)
	req := kmsg.NewRequestFormatter(kmsg.FormatterClientID("weir-bench-ping-pong")).AppendRequest(nil, meta, 0)
	if pad := pingPongRequestBytes - len(req); pad > 0 {
		id := "weir-bench-ping-pong-" + strings.Repeat("x", pad-1)
		req = kmsg.NewRequestFormatter(kmsg.FormatterClientID(id)).AppendRequest(nil, meta, 0)
	}
	return meta, req
}

// roundTrip sends the request with the next correlation id and reads the
// response whole into c.resp (correlation id first). It returns the bytes
// sent and received, length prefixes included.
func (c *pingConn) roundTrip() (int, error) {
	c.corr++
	binary.BigEndian.PutUint32(c.req[8:], uint32(c.corr))
	if _, err := c.conn.Write(c.req); err != nil {
		return 0, err
	}
	var size [4]byte
	if _, err := io.ReadFull(c.conn, size[:]); err != nil {
		return 0, err
	}
	n := int(binary.BigEndian.Uint32(size[:]))
	if n < 4 || n > 1<<20 {
		return 0, fmt.Errorf("response of %d bytes", n)
	}
	if cap(c.resp) < n {
		c.resp = make([]byte, n)
	}
	c.resp = c.resp[:n]
	if _, err := io.ReadFull(c.conn, c.resp); err != nil {
		return 0, err
	}
	if got := int32(binary.BigEndian.Uint32(c.resp)); got != c.corr {
		return 0, fmt.Errorf("response with correlation id %d to request %d", got, c.corr)
	}
	return len(c.req) + 4 + n, nil
}

// skipResponseTags returns a flexible response's body after its header's
// tagged fields.
func skipResponseTags(b []byte, flexible bool) ([]byte, error) {
	if !flexible {
		return b, nil
	}
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, errors.New("truncated response header")
	}
	b = b[k:]
	for range n {
		if _, k = binary.Uvarint(b); k <= 0 { // tag
			return nil, errors.New("truncated response header")
		}
		b = b[k:]
		size, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < size {
			return nil, errors.New("truncated response header")
		}
		b = b[k+int(size):]
	}
	return b, nil
}
