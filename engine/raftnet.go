package engine

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kbin"

	"github.com/weirmq/weir/netio"
)

// The controller quorum's Raft messages travel over the controller
// listener, framed as Kafka requests of an API key of Weir's own, which
// no Kafka client sends and ApiVersions does not list:
//
//	size int32 | api key 10000 int16 | version 0 int16 | correlation id 0 int32 |
//	client id "weir-raft-<node>" (nullable string) | raftpb.Message (protobuf)
//
// They are one-way: nothing is answered (like an acks=0 produce), so a
// voter's writer never waits for its peer. Each voter dials one
// connection to every other voter's controller listener
// (controller.quorum.voters) and writes its messages there
// (quorum.TCP with a Frame); the messages a peer dialed in are handed to
// the node with Deliver. Only a controller listener takes them: on a
// broker listener the key is unknown and the connection is closed, as
// for any unknown API.
const raftMessageKey int16 = 10000

// raftFramer frames node's encoded raftpb.Messages as above.
func raftFramer(node int32) func(dst, msg []byte) []byte {
	clientID := "weir-raft-" + strconv.Itoa(int(node))
	return func(dst, msg []byte) []byte {
		start := len(dst)
		dst = append(dst, 0, 0, 0, 0)
		dst = kbin.AppendInt16(dst, raftMessageKey)
		dst = kbin.AppendInt16(dst, 0)
		dst = kbin.AppendInt32(dst, 0)
		dst = kbin.AppendNullableString(dst, &clientID)
		dst = append(dst, msg...)
		binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
		return dst
	}
}

// isRaftFrame says whether frame (without its size) is a Raft message.
func isRaftFrame(frame []byte) bool {
	return len(frame) >= 2 && int16(binary.BigEndian.Uint16(frame)) == raftMessageKey
}

// serveRaftFrame hands a Raft message that came in on a controller
// listener to this node's quorum node; nothing is answered. A message on
// a node with no quorum, or that does not decode, closes the connection.
func (b *Broker) serveRaftFrame(c netio.Conn, seq uint64, frame []byte) error {
	r := kbin.Reader{Src: frame}
	r.Int16()
	if v := r.Int16(); v != 0 {
		return fmt.Errorf("raft message version %d", v)
	}
	r.Int32()
	r.UnsafeNullableString()
	if !r.Ok() {
		return fmt.Errorf("raft message header of %d bytes: truncated", len(frame))
	}
	cl := b.cluster
	if cl == nil || cl.transport == nil {
		return fmt.Errorf("a raft message, but this node runs no controller quorum")
	}
	if err := cl.transport.Deliver(r.Src); err != nil {
		return err
	}
	c.Respond(seq, netio.Response{})
	return nil
}
