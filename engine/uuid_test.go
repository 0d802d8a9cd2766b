package engine

import (
	"strings"
	"testing"
)

func TestUUID(t *testing.T) {
	seen := map[UUID]bool{}
	for i := 0; i < 1000; i++ {
		u := NewUUID()
		s := u.String()
		if len(s) != 22 || strings.HasPrefix(s, "-") || strings.ContainsAny(s, "+/=") {
			t.Fatalf("uuid text %q", s)
		}
		if u[6]>>4 != 4 || u[8]>>6 != 2 {
			t.Fatalf("uuid %x is not version 4, IETF variant", u)
		}
		back, err := ParseUUID(s)
		if err != nil || back != u {
			t.Fatalf("ParseUUID(%q) = %x, %v", s, back, err)
		}
		if seen[u] {
			t.Fatalf("uuid %s twice", s)
		}
		seen[u] = true
	}
	for _, bad := range []string{"", "short", "AAAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAA!!"} {
		if _, err := ParseUUID(bad); err == nil {
			t.Errorf("ParseUUID(%q) accepted", bad)
		}
	}
	// Kafka's example: Uuid.fromString("AAAAAAAAAAAAAAAAAAAAAQ") is ONE_UUID.
	if one, _ := ParseUUID("AAAAAAAAAAAAAAAAAAAAAQ"); one != (UUID{15: 1}) {
		t.Errorf("ONE_UUID parses as %x", one)
	}
}
