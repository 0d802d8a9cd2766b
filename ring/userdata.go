package ring

import (
	"fmt"

	"github.com/pawelgaczynski/giouring"
)

// UserData is an SQE's user_data as Weir lays it out: the op kind, which
// picks the Handler, in the top 8 bits and an id (a connection, a request,
// a buffer) in the low 56.
//
//	 63      56 55                                                 0
//	+----------+----------------------------------------------------+
//	|    op    |                        id                          |
//	+----------+----------------------------------------------------+
type UserData uint64

const (
	idBits = 56
	// IDMax is the largest id Pack accepts.
	IDMax = 1<<idBits - 1
)

// Pack builds user data; an id over IDMax is a programmer error.
func Pack(op uint8, id uint64) UserData {
	if id > IDMax {
		panic(fmt.Sprintf("ring: id %d of op %d does not fit in 56 bits", id, op))
	}
	return UserData(uint64(op)<<idBits | id)
}

// Op is the op kind.
func (u UserData) Op() uint8 { return uint8(u >> idBits) }

// ID is the id.
func (u UserData) ID() uint64 { return uint64(u) & IDMax }

// BufferID is the provided buffer a completion used (IORING_CQE_F_BUFFER).
func BufferID(flags uint32) (uint16, bool) {
	if flags&giouring.CQEFBuffer == 0 {
		return 0, false
	}
	return uint16(flags >> giouring.CQEBufferShift), true
}

// More says a multishot operation stays armed (IORING_CQE_F_MORE); without
// it this is the operation's last completion and it must be armed again.
func More(flags uint32) bool { return flags&giouring.CQEFMore != 0 }
