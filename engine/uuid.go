package engine

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// UUID is Kafka's Uuid: 16 bytes, written as 22 characters of unpadded
// base64url (cluster ids, directory ids, topic ids).
type UUID [16]byte

// NewUUID returns a random version-4 UUID that is none of Kafka's reserved
// ones (zero, one) and whose text does not start with '-' (so it can't be
// read as a command-line flag), as Kafka's Uuid.randomUuid does.
func NewUUID() UUID {
	for {
		var u UUID
		if _, err := rand.Read(u[:]); err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on Linux
		}
		u[6] = u[6]&0x0f | 0x40 // version 4
		u[8] = u[8]&0x3f | 0x80 // IETF variant
		if u != (UUID{}) && u != (UUID{15: 1}) && u.String()[0] != '-' {
			return u
		}
	}
}

func (u UUID) String() string { return base64.RawURLEncoding.EncodeToString(u[:]) }

// ParseUUID reads the 22-character form.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != len(u) {
		return u, fmt.Errorf("%q is not a base64url UUID of 16 bytes", s)
	}
	copy(u[:], b)
	return u, nil
}
