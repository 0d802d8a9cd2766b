package engine

import (
	"encoding/binary"

	"github.com/valyala/bytebufferpool"

	"github.com/weirmq/weir/logstore"
	"github.com/weirmq/weir/netio"
)

// The Fetch response is the one response Weir frames by hand: record bytes
// go from segment files to the socket and never through a Go buffer, so
// the response is the framing bytes below, with each partition's record
// range spliced in where its records field's bytes belong.
//
//	size int32 | correlation id int32 | [tags v12+]
//	throttle_ms int32 | error_code int16 (v7+) | session_id int32 (v7+)
//	topics: [ name (v0-12) | topic id (v13+)
//	          partitions: [ partition int32 | error_code int16 | high_watermark int64
//	                        last_stable_offset int64 (v4+) | log_start_offset int64 (v5+)
//	                        aborted_transactions nullable array (v4+)
//	                        preferred_read_replica int32 (v11+)
//	                        records: length | <file range>
//	                        | [tags v12+: 0 diverging_epoch, 1 current_leader] ]
//	          | [tags v12+] ]
//	| [tags v12+: 0 node_endpoints (v16+)]
//
// Arrays, strings and bytes are compact (uvarint length + 1) from v12.
// Tagged fields are a uvarint count, then per field its tag, its size and
// its bytes; Weir sends only diverging_epoch {epoch int32, end_offset
// int64, tags}, current_leader {leader_id int32, leader_epoch int32, tags}
// and node_endpoints [node_id int32, host string, port int32,
// rack nullable string, tags], and each only when it has something.
// TestFetchEncodeMatchesKmsg checks every version against kmsg's encoder.

// fetchPartitionOut is one partition of the response.
type fetchPartitionOut struct {
	partition                int32
	errCode                  int16
	hw, lastStable, logStart int64
	slice                    logstore.Slice // the records; empty for none
	// tellLeader sends leader as the partition's current_leader (v12+).
	tellLeader bool
	leader     currentLeader
	// diverging, when set, is sent as diverging_epoch (v12+): the
	// fetcher's log diverged from this one (KIP-595).
	diverging *epochEnd
}

// epochEnd is a leader epoch and the offset where it ends in a log.
type epochEnd struct {
	epoch int32
	end   int64
}

type fetchTopicOut struct {
	name  string
	id    [16]byte
	parts []fetchPartitionOut
}

type fetchEncoder struct {
	version  int16
	flexible bool
	buf      *bytebufferpool.ByteBuffer
	pieces   []piece
	cut      int // start of buf bytes not yet in pieces
	files    []*netio.File
	slices   []logstore.Slice
}

// encodeFetch frames a Fetch response; nodes are its node_endpoints
// (v16+). The returned Response owns the slices' segment references and
// the files' references: its Release drops them once the bytes have left.
func encodeFetch(version int16, correlationID int32, errCode int16, sessionID int32,
	topics []fetchTopicOut, nodes []nodeEndpoint, files *segFiles) (netio.Response, error) {
	e := &fetchEncoder{version: version, flexible: version >= 12, buf: bytebufferpool.Get()}
	e.buf.B = append(e.buf.B[:0], 0, 0, 0, 0)
	e.i32(correlationID)
	e.tags()
	e.i32(0) // throttle
	if version >= 7 {
		e.i16(errCode)
		e.i32(sessionID)
	}
	e.arrayLen(len(topics))
	for ti, t := range topics {
		if version >= 13 {
			e.buf.B = append(e.buf.B, t.id[:]...)
		} else {
			e.str(t.name)
		}
		e.arrayLen(len(t.parts))
		for pi, p := range t.parts {
			if err := e.partition(p, files); err != nil {
				e.release()
				releaseFrom(topics, ti, pi+1) // slices the encoder never took
				return netio.Response{}, err
			}
		}
		e.tags()
	}
	if e.flexible && version >= 16 && len(nodes) > 0 {
		e.uvarint(1) // one tagged field
		e.uvarint(0) // node_endpoints
		e.tagged(func() {
			e.arrayLen(len(nodes))
			for _, n := range nodes {
				e.i32(n.id)
				e.str(n.host)
				e.i32(n.port)
				e.nullableStr(n.rack)
				e.tags()
			}
		})
	} else {
		e.tags()
	}
	e.flush()
	total := int64(len(e.buf.B)) - 4
	for _, p := range e.pieces {
		total += p.n
	}
	binary.BigEndian.PutUint32(e.buf.B, uint32(total))
	return netio.Response{Parts: e.finishParts(), Release: e.release}, nil
}

func (e *fetchEncoder) partition(p fetchPartitionOut, files *segFiles) error {
	e.i32(p.partition)
	e.i16(p.errCode)
	e.i64(p.hw)
	if e.version >= 4 {
		e.i64(p.lastStable)
	}
	if e.version >= 5 {
		e.i64(p.logStart)
	}
	if e.version >= 4 {
		e.nullArrayLen() // no aborted transactions
	}
	if e.version >= 11 {
		e.i32(-1) // no preferred read replica
	}
	n := p.slice.Len
	if e.flexible {
		e.uvarint(uint64(n) + 1)
	} else {
		e.i32(int32(n))
	}
	if n > 0 {
		f, err := files.acquire(p.slice.Seg)
		if err != nil {
			p.slice.Release()
			return err
		}
		e.files = append(e.files, f)
		e.slices = append(e.slices, p.slice)
		e.flush()
		e.pieces = append(e.pieces, piece{file: f, off: p.slice.Pos, n: n})
	}
	if !e.flexible {
		return nil
	}
	n = 0
	if p.diverging != nil {
		n++
	}
	if p.tellLeader {
		n++
	}
	e.uvarint(uint64(n)) // tagged fields, in tag order
	if p.diverging != nil {
		e.uvarint(0) // diverging_epoch
		e.tagged(func() {
			e.i32(p.diverging.epoch)
			e.i64(p.diverging.end)
			e.tags()
		})
	}
	if p.tellLeader {
		e.uvarint(1) // current_leader
		e.tagged(func() {
			e.i32(p.leader.id)
			e.i32(p.leader.epoch)
			e.tags()
		})
	}
	return nil
}

// tagged writes a tagged field's size, then its bytes, which field
// writes.
func (e *fetchEncoder) tagged(field func()) {
	start := len(e.buf.B)
	field()
	body := append([]byte(nil), e.buf.B[start:]...)
	e.buf.B = e.buf.B[:start]
	e.uvarint(uint64(len(body)))
	e.buf.B = append(e.buf.B, body...)
}

// flush closes the run of framing bytes written since the last file
// range. Runs are kept as offsets into buf, which may still move as it
// grows; parts() turns them into slices once buf is complete.
func (e *fetchEncoder) flush() {
	if len(e.buf.B) > e.cut {
		e.pieces = append(e.pieces, piece{start: e.cut, end: len(e.buf.B)})
		e.cut = len(e.buf.B)
	}
}

// piece is a run of buf bytes, or a file range when file is set.
type piece struct {
	start, end int
	file       *netio.File
	off, n     int64
}

func (e *fetchEncoder) finishParts() []netio.Part {
	parts := make([]netio.Part, len(e.pieces))
	for i, p := range e.pieces {
		if p.file != nil {
			parts[i] = netio.Part{File: p.file, Off: p.off, Len: p.n}
		} else {
			parts[i] = netio.Part{Bytes: e.buf.B[p.start:p.end]}
		}
	}
	return parts
}

func (e *fetchEncoder) release() {
	for _, f := range e.files {
		f.Release()
	}
	for i := range e.slices {
		e.slices[i].Release()
	}
	bytebufferpool.Put(e.buf)
}

func (e *fetchEncoder) i16(v int16)      { e.buf.B = binary.BigEndian.AppendUint16(e.buf.B, uint16(v)) }
func (e *fetchEncoder) i32(v int32)      { e.buf.B = binary.BigEndian.AppendUint32(e.buf.B, uint32(v)) }
func (e *fetchEncoder) i64(v int64)      { e.buf.B = binary.BigEndian.AppendUint64(e.buf.B, uint64(v)) }
func (e *fetchEncoder) uvarint(v uint64) { e.buf.B = binary.AppendUvarint(e.buf.B, v) }

func (e *fetchEncoder) tags() {
	if e.flexible {
		e.buf.B = append(e.buf.B, 0)
	}
}

func (e *fetchEncoder) arrayLen(n int) {
	if e.flexible {
		e.uvarint(uint64(n) + 1)
	} else {
		e.i32(int32(n))
	}
}

func (e *fetchEncoder) nullArrayLen() {
	if e.flexible {
		e.uvarint(0)
	} else {
		e.i32(-1)
	}
}

func (e *fetchEncoder) str(s string) {
	if e.flexible {
		e.uvarint(uint64(len(s)) + 1)
	} else {
		e.i16(int16(len(s)))
	}
	e.buf.B = append(e.buf.B, s...)
}

func (e *fetchEncoder) nullableStr(s *string) {
	switch {
	case s != nil:
		e.str(*s)
	case e.flexible:
		e.uvarint(0)
	default:
		e.i16(-1)
	}
}

// releaseFrom releases the slices of topics[ti].parts[pi:] and of every
// later topic.
func releaseFrom(topics []fetchTopicOut, ti, pi int) {
	for ; ti < len(topics); ti, pi = ti+1, 0 {
		for i := pi; i < len(topics[ti].parts); i++ {
			topics[ti].parts[i].slice.Release()
		}
	}
}
