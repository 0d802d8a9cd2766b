package logstore

import (
	"os"
	"path/filepath"
	"testing"
)

// A checkpoint as Kafka writes it reads back; ours writes the same text.
func TestOffsetCheckpointFormat(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, RecoveryPointFile)
	kafka := "0\n3\n__consumer_offsets 7 0\norders 0 1042\norders 1 977\n"
	os.WriteFile(path, []byte(kafka), 0o644)
	m, err := ReadOffsetCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 3 || m[TopicPartition{"orders", 0}] != 1042 || m[TopicPartition{"__consumer_offsets", 7}] != 0 {
		t.Fatalf("read %v", m)
	}
	if err := WriteOffsetCheckpoint(path, m); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != kafka {
		t.Fatalf("wrote:\n%s\nwant:\n%s", got, kafka)
	}
	for name, bad := range map[string]string{
		"version":     "1\n0\n",
		"count":       "0\n2\norders 0 1\n",
		"fields":      "0\n1\norders 0\n",
		"not numbers": "0\n1\norders x 1\n",
		"no count":    "0\n",
	} {
		os.WriteFile(path, []byte(bad), 0o644)
		if _, err := ReadOffsetCheckpoint(path); err == nil {
			t.Errorf("%s: accepted %q", name, bad)
		}
	}
	if m, err := ReadOffsetCheckpoint(filepath.Join(dir, "missing")); err != nil || len(m) != 0 {
		t.Fatalf("missing file: %v %v", m, err)
	}
}

func TestLeaderEpochCheckpointFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), leaderEpochFile)
	c, _ := openEpochCache(path)
	c.assign(0, 0)
	c.assign(3, 1042)
	c.assign(2, 2000) // older epoch: ignored
	if got, _ := os.ReadFile(path); string(got) != "0\n2\n0 0\n3 1042\n" {
		t.Fatalf("leader-epoch-checkpoint:\n%s", got)
	}
	c2, err := openEpochCache(path)
	if err != nil || !equalEpochs(c2.entries(), []EpochEntry{{0, 0}, {3, 1042}}) {
		t.Fatalf("reread %v %v", c2.entries(), err)
	}
}

func TestPartitionMetadataFormat(t *testing.T) {
	dir := t.TempDir()
	// Kafka's own file for topic id AAAAAAAAAAAAAAAAAAAAAQ (0...01).
	os.WriteFile(filepath.Join(dir, PartitionMetadataFile), []byte("version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ"), 0o644)
	id, ok, err := ReadPartitionMetadata(dir)
	if err != nil || !ok || id != [16]byte{15: 1} {
		t.Fatalf("read %x %v %v", id, ok, err)
	}
	id[0] = 0xfb
	if err := WritePartitionMetadata(dir, id); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, PartitionMetadataFile)); string(got) != "version: 0\ntopic_id: -wAAAAAAAAAAAAAAAAAAAQ\n" {
		t.Fatalf("wrote %q", got)
	}
}
