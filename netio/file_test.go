package netio

import (
	"os"
	"path/filepath"
	"testing"
)

// A borrowed File unmaps on its last Release but leaves the descriptor to
// its owner; an owned one closes it.
func TestFileBorrowedStaysOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("hello, weir"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, borrowed := range []bool{true, false} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		nf := NewFile(f)
		if borrowed {
			nf = BorrowFile(f)
		}
		if m, err := nf.mapped(5); err != nil || string(m[:5]) != "hello" {
			t.Fatalf("mapping: %q %v", m, err)
		}
		nf.Release()
		buf := make([]byte, 5)
		_, err = f.ReadAt(buf, 0)
		if borrowed && err != nil {
			t.Fatalf("borrowed file closed by its last Release: %v", err)
		}
		if !borrowed && err == nil {
			t.Fatalf("owned file still open after its last Release")
		}
		f.Close()
	}
}
