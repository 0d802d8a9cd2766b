package netio

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// framer cuts a byte stream into Kafka frames: a 4-byte big-endian size,
// then that many bytes. A frame that lies whole inside one received chunk
// is handed out in place (no copy); only frames that span chunks are
// gathered, into the connection's own buffer (up to connBufMax, reused)
// or a big buffer of the runtime's frameMemory, after reserving their size
// in its budget. When the budget is spent, feed stops with errNoMemory:
// the framer keeps what it was given, the connection stops reading until
// wake is called, then calls resume.
type framer struct {
	max  int
	mem  *frameMemory // nil: no budget, heap buffers
	wake func()       // called when memory may be free again (see reserve)
	hdr  [4]byte
	nhdr int    // bytes of hdr filled while a size prefix spans chunks
	body []byte // the frame being gathered, nil when none
	need int    // bytes of body still missing
	own  []byte // the connection's buffer for frames up to connBufMax
	big  bool   // body is a buffer of mem's
	held int    // bytes of the budget body holds

	waitSize int    // size of a frame waiting for memory (0: none)
	stash    []byte // bytes received after that frame's size prefix

	emitting bool // emit is running on body (not on a slice of the caller's data)
	kept     bool // the handler kept body (keep); the next frame gathers elsewhere
}

// errNoMemory stops feed while a frame waits for the memory budget.
var errNoMemory = errors.New("netio: waiting for request memory")

// feed consumes data and calls emit for every complete frame. The frame is
// valid only during the call. An error from emit, a negative size or one over
// max stops the stream: the caller closes the connection. errNoMemory
// means feed kept the rest of data for resume.
func (f *framer) feed(data []byte, emit func(frame []byte) error) error {
	if f.waitSize > 0 {
		f.stash = append(f.stash, data...)
		return errNoMemory
	}
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
		if !f.startBody(size) {
			f.waitSize = size
			f.stash = append(f.stash[:0], data...)
			return errNoMemory
		}
		f.need = size
	}
	return nil
}

// resume retries the frame waiting for memory; on success it feeds what
// was kept. errNoMemory again means it still waits (wake is registered).
func (f *framer) resume(emit func(frame []byte) error) error {
	if f.waitSize == 0 {
		return nil
	}
	if !f.startBody(f.waitSize) {
		return errNoMemory
	}
	f.need, f.waitSize = f.waitSize, 0
	data := f.stash
	f.stash = nil
	return f.feed(data, emit)
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

// emitBody hands the gathered frame out, then readies for the next.
func (f *framer) emitBody(emit func(frame []byte) error) error {
	f.emitting = true
	err := emit(f.body)
	f.emitting = false
	f.resetBody()
	return err
}

// keep lets the handler keep the gathered frame being emitted (see
// Conn.KeepFrame); release gives its memory and its budget back.
func (f *framer) keep() (release func(), ok bool) {
	if !f.emitting || f.kept {
		return nil, false
	}
	f.kept = true
	mem, body, big, held := f.mem, f.body, f.big, f.held
	return func() {
		if big {
			mem.put(body)
		} else {
			putOwn(body)
		}
		mem.release(held)
	}, true
}

// startBody reserves size bytes of the budget and readies a buffer that
// holds them; false when the budget has no room (wake is registered).
func (f *framer) startBody(size int) bool {
	if !f.mem.reserve(size, f.wake) {
		return false
	}
	f.held = size
	if size > connBufMax {
		f.body, f.big = f.mem.get(size), true
		return true
	}
	if cap(f.own) < size {
		putOwn(f.own)
		f.own = getOwn(size)
	}
	f.body, f.big = f.own[:0], false
	return true
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

// resetBody ends the frame just emitted: a kept one belongs to the
// handler now; otherwise its budget and big buffer go back.
func (f *framer) resetBody() {
	switch {
	case f.kept:
		if !f.big {
			f.own = nil // the handler has it; the next frame gets a new one
		}
		f.kept = false
	default:
		if f.big {
			f.mem.put(f.body)
		}
		f.mem.release(f.held)
	}
	f.body, f.big, f.held, f.need = nil, false, 0, 0
}

// close gives back what a frame still being gathered holds, when the
// connection goes (nothing may be receiving into it any more).
func (f *framer) close() {
	if f.body != nil && !f.emitting {
		if f.big {
			f.mem.put(f.body)
		}
		f.mem.release(f.held)
		f.body, f.big, f.held, f.need = nil, false, 0, 0
	}
	f.own, f.stash, f.waitSize = nil, nil, 0
}
