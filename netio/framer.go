package netio

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// framer cuts a byte stream into Kafka frames: a 4-byte big-endian size,
// then that many bytes. A frame that lies whole inside one received chunk
// is handed out in place (no copy); only frames that span chunks are
// gathered into the framer's own buffer, which is reused.
type framer struct {
	max  int
	hdr  [4]byte
	nhdr int    // bytes of hdr filled while a size prefix spans chunks
	body []byte // the frame being gathered, nil when none
	need int    // bytes of body still missing

	emitting bool // emit is running on body (not on a slice of the caller's data)
	kept     bool // the handler kept body (keep); the next frame gathers elsewhere
}

// keepBytesMax bounds the gather buffer kept between frames, so one large
// request does not pin its memory for the connection's life.
const keepBytesMax = 1 << 20

// feed consumes data and calls emit for every complete frame. The frame is
// valid only during the call. An error from emit, a negative size or one over
// max stops the stream: the caller closes the connection.
func (f *framer) feed(data []byte, emit func(frame []byte) error) error {
	for len(data) > 0 {
		if f.need > 0 {
			n := min(f.need, len(data))
			f.body = append(f.body, data[:n]...)
			f.need -= n
			data = data[n:]
			if f.need > 0 {
				return nil
			}
			err := f.emitBody(emit)
			if err != nil {
				return err
			}
			continue
		}
		var size int
		if f.nhdr == 0 && len(data) >= 4 {
			size = int(int32(binary.BigEndian.Uint32(data)))
			data = data[4:]
		} else {
			n := copy(f.hdr[f.nhdr:], data)
			f.nhdr += n
			data = data[n:]
			if f.nhdr < 4 {
				return nil
			}
			f.nhdr = 0
			size = int(int32(binary.BigEndian.Uint32(f.hdr[:])))
		}
		if err := f.check(size); err != nil {
			return err
		}
		if len(data) >= size {
			if err := emit(data[:size]); err != nil {
				return err
			}
			data = data[size:]
			continue
		}
		if size == 0 {
			continue
		}
		f.startBody(size)
		f.need = size
	}
	return nil
}

// direct returns where the rest of the frame being gathered goes, when
// that is at least min bytes and the gather buffer already has the room:
// a reader can then receive into it and call filled, instead of reading
// into its own buffer and having feed copy the bytes. nil otherwise.
func (f *framer) direct(min int) []byte {
	if f.need < min || cap(f.body)-len(f.body) < f.need {
		return nil
	}
	return f.body[len(f.body) : len(f.body)+f.need]
}

// filled accounts n bytes received into the slice direct returned, and
// emits the frame once it is whole.
func (f *framer) filled(n int, emit func(frame []byte) error) error {
	f.body = f.body[:len(f.body)+n]
	f.need -= n
	if f.need > 0 {
		return nil
	}
	return f.emitBody(emit)
}

// emitBody hands the gathered frame out, then readies body for the next.
func (f *framer) emitBody(emit func(frame []byte) error) error {
	f.emitting = true
	err := emit(f.body)
	f.emitting = false
	f.resetBody()
	return err
}

// keep lets the handler keep the gathered frame being emitted (see
// Conn.KeepFrame); release puts its memory in a pool for later frames.
func (f *framer) keep() (release func(), ok bool) {
	if !f.emitting || f.kept {
		return nil, false
	}
	f.kept = true
	b := f.body[:0]
	return func() { keptBodies.Put(&b) }, true
}

// startBody readies the gather buffer for a frame of size bytes. Frames
// bigger than what a connection keeps borrow a buffer from a pool, so
// large produce requests don't regrow one from nothing each time; the
// first allocation is capped, so a size prefix alone (up to
// socket.request.max.bytes) can't make the broker allocate that much.
func (f *framer) startBody(size int) {
	if cap(f.body) >= size {
		f.body = f.body[:0]
		return
	}
	if p, ok := keptBodies.Get().(*[]byte); ok {
		if cap(*p) >= size {
			f.body = (*p)[:0]
			return
		}
		keptBodies.Put(p)
	}
	if size <= keepBytesMax {
		f.body = make([]byte, 0, size)
		return
	}
	if p, ok := bigBodies.Get().(*[]byte); ok && cap(*p) >= min(size, bigBodyFirstMax) {
		f.body = (*p)[:0]
		return
	}
	f.body = make([]byte, 0, min(size, bigBodyFirstMax))
}

func (f *framer) check(size int) error {
	if size < 0 {
		return fmt.Errorf("%w: %d", ErrBadFrameSize, size)
	}
	if size > f.max {
		return fmt.Errorf("%w: %d > %d", ErrFrameTooLarge, size, f.max)
	}
	return nil
}

func (f *framer) resetBody() {
	if f.kept {
		f.body, f.kept = nil, false // the handler owns it now
	} else if cap(f.body) > keepBytesMax {
		b := f.body[:0]
		bigBodies.Put(&b)
		f.body = nil
	} else {
		f.body = f.body[:0]
	}
	f.need = 0
}

// bigBodies holds gather buffers of frames over keepBytesMax, shared by all
// connections.
var bigBodies sync.Pool

// keptBodies holds the gather buffers handlers kept and released: large
// produce requests, mostly, so the next ones fit.
var keptBodies sync.Pool

// bigBodyFirstMax caps a big frame's first allocation; the rest grows as
// its bytes arrive.
const bigBodyFirstMax = 16 << 20
