package engine

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// peerClient sends Kafka requests to other nodes of the cluster (the
// active controller's listener) one at a time over one connection, kept
// until it fails or the address changes: a broker's registration and
// heartbeats, and the requests it forwards. Peers run this build, so it
// sends each request at the version it sets, without ApiVersions.
type peerClient struct {
	clientID string
	timeout  time.Duration // bounds a dial and each request
	// reuseBody reads every response into one buffer, which the next
	// request overwrites: for a caller done with each response before it
	// sends the next (a follower's fetches, whose record bytes would
	// otherwise be a fresh allocation each time).
	reuseBody bool
	body      []byte

	mu   sync.Mutex
	addr string
	conn net.Conn
	rd   *bufio.Reader
	corr int32
}

func newPeerClient(clientID string, timeout time.Duration) *peerClient {
	return &peerClient{clientID: clientID, timeout: timeout}
}

// errPeerClosed: the client was closed.
var errPeerClosed = errors.New("the peer client is closed")

// do sends req to addr and reads its response. Any error drops the
// connection; the next call dials again.
func (c *peerClient) do(addr string, req kmsg.Request) (kmsg.Response, error) {
	frame := appendRequestFrame(nil, req, 0, c.clientID)
	body, err := c.roundTrip(addr, frame)
	if err != nil {
		return nil, err
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() && req.Key() != 18 {
		r := kbin.Reader{Src: body}
		skipTags(&r)
		if !r.Ok() {
			return nil, fmt.Errorf("%s response from %s: truncated header", kmsg.NameForKey(req.Key()), addr)
		}
		body = r.Src
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("%s response from %s: %w", kmsg.NameForKey(req.Key()), addr, err)
	}
	return resp, nil
}

// roundTrip writes one request frame (its correlation id at bytes 8-12,
// rewritten here) and returns the response's bytes after the correlation
// id.
func (c *peerClient) roundTrip(addr string, frame []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.addr == "-" {
		return nil, errPeerClosed
	}
	if c.conn != nil && c.addr != addr {
		c.dropLocked()
	}
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", addr, c.timeout)
		if err != nil {
			return nil, err
		}
		c.conn, c.rd, c.addr = conn, bufio.NewReaderSize(conn, 64<<10), addr
	}
	c.corr++
	binary.BigEndian.PutUint32(frame[8:12], uint32(c.corr))
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	body, err := c.exchangeLocked(frame)
	if err != nil {
		c.dropLocked()
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	return body, nil
}

func (c *peerClient) exchangeLocked(frame []byte) ([]byte, error) {
	if _, err := c.conn.Write(frame); err != nil {
		return nil, err
	}
	var hdr [8]byte
	if _, err := io.ReadFull(c.rd, hdr[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(hdr[:4]))
	if n < 4 || n > 256<<20 {
		return nil, fmt.Errorf("a response of %d bytes", n)
	}
	if corr := int32(binary.BigEndian.Uint32(hdr[4:])); corr != c.corr {
		return nil, fmt.Errorf("response to request %d, expected %d", corr, c.corr)
	}
	var body []byte
	if c.reuseBody && cap(c.body) >= int(n-4) {
		body = c.body[:n-4]
	} else {
		body = make([]byte, n-4)
		if c.reuseBody {
			c.body = body
		}
	}
	if _, err := io.ReadFull(c.rd, body); err != nil {
		return nil, err
	}
	return body, nil
}

func (c *peerClient) dropLocked() {
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.rd = nil, nil
	}
}

// close drops the connection; later calls fail.
func (c *peerClient) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked()
	c.addr = "-"
}

// appendRequestFrame appends req's whole frame: size, header v1 or v2
// (flexible versions) with correlation id corr and clientID, and body.
func appendRequestFrame(dst []byte, req kmsg.Request, corr int32, clientID string) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = kbin.AppendInt16(dst, req.Key())
	dst = kbin.AppendInt16(dst, req.GetVersion())
	dst = kbin.AppendInt32(dst, corr)
	dst = kbin.AppendNullableString(dst, &clientID)
	if req.IsFlexible() {
		dst = append(dst, 0) // no tagged fields
	}
	dst = req.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}
