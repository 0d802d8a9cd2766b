package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawClient speaks the Kafka protocol over one TCP connection, one request
// at a time, with kmsg encoding.
type rawClient struct {
	conn net.Conn
	corr int32
	fmt  *kmsg.RequestFormatter
}

func dialRaw(addr string) (*rawClient, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &rawClient{conn: c, fmt: kmsg.NewRequestFormatter(kmsg.FormatterClientID("weir-it"))}, nil
}

// do sends req and decodes its response.
func (c *rawClient) do(req kmsg.Request) (kmsg.Response, error) {
	c.corr++
	if _, err := c.conn.Write(c.fmt.AppendRequest(nil, req, c.corr)); err != nil {
		return nil, err
	}
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var size [4]byte
	if _, err := io.ReadFull(c.conn, size[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c.conn, body); err != nil {
		return nil, err
	}
	if got := int32(binary.BigEndian.Uint32(body)); got != c.corr {
		return nil, fmt.Errorf("correlation id %d, want %d", got, c.corr)
	}
	body = body[4:]
	if req.IsFlexible() && req.Key() != 18 { // ApiVersions' response header is v0
		body = body[1:]
	}
	resp := req.ResponseKind()
	return resp, resp.ReadFrom(body)
}

// waitClosed reports whether the server closes the connection (EOF or
// reset) within the bound, reading and dropping anything it sends.
func waitClosed(c net.Conn, within time.Duration) error {
	c.SetReadDeadline(time.Now().Add(within))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return fmt.Errorf("connection still open after %v", within)
		}
		return nil // EOF or reset: closed
	}
}

func apiVersions() kmsg.Request {
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "weir-it", "1"
	return req
}

func metadataAll() kmsg.Request {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	return req
}
