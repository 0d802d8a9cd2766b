package engine

import (
	"os"
	"path/filepath"
	"testing"
)

// Producer id blocks are reserved in the metadata log: a restart starts
// after the last reserved block, and an older Weir's reservation file is
// taken over once.
func TestProducerIDsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, legacyProducerIDFile), []byte("5000\n"), 0o644)
	b := openBrokerAt(t, dir)
	allocate := func(want int64) {
		t.Helper()
		if id, err := b.producerIDs.allocate(); err != nil || id != want {
			t.Fatalf("allocated %d, %v; want %d", id, err, want)
		}
	}
	allocate(5000)
	allocate(5001)
	if _, err := os.Stat(filepath.Join(dir, legacyProducerIDFile)); !os.IsNotExist(err) {
		t.Errorf("old reservation file left: %v", err)
	}
	if got := b.image.Load().NextProducerID(); got != 6000 {
		t.Errorf("image reserves up to %d", got)
	}
	b.Close()
	b = openBrokerAt(t, dir)
	allocate(6000)
	b.Close()
	b = openBrokerAt(t, dir)
	defer b.Close()
	allocate(7000)
}
